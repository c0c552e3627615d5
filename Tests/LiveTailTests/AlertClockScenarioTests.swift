import AccessLogFormat
import AlertRules
import Foundation
import LiveTail
import LogFollow
import RecordCounting
import Testing
import TestSupport

/// Time-driven alert scenarios, in process, on a clock moved by hand: pending → firing →
/// resolved, `for`, `keepFiringFor`, resolution by silence, repeats across a restart. Each
/// pass of the follow loop runs at a time the test chooses, so nothing waits on the wall clock.
struct AlertClockScenarioTests {
    static let start: Double = 1_800_000_000
    static let cluster = "outbound|9080||reviews.default.svc.cluster.local"

    /// An Istio line of `cluster` that started at `second`, with `flags` (`-` for none).
    static func line(at second: Double, flags: String, cluster: String = cluster) -> String {
        let time = RFC3339.string(micros: Int64(second * 1_000_000)).dropLast() + ".250Z"
        let code = flags == "-" ? "200" : "503"
        return "[\(time)] \"GET /reviews HTTP/1.1\" \(code) \(flags) via_upstream - \"-\" 0 135 4 4 \"-\" \"curl/8.0\" "
            + "\"84961386-6d84-929d-98bd-c5aee93b5c88\" \"reviews:9080\" \"10.44.1.27:9080\" \(cluster) 10.44.1.23:37652 "
            + "10.0.45.184:9080 10.44.1.23:46520 - default\n"
    }

    /// A followed log, an engine on a manual clock, and every event it emitted.
    final class Scenario {
        let folder: URL
        let log: URL
        let clock = ManualClock(at: AlertClockScenarioTests.start)
        var events: [AlertEvent] = []
        var resumed: [AlertEvent] = []
        var engine: TailEngine!

        init(rules: [AlertRule], state: Bool = false, folder: URL? = nil) throws {
            self.folder = try folder ?? Scratch.directory("alert-clock")
            log = self.folder.appendingPathComponent("access.log")
            if !FileManager.default.fileExists(atPath: log.path) { FileManager.default.createFile(atPath: log.path, contents: nil) }
            var follow = Follower.Options(patterns: [log.path])
            follow.startAtEnd = false
            var options = TailOptions(follow: follow)
            options.rules = rules
            options.stateDirectory = state ? self.folder.appendingPathComponent("state").path : nil
            engine = try TailEngine(options: options, clock: clock) { [unowned self] output in
                switch output {
                case .alerts(let events): self.events += events
                case .resumed(let events): self.resumed += events
                case .warning: break
                }
            }
            engine.start()
        }

        /// Appends lines, then runs one pass at the clock's time.
        func write(_ lines: [String]) throws {
            let handle = try FileHandle(forWritingTo: log)
            try handle.seekToEnd()
            try handle.write(contentsOf: Data(lines.joined().utf8))
            try handle.close()
        }

        /// Moves the clock on by `seconds`, one pass per second.
        func run(seconds: Int) {
            for _ in 0..<seconds {
                clock.advance(by: 1)
                engine.pass()
            }
        }

        /// Ten failing lines in the second `offset` seconds after the start.
        func burst(at offset: Double, count: Int = 10) throws {
            try write((0..<count).map { _ in AlertClockScenarioTests.line(at: AlertClockScenarioTests.start + offset, flags: "UF") })
        }

        var statuses: [String] { events.map { "\($0.status.rawValue)@\(Int((Double($0.endsAt ?? $0.startsAt) / 1e6) - AlertClockScenarioTests.start))" } }
    }

    static func rule(for seconds: Int = 0, keepFiringFor: Int = 0) -> AlertRule {
        var rule = AlertRule(name: "UF", flags: ResponseFlags(.UF))
        rule.window = 10
        rule.minCount = 10
        rule.minRatio = 0.5
        rule.forDuration = seconds
        rule.keepFiringFor = keepFiringFor
        return rule
    }

    @Test func aBurstFiresOnItsPassAndResolvesWhenTheWindowEmpties() throws {
        let scenario = try Scenario(rules: [Self.rule()])
        try scenario.burst(at: 0)
        scenario.run(seconds: 1)
        #expect(scenario.statuses == ["firing@1"], "fires on the pass that reads the burst, at the end of its second")
        // No more lines: the wall clock moves the event clock, and the 10 s window empties.
        scenario.run(seconds: 9)
        #expect(scenario.statuses == ["firing@1"])
        scenario.run(seconds: 2)
        #expect(scenario.statuses == ["firing@1", "resolved@11"], "the window of seconds 1–10 holds no flag when second 10 ends")
    }

    @Test func forHoldsTheAlertPendingUntilTheConditionHasLasted() throws {
        let scenario = try Scenario(rules: [Self.rule(for: 5)])
        for second in 0..<8 {
            try scenario.burst(at: Double(second))
            scenario.run(seconds: 1)
            let snapshotState = scenario.engine.statistics.counters.alertsFired
            #expect(snapshotState == (second >= 5 ? 1 : 0), "second \(second)")
        }
        #expect(scenario.events.first?.status == .firing)
        #expect(scenario.events.first.map { $0.startsAt / 1_000_000 } == Int64(Self.start) + 1, "startsAt is when the condition began to hold")
    }

    @Test func keepFiringForBridgesAShortGap() throws {
        let scenario = try Scenario(rules: [Self.rule(keepFiringFor: 30)])
        try scenario.burst(at: 0)
        scenario.run(seconds: 1)
        // Quiet for 20 s (the window empties after 10), then a new burst: still the same alert.
        scenario.run(seconds: 20)
        try scenario.burst(at: 21)
        scenario.run(seconds: 1)
        #expect(scenario.statuses == ["firing@1"])
        scenario.run(seconds: 45)
        #expect(scenario.statuses.count == 2 && scenario.statuses[1].hasPrefix("resolved@"))
        let resolvedAt = Int(scenario.statuses[1].dropFirst("resolved@".count))!
        #expect(resolvedAt == 32 + 30 || resolvedAt == 31 + 30, "30 s after the condition last held: \(resolvedAt)")
    }

    @Test func aRestartKeepsTheFiringAlertWithoutSendingItAgain() throws {
        let first = try Scenario(rules: [Self.rule(keepFiringFor: 60)], state: true)
        try first.burst(at: 0)
        first.run(seconds: 2)
        first.engine.stop()
        #expect(first.statuses == ["firing@1"])
        let second = try Scenario(rules: [Self.rule(keepFiringFor: 60)], state: true, folder: first.folder)
        #expect(second.resumed.map(\.status) == [.firing], "resumed, not new")
        second.clock.advance(by: 2)
        second.engine.pass()
        #expect(second.events.isEmpty)
        second.run(seconds: 80)
        #expect(second.events.map(\.status) == [.resolved])
    }

    @Test func untimedRecordsAreWindowedAtTheClocksTime() throws {
        // Envoy's default format without %START_TIME%: records are windowed when read.
        var follow = Follower.Options(patterns: [])
        follow.startAtEnd = false
        let folder = try Scratch.directory("alert-clock")
        let log = folder.appendingPathComponent("access.log")
        let line = "\"GET / HTTP/1.1\" 503 UF 0 91 4 - \"-\" \"curl\" \"id\" \"reviews:9080\" \"-\" \(Self.cluster)\n"
        try Data(String(repeating: line, count: 12).utf8).write(to: log)
        follow.patterns = [log.path]
        var options = TailOptions(follow: follow)
        options.reading.format = try .fixed(.init(formatString: "\"%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%\" %RESPONSE_CODE% %RESPONSE_FLAGS% %BYTES_RECEIVED% %BYTES_SENT% %DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% \"%REQ(X-FORWARDED-FOR)%\" \"%REQ(USER-AGENT)%\" \"%REQ(X-REQUEST-ID)%\" \"%REQ(:AUTHORITY)%\" \"%UPSTREAM_HOST%\" %UPSTREAM_CLUSTER%\n"))
        options.rules = [Self.rule()]
        let clock = ManualClock(at: Self.start)
        var events: [AlertEvent] = []
        let engine = try TailEngine(options: options, clock: clock) { if case .alerts(let new) = $0 { events += new } }
        engine.start()
        clock.advance(by: 0.5)
        engine.pass()
        #expect(engine.counters.untimed == 12)
        #expect(events.map(\.status) == [.firing])
        #expect(events.first.map { $0.startsAt / 1_000_000 } == Int64(Self.start) + 1)
    }
}
