import Foundation
import Testing

@Suite struct ExplainCommandTests {
    static let refused =
        #"[2026-10-09T10:49:40.880Z] "GET /get HTTP/1.1" 503 URX,UF upstream_reset_before_response_started{remote_connection_failure|delayed_connect_error:_Connection_refused} - "delayed_connect_error:_Connection_refused" 0 121 792 - "-" "curl/8.11.1" "c0d24b36" "api:8080" "10.244.0.9:8080" outbound|8080||api.default.svc.cluster.local - 10.96.0.1:8080 10.244.0.6:56600 - default"#

    @Test func aPastedLineIsExplainedWithItsNextSteps() throws {
        let run = try ScanCommandTests.flagwatch(["explain", "productpage-7d6 istio-proxy " + ExplainCommandTests.refused])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("format istio, prefix productpage-7d6 istio-proxy "))
        #expect(run.stdout.contains("UF    UpstreamConnectionFailure: upstream connection failure (503)"))
        #expect(run.stdout.contains("URX   UpstreamRetryLimitExceeded"))
        #expect(run.stdout.contains("(outbound, service api, namespace default, port 8080)"))
        #expect(run.stdout.contains("cause: connection-refused: nothing listens"))
        #expect(run.stdout.contains("evidence: upstream transport failure reason delayed_connect_error:_Connection_refused"))
        #expect(run.stdout.contains("  kubectl get endpoints api -n default\n"))
        #expect(run.stdout.contains("  istioctl proxy-config endpoints POD --cluster 'outbound|8080||api.default.svc.cluster.local'\n"))
    }

    @Test func standardInputGivesOneJSONObjectPerLine() throws {
        let json = #"{"start_time":"2026-01-01T00:00:00.000Z","response_code":503,"response_flags":"UO","response_code_details":"upstream_reset_before_response_started{overflow}","upstream_cluster":"outbound|8000||httpbin.default.svc.cluster.local;"}"#
        let ok = #"[2026-10-09T10:49:40.880Z] "GET / HTTP/1.1" 200 - via_upstream - "-" 0 1 2 1 "-" "c" "i" "a" "10.0.0.1:80" outbound|80||a.b.svc.cluster.local - 10.0.0.2:80 10.0.0.3:5 - default"#
        let input = [ExplainCommandTests.refused, "", json, ok].joined(separator: "\n") + "\n"
        let run = try ScanCommandTests.flagwatch(["explain", "--output", "json"], stdin: Data(input.utf8))
        #expect(run.status == 0, "\(run.stderr)")
        let objects = try run.stdout.split(separator: "\n").map { try ScanCommandTests.json(String($0)) }
        try #require(objects.count == 3)
        #expect(objects.map { $0["line"] as? Int } == [1, 2, 3])
        #expect(objects[0]["cause"] as? String == "connection-refused")
        #expect(objects[1]["cause"] as? String == "circuit-open")
        #expect(objects[1]["upstream_cluster"] as? String == "outbound|8000||httpbin.default.svc.cluster.local")
        #expect(objects[2]["cause"] == nil)
        #expect((objects[0]["next_steps"] as? [String])?.contains("kubectl get endpoints api -n default") == true)
    }

    /// Log text reaches the terminal only through the terminal rule, in text and in JSON.
    @Test func hostileTextIsShownVisibly() throws {
        let hostile = ExplainCommandTests.refused.replacingOccurrences(of: "outbound|8080||api", with: "outbound|8080||\u{1B}[2J\u{202E}api")
        let text = try ScanCommandTests.flagwatch(["explain", hostile])
        #expect(!text.stdout.contains("\u{1B}") && !text.stdout.contains("\u{202E}"))
        #expect(text.stdout.contains(#"\x1B[2J\u{202E}api"#))
        let json = try ScanCommandTests.flagwatch(["explain", "--output", "json", hostile])
        #expect(!json.stdout.contains("\u{1B}") && !json.stdout.contains("\u{202E}"))
        #expect(try ScanCommandTests.json(json.stdout)["upstream_cluster"] as? String == "outbound|8080||\u{1B}[2J\u{202E}api.default.svc.cluster.local")
    }

    @Test func aLineOfNoFormatExitsWithOne() throws {
        let run = try ScanCommandTests.flagwatch(["explain", "--output", "json", "hello world"])
        #expect(run.status == 1)
        #expect(try ScanCommandTests.json(run.stdout)["error"] as? String != nil)
    }
}
