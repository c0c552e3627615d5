import Foundation
import Testing

/// `flagwatch top` on a real terminal: the built binary in a tmux pane, keys sent and the
/// screen captured as an operator would see it; and off a terminal, its tables.
@Suite(.timeLimit(.minutes(1)))
struct TopScreenTests {
    typealias F = TailFixture

    static let busy = "outbound|80||frontend.shop.svc.cluster.local"
    static let calm = "outbound|9080||reviews.shop.svc.cluster.local"
    static let spiking = "outbound|8000||payments.shop.svc.cluster.local"

    /// A log of healthy traffic on two clusters, a script that runs `top` on it under `sh`
    /// and then shows what it left (`TOP-EXITED`, the terminal's modes before and after).
    static func start(columns: Int = 160, rows: Int = 40) throws -> (TmuxSession, URL) {
        let directory = try F.directory()
        let log = directory.appendingPathComponent("access.log")
        try F.append((0..<300).map { F.line($0, cluster: busy) }.joined() + (0..<60).map { F.line($0, cluster: calm) }.joined(), to: log)
        let script = directory.appendingPathComponent("run.sh")
        try """
            stty -a > before.txt
            sh -c 'echo $$ > top.pid; exec "$0" top --from beginning access.log 2> top.err' '\(ScanCommandTests.binary)'
            echo TOP-EXITED $?
            stty -a > after.txt
            sleep 30
            """.write(to: script, atomically: true, encoding: .utf8)
        let session = try TmuxSession(script: script, in: directory, columns: columns, rows: rows)
        let shown = session.waitFor { lines in firstRow(lines)?.contains(busy) == true }
        #expect(shown.met, "top never showed its rows: \(shown.lines.joined(separator: "\n"))")
        return (session, directory)
    }

    /// The first key row: the line after the column header.
    static func firstRow(_ lines: [String]) -> String? {
        guard let header = lines.firstIndex(where: { $0.contains("KEY") && $0.contains("REQ/S") }), header + 1 < lines.count else { return nil }
        return lines[header + 1]
    }

    static func spike(_ directory: URL, count: Int = 50) throws {
        try F.append((0..<count).map { F.line($0, cluster: spiking, flags: "UF", code: 503) }.joined(), to: directory.appendingPathComponent("access.log"))
    }

    @Test func spikeComesFirstWithinTwoSeconds() throws {
        let (session, directory) = try Self.start()
        let before = session.lines()
        #expect(Self.firstRow(before)?.contains(Self.spiking) == false)
        let appended = Date()
        try Self.spike(directory)
        let shown = session.waitFor(timeout: 2) { Self.firstRow($0)?.contains(Self.spiking) == true }
        let elapsed = Date().timeIntervalSince(appended)
        #expect(shown.met, "not first within 2 s: \(shown.lines.joined(separator: "\n"))")
        #expect(elapsed < 2)
        let row = try #require(Self.firstRow(shown.lines))
        #expect(row.contains("UF"))
        #expect(row.hasPrefix(">"))
    }

    @Test func sortFilterDetailAndResize() throws {
        let (session, directory) = try Self.start()
        try Self.spike(directory)
        #expect(session.until { Self.firstRow($0)?.contains(Self.spiking) == true })

        session.send("s", literal: true)
        let byRate = session.waitFor { Self.firstRow($0)?.contains(Self.busy) == true }
        #expect(byRate.met, "s did not sort by rate: \(byRate.lines.joined(separator: "\n"))")
        #expect(byRate.lines.first?.contains("sort: rate") == true)
        session.send("s", literal: true)
        #expect(session.until { Self.firstRow($0)?.contains(Self.spiking) == true })

        session.send("/")
        session.send("reviews", literal: true)
        session.send("Enter")
        let filtered = session.waitFor { lines in
            Self.firstRow(lines)?.contains(Self.calm) == true && !lines.contains { $0.contains(Self.busy) || $0.contains(Self.spiking) }
        }
        #expect(filtered.met, "filter: \(filtered.lines.joined(separator: "\n"))")
        #expect(filtered.lines.contains { $0.contains("/ filter [reviews]") })
        session.send("Escape")
        #expect(session.until { $0.contains { $0.contains(Self.busy) } && $0.contains { $0.contains(Self.spiking) } })

        session.send("Enter")
        let detail = session.waitFor { $0.contains { $0.contains("next commands:") } }
        #expect(detail.met, "detail: \(detail.lines.joined(separator: "\n"))")
        let text = detail.lines.joined(separator: "\n")
        #expect(text.contains("flagwatch top › \(Self.spiking)"))
        #expect(text.contains("flags:  UF 50"))
        #expect(text.contains("kubectl get endpoints payments -n shop"))
        #expect(text.contains("sample (access.log:"))
        session.send("Escape")
        #expect(session.until { Self.firstRow($0)?.contains(Self.spiking) == true })

        session.resize(columns: 100, rows: 30)
        let resized = session.waitFor { lines in
            lines.count >= 30 && lines[29].contains("q quit") && lines.allSatisfy { $0.count <= 100 }
        }
        #expect(resized.met, "resize: \(resized.lines.joined(separator: "\n"))")
        #expect(Self.firstRow(resized.lines)?.contains("payments") == true)
        session.send("q", literal: true)
    }

    @Test func quitRestoresTheTerminal() throws {
        let (session, directory) = try Self.start()
        #expect(session.display("#{alternate_on}") == "1")
        session.send("q", literal: true)
        try Self.expectRestored(session, directory)
    }

    @Test func sigtermRestoresTheTerminal() throws {
        let (session, directory) = try Self.start()
        let pid = try #require(Int32(String(contentsOf: directory.appendingPathComponent("top.pid"), encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)))
        #expect(kill(pid, SIGTERM) == 0)
        try Self.expectRestored(session, directory)
    }

    /// The shell is back (top exited with 0), the alternate screen left, the cursor shown,
    /// and `stty -a` reads as it did before top started.
    static func expectRestored(_ session: TmuxSession, _ directory: URL) throws {
        let exited = session.waitFor(timeout: 5) { $0.contains { $0.contains("TOP-EXITED") } }
        #expect(exited.met, "top did not exit: \(exited.lines.joined(separator: "\n"))")
        #expect(exited.lines.contains("TOP-EXITED 0"))
        #expect(!exited.lines.contains { $0.contains("REQ/S") })
        #expect(session.display("#{alternate_on}") == "0")
        #expect(session.display("#{cursor_flag}") == "1")
        let after = directory.appendingPathComponent("after.txt")
        #expect(F.waitFor(timeout: 5) { FileManager.default.fileExists(atPath: after.path) && ((try? Data(contentsOf: after))?.count ?? 0) > 0 })
        let before = try String(contentsOf: directory.appendingPathComponent("before.txt"), encoding: .utf8)
        #expect(try String(contentsOf: after, encoding: .utf8) == before)
        #expect(before.contains(" icanon") && before.contains(" echo "))
    }

    @Test func offATerminalPrintsTablesEachInterval() throws {
        let directory = try F.directory()
        let log = directory.appendingPathComponent("access.log")
        try F.append((0..<100).map { F.line($0, cluster: Self.busy) }.joined(), to: log)
        let top = try TailProcess(["--from", "beginning", "--interval", "0.5", "access.log"], in: directory, command: "top")
        #expect(F.waitFor { top.stdout.components(separatedBy: "\nKEY ").count >= 3 })
        try Self.spike(directory, count: 10)
        #expect(F.waitFor {
            top.stdout.components(separatedBy: "\n\n").contains { table in
                table.split(separator: "\n").dropFirst(2).first?.hasPrefix(Self.spiking) == true
            }
        })
        kill(top.process.processIdentifier, SIGTERM)
        top.process.waitUntilExit()
        #expect(top.process.terminationStatus == 0)
        let out = top.stdout
        #expect(!out.contains("\u{1B}"))
        #expect(out.contains("window "))
        #expect(out.contains(Self.busy))
    }
}
