import RecordCounting
import FlagMetrics
import Foundation
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

struct MetricsEndpointTests {
    /// Keys as hostile as a log can make them: quotes, backslashes, line breaks, escapes.
    static let hostileKeys = ["outbound|80||a\"b.svc", "back\\slash", "line\nbreak", "\u{1B}[31mred\u{1B}[0m", "ünïcode|x"]

    static func snapshot() -> LiveSnapshot {
        var counters = LiveCounters()
        counters.records = 12
        counters.malformedByReason = ["line-too-long": 2]
        counters.rotations = 1
        var totals = FlagTotals()
        for (index, key) in hostileKeys.enumerated() {
            totals.keys[key] = KeyTotals(requests: 10 + index, upstreamFailures: index, flags: index > 0 ? ["UF": index, "URX": 1] : [:],
                                         causes: index > 0 ? ["connection-refused": index] : [:])
        }
        let statistics = LiveStatistics(counters: counters, inputs: [LiveStatistics.Input(path: "/var/log/x \"y\".log", offset: 5, size: 9, bytesBehind: 4)])
        return LiveSnapshot(statistics: statistics, totals: totals,
                            alerts: [LiveSnapshot.Alert(rule: "UF", cluster: hostileKeys[0], cause: "connection-refused", state: .firing, since: 0)], watchedFlags: ["UF", "UH"], takenAt: Date().timeIntervalSince1970)
    }

    static func text(_ snapshot: LiveSnapshot) -> String {
        String(decoding: PrometheusText.render(snapshot, extra: [ExtraSeries(name: "flagwatch_notifications_total", help: "Notifications by receiver and result.", labels: [("receiver", "ops"), ("result", "sent")], value: 3)], version: "test"), as: UTF8.self)
    }

    @Test func escapesLabelValues() {
        let text = Self.text(Self.snapshot())
        #expect(text.contains(#"flagwatch_requests_total{cluster="outbound|80||a\"b.svc"} 10"#))
        #expect(text.contains(#"flagwatch_requests_total{cluster="back\\slash"} 11"#))
        #expect(text.contains(#"flagwatch_response_flags_total{cluster="line\nbreak",flag="UF"} 2"#))
        #expect(text.contains(#"flagwatch_alerts{rule="UF",cluster="outbound|80||a\"b.svc",cause="connection-refused",state="firing"} 1"#))
        #expect(text.contains(#"flagwatch_lines_total{result="malformed"} 2"#))
        #expect(text.contains(#"flagwatch_notifications_total{receiver="ops",result="sent"} 3"#))
        #expect(!text.split(separator: "\n").contains { $0.hasPrefix("break") })
        #expect(text.contains(#"flagwatch_failure_causes_total{cluster="line\nbreak",cause="connection-refused"} 2"#))
        #expect(text.contains("# TYPE flagwatch_failure_causes_total counter"))
        // Causes are exported as seen, not at 0: a key without failures has no cause series.
        #expect(!text.contains(#"flagwatch_failure_causes_total{cluster="outbound|80||a"b.svc""#))
        // Watched flags are exported at 0 too, so rates start from a known value.
        #expect(text.contains(#"flagwatch_response_flags_total{cluster="outbound|80||a\"b.svc",flag="UH"} 0"#))
    }

    /// Prometheus's own checker accepts the output (installed by Tests/run.sh).
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/promtool")))
    func promtoolAcceptsTheExposition() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/promtool")
        process.arguments = ["check", "metrics"]
        let input = Pipe(), output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = output
        try process.run()
        input.fileHandleForWriting.write(Data(Self.text(Self.snapshot()).utf8))
        try input.fileHandleForWriting.close()
        process.waitUntilExit()
        let said = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(process.terminationStatus == 0, "\(said)")
    }

    @Test func listenAddresses() {
        #expect(ListenAddress(":9464") == ListenAddress("127.0.0.1:9464"))
        #expect(ListenAddress("9464")?.host == "127.0.0.1")
        #expect(ListenAddress("0.0.0.0:9464")?.host == "0.0.0.0")
        #expect(ListenAddress("[::1]:9464")?.host == "::1")
        #expect(ListenAddress("host:port") == nil)
        #expect(ListenAddress("1:70000") == nil)
    }

    @Test func serverAnswersItsPaths() async throws {
        let board = SnapshotBoard()
        let server = try MetricsEndpoint.serve(board, on: ListenAddress("127.0.0.1:0")!)
        defer { server.close() }
        func get(_ path: String) async throws -> (Int, String) {
            let (data, response) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(server.port)\(path)")!)
            return ((response as! HTTPURLResponse).statusCode, String(decoding: data, as: UTF8.self))
        }
        #expect(try await get("/readyz").0 == 503)
        board.latest.withLock { $0 = Self.snapshot() }
        #expect(try await get("/readyz").0 == 200)
        // Fresh again: the await above may have been slow on a loaded machine.
        board.latest.withLock { $0 = Self.snapshot() }
        #expect(try await get("/healthz").0 == 200)
        let (status, body) = try await get("/metrics")
        #expect(status == 200)
        #expect(body.contains("flagwatch_build_info"))
        #expect(try await get("/nope").0 == 404)
        board.latest.withLock { $0?.takenAt -= 60 }
        #expect(try await get("/healthz").0 == 503)
    }
}
