import Foundation
import Testing
import TestSupport

private typealias F = TailFixture

/// An alert's way from `tail` to a receiver when things go wrong: the machine may crash right
/// after the checkpoint that records the alert as sent, the operator may fix a receiver's URL.
@Suite(.serialized) struct AlertDurabilityTests {
    static let receiverScript = Repository.url("Tests/AlertDeliveryTests/Support/receiver.py").path

    static func rules(receiverPort: Int) -> String {
        """
        rules:
          - name: UF
            flags: [UF]
            minCount: 5
            minRatio: 0.1
        receivers:
          - name: hook
            type: webhook
            url: http://127.0.0.1:\(receiverPort)/hook
            retry: {initialBackoff: 100ms, maxBackoff: 300ms}
        """
    }

    /// One system call of an strace log, `<unfinished ...>` and `<... resumed>` halves joined.
    struct Call {
        var name: String
        var text: String
        var result: Int?
    }

    static func calls(_ trace: String) -> [Call] {
        var pending: [String: String] = [:]
        var calls: [Call] = []
        for line in trace.split(separator: "\n").map(String.init) {
            let parts = line.split(separator: " ", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { continue }
            // strace pads the pid to five columns.
            let (pid, rest) = (parts[0], parts[1].trimmingCharacters(in: .whitespaces))
            var whole = rest
            if rest.hasSuffix("<unfinished ...>") {
                pending[pid] = String(rest.dropLast("<unfinished ...>".count))
                continue
            }
            if rest.hasPrefix("<..."), let close = rest.range(of: "resumed>") {
                whole = (pending.removeValue(forKey: pid) ?? "") + rest[close.upperBound...]
            }
            guard let open = whole.firstIndex(of: "(") else { continue }
            let result = whole.range(of: ") = ", options: .backwards).flatMap { Int(whole[$0.upperBound...].split(separator: " ")[0]) }
            calls.append(Call(name: String(whole[..<open]), text: whole, result: result))
        }
        return calls
    }

    /// Each thread's TracerPid is set.
    static func everyThreadIsTraced(_ pid: Int32) -> Bool {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
        return !tasks.isEmpty && tasks.allSatisfy { task in
            let status = (try? String(contentsOfFile: "/proc/\(pid)/task/\(task)/status", encoding: .utf8)) ?? ""
            return status.contains("TracerPid:") && !status.contains("TracerPid:\t0\n")
        }
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/strace") || ProcessInfo.processInfo.environment["CI"] == "true"))
    func aFiredAlertIsOnDiskBeforeTheCheckpointRecordsIt() throws {
        let directory = try F.directory()
        let log = directory.appendingPathComponent("access.log")
        FileManager.default.createFile(atPath: log.path, contents: nil)
        try Self.rules(receiverPort: EnvoyScenario.freePort()).write(to: directory.appendingPathComponent("rules.yaml"), atomically: true, encoding: .utf8)
        let trace = directory.appendingPathComponent("trace")
        let tail = try TailProcess(["--state-dir", "state", "--from", "beginning", "--rules", "rules.yaml", "access.log"], in: directory)
        #expect(F.waitFor(timeout: 20) { tail.stderr.contains("flagwatch: following") })
        // Attached to every thread of the running tail; it ends when the tail does.
        let strace = Process()
        strace.executableURL = URL(fileURLWithPath: "/usr/bin/strace")
        strace.arguments = ["-f", "-qq", "-p", "\(tail.process.processIdentifier)", "-e", "trace=openat,fsync,fdatasync,rename,renameat,renameat2", "-o", trace.path]
        strace.standardError = FileHandle.nullDevice
        try strace.run()
        defer { if strace.isRunning { strace.terminate() } }
        #expect(F.waitFor { Self.everyThreadIsTraced(tail.process.processIdentifier) }, "strace attached")
        try F.append(F.lines(0..<12, flags: "UF"), to: log)
        #expect(F.waitFor(timeout: 20) { tail.stdout.contains("FIRING") })
        #expect(F.waitForRecords(12, in: directory.appendingPathComponent("state")))
        #expect(tail.stop() == 0)
        strace.waitUntilExit()

        let calls = Self.calls(try String(contentsOf: trace, encoding: .utf8))
        let opened = try #require(calls.firstIndex { $0.name == "openat" && $0.text.contains("/spool/") && $0.text.contains(".json.tmp\"") },
                                  "the notification's spool file")
        let file = try #require(calls[opened].result)
        let renamed = try #require(calls[opened...].firstIndex { $0.name.hasPrefix("rename") && $0.text.contains(".json.tmp\"") })
        #expect(calls[opened..<renamed].contains { $0.name == "fsync" && $0.text.hasPrefix("fsync(\(file))") }, "written to the disk before it is renamed")
        let directoryOpened = try #require(calls[renamed...].firstIndex { $0.name == "openat" && $0.text.contains("O_DIRECTORY") && $0.text.contains("/spool/") })
        let directoryFD = try #require(calls[directoryOpened].result)
        let synced = try #require(calls[directoryOpened...].firstIndex { $0.name == "fsync" && $0.text.hasPrefix("fsync(\(directoryFD))") },
                                  "the rename made durable")
        let checkpoint = try #require(calls[opened...].firstIndex { $0.name.hasPrefix("rename") && $0.text.contains("state.json\"") },
                                      "a checkpoint after the alert")
        #expect(synced < checkpoint, "the checkpoint that records the alert as sent comes after the notification is on disk")
    }

    @Test func sighupPointsQueuedAlertsAtTheNewReceiver() throws {
        let directory = try F.directory()
        let log = directory.appendingPathComponent("access.log")
        FileManager.default.createFile(atPath: log.path, contents: nil)
        let rules = directory.appendingPathComponent("rules.yaml")
        try Self.rules(receiverPort: EnvoyScenario.freePort()).write(to: rules, atomically: true, encoding: .utf8)
        let tail = try TailProcess(["--state-dir", "state", "--from", "beginning", "--rules", "rules.yaml", "access.log"], in: directory)
        try F.append(F.lines(0..<12, flags: "UF"), to: log)
        #expect(F.waitFor(timeout: 15) { tail.stdout.contains("FIRING") })
        #expect(F.waitFor(timeout: 15) { tail.stderr.contains("attempt 1 failed") }, "the first receiver is down")

        let port = try EnvoyScenario.freePort()
        let received = directory.appendingPathComponent("received.jsonl")
        let receiver = Process()
        receiver.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        receiver.arguments = ["python3", Self.receiverScript, "--log", received.path, "--port-file", directory.appendingPathComponent("port").path,
                              "--port", "\(port)", "--lifetime", "60"]
        try receiver.run()
        defer { receiver.terminate() }
        #expect(F.waitFor { FileManager.default.fileExists(atPath: directory.appendingPathComponent("port").path) })
        try Self.rules(receiverPort: port).write(to: rules, atomically: true, encoding: .utf8)
        tail.signal(SIGHUP)
        let receivedText = { (try? String(contentsOf: received, encoding: .utf8)) ?? "" }
        #expect(F.waitFor(timeout: 15) { receivedText().contains("httpbin.foo.svc.cluster.local") }, "the alert queued for the old URL goes to the new one")
        #expect(tail.stderr.contains("1 rule, 1 receiver"), "\(tail.stderr)")
        #expect(tail.stop() == 0)
        let lines = receivedText().split(separator: "\n")
        #expect(lines.count == 1, "delivered once: \(lines.count)")
    }
}
