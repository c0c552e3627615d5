import Foundation
import Testing

/// `flagwatch tail` end to end, one test per scenario it must survive: the built binary
/// following real files that real writers rotate, truncate, delete and split.
@Suite(.timeLimit(.minutes(1)))
struct TailScenarioTests {
    typealias F = TailFixture

    /// Follows `access.log` in a fresh folder from its beginning, with state in `state/`.
    static func start(_ directory: URL, _ extra: [String] = [], name: String = "run") throws -> TailProcess {
        try TailProcess(["--state-dir", "state", "--from", "beginning", "--report", "report.json", "access.log"] + extra,
                        in: directory, name: name)
    }

    @Test func renameRotation() throws {
        let directory = try F.directory()
        let log = directory.appendingPathComponent("access.log")
        try F.append(F.lines(0..<100), to: log)
        let tail = try Self.start(directory)
        #expect(F.waitForRecords(100, in: directory.appendingPathComponent("state")))
        // The writer keeps its handle on the renamed file for a moment, as a logger does.
        let old = try FileHandle(forWritingTo: log)
        try old.seekToEnd()
        try FileManager.default.moveItem(at: log, to: directory.appendingPathComponent("access.log.1"))
        try old.write(contentsOf: Data(F.lines(100..<150).utf8))
        try old.close()
        try F.append(F.lines(150..<220), to: log)
        #expect(F.waitForRecords(220, in: directory.appendingPathComponent("state")))
        #expect(tail.stop() == 0)
        let report = try F.report(directory.appendingPathComponent("report.json"))
        #expect(report["records"] as? Int == 220)
        #expect(F.counters(directory.appendingPathComponent("state"))["rotations"] as? Int == 1)
    }

    @Test func copytruncate() throws {
        let directory = try F.directory()
        let log = directory.appendingPathComponent("access.log")
        try F.append(F.lines(0..<100), to: log)
        let tail = try Self.start(directory)
        let state = directory.appendingPathComponent("state")
        #expect(F.waitForRecords(100, in: state))
        try FileManager.default.copyItem(at: log, to: directory.appendingPathComponent("access.log.1"))
        #expect(truncate(log.path, 0) == 0)
        try F.append(F.lines(100..<130), to: log)
        #expect(F.waitForRecords(130, in: state))
        #expect(tail.stop() == 0)
        #expect(F.counters(state)["truncations"] as? Int == 1)
        #expect(tail.stderr.contains("truncated"))
    }

    @Test func deleteRecreate() throws {
        let directory = try F.directory()
        let log = directory.appendingPathComponent("access.log")
        try F.append(F.lines(0..<100), to: log)
        let tail = try Self.start(directory)
        let state = directory.appendingPathComponent("state")
        #expect(F.waitForRecords(100, in: state))
        try FileManager.default.removeItem(at: log)
        usleep(300_000)
        try F.append(F.lines(100..<140), to: log)
        #expect(F.waitForRecords(140, in: state))
        #expect(tail.stop() == 0)
    }

    @Test func lateFileAppears() throws {
        let directory = try F.directory()
        let logs = directory.appendingPathComponent("logs")
        // Neither the glob's folder nor the named file exists yet.
        let tail = try TailProcess(["--state-dir", "state", "logs/*.log", "later.log"], in: directory)
        // A file found at startup is read from its end: create them only after `tail` has looked
        // (it says what it follows just before), however long its start takes (a sanitizer build).
        #expect(F.waitFor { tail.stderr.contains("flagwatch: following") })
        usleep(500_000)
        try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)
        try F.append(F.lines(0..<10), to: logs.appendingPathComponent("a.log"))
        try F.append(F.lines(10..<30), to: directory.appendingPathComponent("later.log"))
        let state = directory.appendingPathComponent("state")
        #expect(F.waitForRecords(30, in: state))
        try F.append(F.lines(30..<35), to: logs.appendingPathComponent("b.log"))
        #expect(F.waitForRecords(35, in: state))
        #expect(tail.stop() == 0)
    }

    @Test func partialLine() throws {
        let directory = try F.directory()
        let log = directory.appendingPathComponent("access.log")
        let line = F.line(1)
        let cut = line.index(line.startIndex, offsetBy: 60)
        try F.append(F.lines(0..<1), to: log)
        let tail = try Self.start(directory)
        let state = directory.appendingPathComponent("state")
        #expect(F.waitForRecords(1, in: state))
        try F.append(String(line[..<cut]), to: log)
        usleep(1_500_000)
        #expect(F.counters(state)["records"] as? Int == 1)
        try F.append(String(line[cut...]), to: log)
        #expect(F.waitForRecords(2, in: state))
        #expect(tail.stop() == 0)
        #expect((F.counters(state)["malformedByReason"] as? [String: Int])?.isEmpty == true)
    }

    @Test func criPartial() throws {
        let directory = try F.directory()
        let log = directory.appendingPathComponent("access.log")
        let line = F.line(1).dropLast()
        let cut = line.index(line.startIndex, offsetBy: 70)
        let header = "2026-11-25T10:00:00.123456789Z stdout"
        try F.append("\(header) F \(F.line(0))", to: log)
        try F.append("\(header) P \(line[..<cut])\n", to: log)
        let tail = try Self.start(directory)
        let state = directory.appendingPathComponent("state")
        #expect(F.waitForRecords(1, in: state))
        try F.append("\(header) F \(line[cut...])\n", to: log)
        #expect(F.waitForRecords(2, in: state))
        #expect(tail.stop() == 0)
        #expect((F.counters(state)["malformedByReason"] as? [String: Int])?.isEmpty == true)
    }

    /// A writer appends while `tail` is killed with SIGKILL and restarted, again and again:
    /// the checkpoints make the total exact, not at-least-once.
    @Test func restartAfterKill() throws {
        let directory = try F.directory()
        let log = directory.appendingPathComponent("access.log")
        let state = directory.appendingPathComponent("state")
        FileManager.default.createFile(atPath: log.path, contents: nil)
        let batches = 60, perBatch = 400
        let writer = Thread {
            for batch in 0..<batches {
                try? F.append(F.lines(batch * perBatch..<(batch + 1) * perBatch), to: log)
                usleep(50_000)
            }
        }
        var tail = try Self.start(directory)
        writer.start()
        for round in 0..<4 {
            usleep(UInt32.random(in: 300_000...900_000))
            tail.signal(SIGKILL)
            tail.waitForExit()
            tail = try Self.start(directory, name: "run\(round)")
        }
        #expect(F.waitForRecords(batches * perBatch, in: state, timeout: 30))
        #expect(tail.stop() == 0)
        let report = try F.report(directory.appendingPathComponent("report.json"))
        #expect(report["records"] as? Int == batches * perBatch)
    }

    /// An alert sent before a kill is not sent again as new after the restart.
    @Test func restartKeepsFiringAlert() throws {
        let directory = try F.directory()
        let log = directory.appendingPathComponent("access.log")
        FileManager.default.createFile(atPath: log.path, contents: nil)
        var tail = try Self.start(directory)
        try F.append(F.lines(0..<40, flags: "UF"), to: log)
        #expect(F.waitFor { tail.stdout.contains("FIRING") })
        usleep(1_200_000)
        tail.signal(SIGKILL)
        tail.waitForExit()
        tail = try Self.start(directory, name: "second")
        try F.append(F.lines(40..<60, flags: "UF"), to: log)
        #expect(F.waitForRecords(60, in: directory.appendingPathComponent("state")))
        #expect(tail.stop() == 0)
        #expect(!tail.stdout.contains("FIRING"))
    }

    /// The log is rotated (twice) while flagwatch is down: the checkpointed file is found under
    /// its new name and finished, the generation after it read whole, then the new file.
    @Test func rotatedWhileDown() throws {
        let directory = try F.directory()
        let log = directory.appendingPathComponent("access.log")
        let state = directory.appendingPathComponent("state")
        try F.append(F.lines(0..<100), to: log)
        let first = try Self.start(directory)
        #expect(F.waitForRecords(100, in: state))
        #expect(first.stop() == 0)
        try F.append(F.lines(100..<110), to: log)
        try FileManager.default.moveItem(at: log, to: directory.appendingPathComponent("access.log.1"))
        try F.append(F.lines(110..<130), to: log)
        try FileManager.default.moveItem(at: log, to: directory.appendingPathComponent("access.log.2"))
        try F.append(F.lines(130..<135), to: log)
        let second = try Self.start(directory, name: "second")
        #expect(F.waitForRecords(135, in: state))
        #expect(second.stop() == 0)
    }

    /// A spike that starts before a kill and goes on after the restart still fires: the
    /// windows are part of the checkpoint.
    @Test func spikeSpanningRestart() throws {
        let directory = try F.directory()
        let log = directory.appendingPathComponent("access.log")
        let state = directory.appendingPathComponent("state")
        FileManager.default.createFile(atPath: log.path, contents: nil)
        var tail = try Self.start(directory)
        try F.append(F.lines(0..<6, flags: "UF"), to: log)
        #expect(F.waitForRecords(6, in: state))
        tail.signal(SIGKILL)
        tail.waitForExit()
        #expect(!tail.stdout.contains("FIRING"))
        tail = try Self.start(directory, name: "second")
        try F.append(F.lines(6..<12, flags: "UF"), to: log)
        // Ten UF in the window only together: the default rule's minCount.
        #expect(F.waitFor { tail.stdout.contains("FIRING") })
        #expect(tail.stop() == 0)
    }

    @Test func sighupReload() throws {
        let directory = try F.directory()
        let rules = directory.appendingPathComponent("rules.yaml")
        func writeRules(minCount: Int) throws {
            try "rules:\n  - name: UF\n    flags: [UF]\n    minCount: \(minCount)\n    minRatio: 0.1\n".write(to: rules, atomically: true, encoding: .utf8)
        }
        try writeRules(minCount: 1000)
        let log = directory.appendingPathComponent("access.log")
        FileManager.default.createFile(atPath: log.path, contents: nil)
        let tail = try Self.start(directory, ["--rules", "rules.yaml"])
        try F.append(F.lines(0..<30, flags: "UF"), to: log)
        #expect(F.waitForRecords(30, in: directory.appendingPathComponent("state")))
        #expect(!tail.stdout.contains("FIRING"))
        try "rules: [oops".write(to: rules, atomically: true, encoding: .utf8)
        tail.signal(SIGHUP)
        #expect(F.waitFor { tail.stderr.contains("keeping the current rules") })
        try writeRules(minCount: 5)
        tail.signal(SIGHUP)
        // The window already holds 30 UF records: the new rule fires on them at once.
        #expect(F.waitFor { tail.stdout.contains("FIRING") })
        #expect(tail.stderr.contains("reloaded"))
        #expect(tail.stop() == 0)
    }

    @Test func stdinFollow() throws {
        let directory = try F.directory()
        let tail = try TailProcess(["--alerts", "json", "-"], in: directory, stdin: true)
        tail.write(F.lines(0..<5))
        tail.write(F.lines(5..<40, flags: "UF"))
        #expect(F.waitFor { tail.stdout.contains("\"status\":\"firing\"") })
        tail.closeInput()
        #expect(tail.waitForExit())
        #expect(tail.process.terminationStatus == 0)
        let event = try #require(try JSONSerialization.jsonObject(with: Data(tail.stdout.split(separator: "\n")[0].utf8)) as? [String: Any])
        #expect(event["cluster"] as? String == "outbound|8000||httpbin.foo.svc.cluster.local")
        #expect(event["count"] as? Int == 35)
    }
}
