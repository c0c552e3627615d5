import AlertDelivery
import AlertRules
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing
import TestSupport

/// A real Prometheus Alertmanager (Debian's `prometheus-alertmanager`, which Tests/run.sh
/// installs), started here on a loopback port.
final class TestAlertmanager {
    static let binary = ["/usr/bin/prometheus-alertmanager", "/usr/bin/alertmanager"].first { FileManager.default.isExecutableFile(atPath: $0) }

    let process = Process()
    let url: String

    init(in directory: TemporaryDirectory) async throws {
        let binary = try #require(TestAlertmanager.binary, "prometheus-alertmanager is not installed (Tests/run.sh installs it)")
        let port = try freePort()
        let home = directory.path + "/alertmanager-\(port)"
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
        try """
            route: {receiver: "null", group_wait: 1h}
            receivers: [{name: "null"}]
            """.write(toFile: home + "/alertmanager.yml", atomically: true, encoding: .utf8)
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["--config.file=\(home)/alertmanager.yml", "--storage.path=\(home)", "--web.listen-address=127.0.0.1:\(port)",
                             "--cluster.listen-address=", "--log.level=warn"]
        process.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        process.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try process.run()
        url = "http://127.0.0.1:\(port)"
        let ready = await eventually(within: .seconds(20)) { [url] in (try? TestAlertmanager.get(url + "/-/ready")) != nil }
        guard ready else { throw TestFailure("alertmanager did not become ready") }
    }

    deinit { stopProcess(process) }

    /// The alerts it lists through its own API (active ones: resolved alerts are left out).
    func alerts() throws -> [[String: Any]] {
        let data = try TestAlertmanager.get(url + "/api/v2/alerts")
        return try JSONSerialization.jsonObject(with: data) as? [[String: Any]] ?? []
    }

    /// A plain GET by Foundation's own client, independent of the one under test.
    static func get(_ url: String) throws -> Data {
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var result: Result<Data, Error> = .failure(TestFailure("no answer from \(url)"))
        URLSession.shared.dataTask(with: URL(string: url)!) { data, response, error in
            if let data, (response as? HTTPURLResponse)?.statusCode == 200 { result = .success(data) } else if let error { result = .failure(error) }
            done.signal()
        }.resume()
        _ = done.wait(timeout: .now() + 5)
        return try result.get()
    }
}

struct AlertmanagerTests {
    @Test func everyAlertmanagerListsTheAlertUntilItIsResolved() async throws {
        let directory = try TemporaryDirectory()
        let first = try await TestAlertmanager(in: directory)
        let second = try await TestAlertmanager(in: directory)
        var receiver = ReceiverConfig(name: "am", kind: .alertmanager, endpoints: [Endpoint(first.url), Endpoint(second.url + "/")])
        receiver.externalURL = "https://flagwatch.example.com"
        let dispatcher = try AlertDispatcher(receivers: [receiver], rules: [Events.rule()], stateDirectory: directory.path + "/state", logger: LogCapture().logger)
        // Alertmanager keeps an alert while `endsAt` is ahead of its clock: start it now.
        let now = Int64(Date().timeIntervalSince1970)
        let event = Events.firing(at: now - 180)
        dispatcher.submit(event)
        for alertmanager in [first, second] {
            #expect(await eventually { (try? alertmanager.alerts().count) == 1 })
            let alert = try #require(try alertmanager.alerts().first)
            let labels = try #require(alert["labels"] as? [String: String])
            #expect(labels == event.labels)
            #expect((alert["status"] as? [String: Any])?["state"] as? String == "active")
            #expect(alert["generatorURL"] as? String == "https://flagwatch.example.com")
            #expect(alert["fingerprint"] as? String != nil)
        }
        dispatcher.submit(Events.resolved(at: now - 180)) // ended a minute ago
        for alertmanager in [first, second] {
            #expect(await eventually { (try? alertmanager.alerts().isEmpty) == true }, "the resolved alert is no longer listed")
        }
        dispatcher.shutdown(deadline: .seconds(2))
        #expect(dispatcher.statistics.map(\.sent) == [2, 2])
        #expect(dispatcher.statistics.map(\.endpoint) == [first.url, second.url + "/"])
    }
}
