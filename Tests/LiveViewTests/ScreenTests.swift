import Foundation
@testable import LiveView
import RecordCounting
import Testing

/// Frames rendered from constructed snapshots: what the operator sees for a given state.
struct ScreenTests {
    static func frame(_ snapshot: LiveSnapshot?, _ state: ViewState = ViewState(), columns: Int = 160, rows: Int = 40,
                      colour: Bool = false) -> Frame
    {
        let rowsShown = snapshot.map { Row.rows($0, state) } ?? []
        let input = FrameInput(snapshot: snapshot, state: state, size: ScreenSize(columns: columns, rows: rows), style: Style(colour: colour))
        return Screen.frame(input, rows: rowsShown)
    }

    /// The key names in the order the list shows them.
    static func listed(_ frame: Frame) -> [String] {
        frame.lines.dropFirst(2).compactMap { line in
            [Fixture.spiking, Fixture.busy, Fixture.calm].first { line.contains($0) }
        }
    }

    @Test func sortsByRatioThenByRate() {
        var state = ViewState()
        #expect(Self.listed(Self.frame(Fixture.snapshot(), state)) == [Fixture.spiking, Fixture.busy, Fixture.calm])
        #expect(state.handle(.character("s"), rows: []) == .continue)
        #expect(state.sort == .rate)
        let frame = Self.frame(Fixture.snapshot(), state)
        #expect(Self.listed(frame) == [Fixture.busy, Fixture.spiking, Fixture.calm])
        #expect(frame.lines[0].contains("sort: rate"))
    }

    @Test func rowsShowRateRatioFlagsCauseAndAlert() throws {
        let frame = Self.frame(Fixture.snapshot())
        let line = try #require(frame.lines.first { $0.contains(Fixture.spiking) })
        // 1200 requests over a 60 s window; 600 of them failed.
        #expect(line.hasPrefix("> "))
        #expect(line.contains("20.0"))
        #expect(line.contains("50.0%"))
        #expect(line.contains("UF,URX"))
        #expect(line.contains("connection-refused"))
        #expect(line.contains("FIRING 2m04s"))
        let busy = try #require(frame.lines.first { $0.contains(Fixture.busy) })
        #expect(busy.contains("pending 11s"))
        #expect(frame.lines[0].contains("1 firing, 1 pending"))
        #expect(frame.lines.last!.contains("q quit"))
        #expect(frame.lines.count == 40)
    }

    @Test func filterByTypedName() {
        var state = ViewState()
        for key in [Key.character("/"), .character("R"), .character("e"), .character("v"), .backspace, .character("v"), .enter] {
            _ = state.handle(key, rows: [])
        }
        #expect(state.filter == "Rev")
        #expect(!state.editingFilter)
        #expect(Self.listed(Self.frame(Fixture.snapshot(), state)) == [Fixture.calm])
        // While typing, q is a letter of the filter, not quit.
        _ = state.handle(.character("/"), rows: [])
        #expect(state.handle(.character("q"), rows: []) == .continue)
        #expect(Self.frame(Fixture.snapshot(), state).lines.last!.contains("filter: Revq_"))
        #expect(Self.listed(Self.frame(Fixture.snapshot(), state)).isEmpty)
        _ = state.handle(.escape, rows: [])
        #expect(state.filter.isEmpty)
        #expect(Self.listed(Self.frame(Fixture.snapshot(), state)).count == 3)
    }

    @Test func selectionAndDetailView() throws {
        var state = ViewState()
        let rows = Row.rows(Fixture.snapshot(), state).map(\.activity.name)
        _ = state.handle(.down, rows: rows)
        #expect(state.selected == Fixture.busy)
        let list = Self.frame(Fixture.snapshot(), state)
        #expect(list.lines.first { $0.hasPrefix("> ") }?.contains(Fixture.busy) == true)
        _ = state.handle(.up, rows: rows)
        _ = state.handle(.enter, rows: rows)
        #expect(state.mode == .detail)
        let detail = Self.frame(Fixture.snapshot(), state).lines.joined(separator: "\n")
        #expect(detail.contains("flagwatch top › \(Fixture.spiking)"))
        #expect(detail.contains("1200 requests (20.0/s), 600 failures (50.0%)"))
        #expect(detail.contains("flags:  UF 600  URX 100"))
        #expect(detail.contains("causes: connection-refused 600"))
        #expect(detail.contains("FIRING 2m04s"))
        #expect(detail.contains("UpstreamFailure cause=connection-refused"))
        #expect(detail.contains("sample (access.log:42):"))
        #expect(detail.contains("sample-of-connection-refused"))
        #expect(detail.contains("next commands:"))
        #expect(detail.contains("kubectl get endpoints payments -n shop"))
        _ = state.handle(.escape, rows: rows)
        #expect(state.mode == .list)
        #expect(state.handle(.character("q"), rows: rows) == .quit)
    }

    @Test(arguments: [30, 60, 80, 100, 160])
    func linesFitTheWidth(columns: Int) {
        let long = "outbound|8000||" + String(repeating: "very-long-service-name-", count: 12) + ".svc.cluster.local"
        let wide = "outbound|80||支付服务支付服务支付服务支付服务支付服务支付服务支付服务支付服务.shop"
        let snapshot = Fixture.snapshot(extra: [Fixture.key(long, requests: 10, failures: 9), Fixture.key(wide, requests: 10, failures: 8)])
        var state = ViewState()
        for mode in [ViewState.Mode.list, .detail] {
            state.mode = mode
            state.selected = long
            let frame = Self.frame(snapshot, state, columns: columns, rows: 24)
            #expect(frame.lines.count == 24)
            for line in frame.lines { #expect(Columns.width(line) <= columns, "\(mode) \(columns): \(line)") }
        }
        state.mode = .list
        let list = Self.frame(snapshot, state, columns: columns, rows: 24)
        #expect(list.lines.contains { $0.contains("…") })
    }

    @Test func noColourMeansNoEscapeSequences() {
        let plain = Self.frame(Fixture.snapshot(), colour: false)
        #expect(!plain.lines.contains { $0.contains("\u{1B}") })
        var state = ViewState()
        state.selected = Fixture.calm
        let painted = Self.frame(Fixture.snapshot(), state, colour: true)
        // The firing key in red, the selected one in reverse video.
        #expect(painted.lines.contains { $0.hasPrefix("\u{1B}[1;31m") && $0.contains(Fixture.spiking) })
        #expect(painted.lines.contains { $0.hasPrefix("\u{1B}[7m> ") && $0.contains(Fixture.calm) })
        #expect(Style.allowsColour(environment: ["NO_COLOR": ""]) == false)
        #expect(Style.allowsColour(environment: ["TERM": "xterm"]) == true)
    }

    @Test func hostileNamesAreShownByTheTerminalRule() throws {
        let hostile = "evil\u{1B}]0;pwned\u{07}\u{1B}[2J\u{202E}gnp.exe\r\nFIRING"
        var state = ViewState()
        state.selected = hostile
        let snapshot = Fixture.snapshot(extra: [Fixture.key(hostile, requests: 10, failures: 10, causes: ["connection-refused": 10])])
        for mode in [ViewState.Mode.list, .detail] {
            state.mode = mode
            let frame = Self.frame(snapshot, state)
            let text = frame.lines.joined(separator: "\n")
            #expect(!text.contains("\u{1B}"))
            #expect(!text.contains("\u{07}"))
            #expect(!text.contains("\u{202E}"))
            #expect(!text.contains("\r"))
            #expect(text.contains(Terminal.sanitized(hostile)))
            #expect(frame.lines.count == 40)
        }
        // The filter matches what is shown.
        state.mode = .list
        state.filter = "\\x1B]0;pwned"
        #expect(Row.rows(snapshot, state).map(\.activity.name) == [hostile])
    }

    @Test func waitingScreenBeforeTheFirstSnapshot() {
        let frame = Self.frame(nil, rows: 10)
        #expect(frame.lines.count == 10)
        #expect(frame.lines[0].contains("waiting"))
        #expect(frame.lines[9].contains("q quit"))
    }

    @Test func frameBytesOverwriteInPlace() {
        let bytes = Frame(lines: ["one", "two"]).bytes(height: 3)
        #expect(String(decoding: bytes, as: UTF8.self) == "\u{1B}[Hone\u{1B}[K\r\ntwo\u{1B}[K\r\n\u{1B}[K")
    }

    @Test func sparklineScalesToItsPeak() {
        #expect(Sparkline.render([0, 1, 4, 8], columns: 4) == " ▁▄█")
        #expect(Sparkline.render([8], columns: 3) == "  █")
        #expect(Sparkline.render([1, 2, 3, 4, 5, 6, 7, 8], columns: 2) == "▇█")
    }

    @Test func compactTable() {
        let text = CompactTable.render(Fixture.snapshot(), sort: .ratio)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines[0].contains("window 60s 3 keys, alerts: 1 firing, 1 pending, sort: ratio"))
        #expect(lines[1].hasPrefix("KEY"))
        #expect(lines[2].hasPrefix(Fixture.spiking))
        #expect(lines[2].contains("FIRING 2m04s"))
        #expect(lines[4].hasPrefix(Fixture.calm))
        #expect(text.hasSuffix("\n\n"))
        #expect(!text.contains("\u{1B}"))
    }
}
