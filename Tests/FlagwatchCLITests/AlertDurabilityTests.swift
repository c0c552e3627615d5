import Foundation
import Testing

private typealias F = TailFixture

/// An alert's way from `tail` to a receiver when the operator fixes a receiver's URL.
@Suite(.serialized) struct AlertDurabilityTests {
    static let receiverScript = ScaleOutTests.repository.appendingPathComponent("Tests/AlertDeliveryTests/Support/receiver.py").path

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
