import Foundation
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
import TestSupport
#endif

private let prometheusToolsPresent = ["/usr/bin/prometheus", "/usr/bin/prometheus-alertmanager"].allSatisfy(FileManager.default.isExecutableFile(atPath:))

/// Two "nodes" on loopback, each a `flagwatch tail` over its own log, a real Prometheus scraping
/// both with the rules of Samples/deploy, and a real Alertmanager pair in front of a webhook.
/// Proves the design's value across nodes: Prometheus fires for a cluster whose combined
/// failures cross the threshold while neither node crosses its own, and the same local alert
/// sent by both nodes to both Alertmanagers reaches the receiver once.
@Suite(.enabled(if: prometheusToolsPresent, "Tests/run.sh installs prometheus and prometheus-alertmanager"),
       .timeLimit(.minutes(3)))
struct ScaleOutTests {    static let repository = Repository.root
    static let cluster = "outbound|8080||payments.prod.svc.cluster.local"

    /// Processes started here, stopped whatever happens.
    final class Processes {
        var all: [Process] = []

        func start(_ tool: String, _ arguments: [String], in directory: URL, name: String) throws -> Process {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: tool)
            process.arguments = arguments
            process.currentDirectoryURL = directory
            let log = directory.appendingPathComponent("\(name).log")
            FileManager.default.createFile(atPath: log.path, contents: nil)
            let output = try FileHandle(forWritingTo: log)
            process.standardOutput = output
            process.standardError = output
            process.standardInput = FileHandle.nullDevice
            try process.run()
            all.append(process)
            return process
        }

        /// SIGKILL: a child of the test runner may inherit SIGTERM blocked (Python does not
        /// unblock it), and nothing here needs a graceful end.
        deinit {
            for process in all where process.isRunning {
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
            }
        }
    }

    /// Ports nobody listens on now (bound and released at once; the tools bind them next).
    static func freePorts(_ count: Int) -> [Int] {
        var sockets: [Int32] = []
        defer { sockets.forEach { close($0) } }
        return (0..<count).map { _ in
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            sockets.append(fd)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            var size = socklen_t(MemoryLayout<sockaddr_in>.size)
            _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, size) } }
            _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &size) } }
            return Int(UInt16(bigEndian: address.sin_port))
        }
    }

    final class Box: @unchecked Sendable { var data: Data? }

    static func get(_ url: String) -> [String: Any]? {
        let done = DispatchSemaphore(value: 0)
        let box = Box()
        URLSession.shared.dataTask(with: URL(string: url)!) { data, _, _ in
            box.data = data
            done.signal()
        }.resume()
        _ = done.wait(timeout: .now() + 5)
        return box.data.flatMap { try? JSONSerialization.jsonObject(with: $0) as? [String: Any] }
    }

    /// Alerts Prometheus holds in state `firing`, as label sets.
    static func prometheusFiring(_ port: Int) -> [[String: String]] {
        let alerts = (get("http://127.0.0.1:\(port)/api/v1/alerts")?["data"] as? [String: Any])?["alerts"] as? [[String: Any]] ?? []
        return alerts.filter { $0["state"] as? String == "firing" }.compactMap { $0["labels"] as? [String: String] }
    }

    static func samples(_ port: Int, _ query: String) -> Int {
        let escaped = query.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? query
        return ((get("http://127.0.0.1:\(port)/api/v1/query?query=\(escaped)")?["data"] as? [String: Any])?["result"] as? [Any])?.count ?? 0
    }

    static func lines(_ range: Range<Int>, flags: String) -> String {
        range.map { TailFixture.line($0, cluster: cluster, flags: flags, code: flags == "-" ? 200 : 503) }.joined()
    }

    @Test func prometheusSumsTheNodesAndTheAlertmanagerPairNotifiesOnce() throws {
        let directory = try TailFixture.directory()
        let processes = Processes()
        let ports = Self.freePorts(6)
        let (prometheusPort, webhookPort) = (ports[0], ports[1])
        let alertmanagers = [(web: ports[2], gossip: ports[3]), (web: ports[4], gossip: ports[5])]

        // The receiver behind the Alertmanagers records every notification.
        let webhookLog = directory.appendingPathComponent("webhook.jsonl")
        _ = try processes.start("/usr/bin/env", ["python3", Self.repository.appendingPathComponent("Tests/AlertDeliveryTests/Support/receiver.py").path,
                                                 "--log", webhookLog.path, "--port-file", directory.appendingPathComponent("webhook.port").path,
                                                 "--port", "\(webhookPort)", "--lifetime", "170"], in: directory, name: "webhook")
        try """
            route:
              receiver: test
              group_by: [alertname, cluster, cause]
              group_wait: 1s
              group_interval: 5s
              repeat_interval: 1h
            receivers:
              - name: test
                webhook_configs:
                  - url: http://127.0.0.1:\(webhookPort)/notify
                    send_resolved: false
            """.write(to: directory.appendingPathComponent("alertmanager.yml"), atomically: true, encoding: .utf8)
        for (index, member) in alertmanagers.enumerated() {
            let peer = alertmanagers[1 - index]
            _ = try processes.start("/usr/bin/prometheus-alertmanager", [
                "--config.file=alertmanager.yml", "--storage.path=am\(index)",
                "--web.listen-address=127.0.0.1:\(member.web)",
                "--cluster.listen-address=127.0.0.1:\(member.gossip)", "--cluster.advertise-address=127.0.0.1:\(member.gossip)",
                "--cluster.peer=127.0.0.1:\(peer.gossip)", "--cluster.peer-timeout=2s", "--cluster.gossip-interval=100ms",
            ], in: directory, name: "alertmanager\(index)")
        }

        // Two nodes: the built-in local rules (10 UF and 5 % in 60 s), alerts to both Alertmanagers.
        try """
            rules:
              - name: UpstreamConnectionFailure
                flags: [UF]
            receivers:
              - name: alertmanagers
                type: alertmanager
                urls: [http://127.0.0.1:\(alertmanagers[0].web), http://127.0.0.1:\(alertmanagers[1].web)]
            """.write(to: directory.appendingPathComponent("rules.yaml"), atomically: true, encoding: .utf8)
        var nodes: [(log: URL, output: URL, metricsPort: Int)] = []
        for name in ["node-a", "node-b"] {
            let log = directory.appendingPathComponent("\(name).access.log")
            FileManager.default.createFile(atPath: log.path, contents: nil)
            _ = try processes.start(ScanCommandTests.binary, ["tail", "--state-dir", "\(name)-state", "--rules", "rules.yaml",
                                                             "--metrics-listen", "127.0.0.1:0", log.path],
                                    in: directory, name: name)
            let output = directory.appendingPathComponent("\(name).log")
            var port = 0
            #expect(TailFixture.waitFor {
                let text = (try? String(contentsOf: output, encoding: .utf8)) ?? ""
                guard let range = text.range(of: #"127\.0\.0\.1:\d+/metrics"#, options: .regularExpression) else { return false }
                port = Int(text[range].dropFirst("127.0.0.1:".count).prefix { $0.isNumber }) ?? 0
                return true
            })
            nodes.append((log, output, port))
        }

        // Prometheus with the deploy rules, `for` shortened so the test need not wait a minute.
        let rules = try String(contentsOf: Self.repository.appendingPathComponent("Samples/deploy/prometheus/flagwatch-rules.yaml"), encoding: .utf8)
        try rules.replacingOccurrences(of: "for: 1m", with: "for: 0s").replacingOccurrences(of: "interval: 15s", with: "interval: 1s")
            .write(to: directory.appendingPathComponent("flagwatch-rules.yaml"), atomically: true, encoding: .utf8)
        try """
            global: {scrape_interval: 1s, evaluation_interval: 1s}
            rule_files: [flagwatch-rules.yaml]
            alerting:
              alertmanagers:
                - static_configs: [{targets: ["127.0.0.1:\(alertmanagers[0].web)", "127.0.0.1:\(alertmanagers[1].web)"]}]
            scrape_configs:
              - job_name: flagwatch
                static_configs: [{targets: ["127.0.0.1:\(nodes[0].metricsPort)", "127.0.0.1:\(nodes[1].metricsPort)"]}]
            """.write(to: directory.appendingPathComponent("prometheus.yml"), atomically: true, encoding: .utf8)
        _ = try processes.start("/usr/bin/prometheus", ["--config.file=prometheus.yml", "--storage.tsdb.path=tsdb",
                                                        "--web.listen-address=127.0.0.1:\(prometheusPort)"], in: directory, name: "prometheus")

        // 1. Traffic without failures: both nodes export the cluster, UF at 0.
        for node in nodes { try TailFixture.append(Self.lines(0..<10, flags: "-"), to: node.log) }
        #expect(TailFixture.waitFor(timeout: 60) {
            Self.samples(prometheusPort, #"flagwatch_response_flags_total{flag="UF"}"#) == 2
        }, "Prometheus scrapes both nodes")
        sleep(2)

        // 2. Eight UF on each node: below each node's own rule (10), above it together (16).
        for node in nodes { try TailFixture.append(Self.lines(10..<18, flags: "UF") + Self.lines(18..<30, flags: "-"), to: node.log) }
        #expect(TailFixture.waitFor(timeout: 60) {
            Self.prometheusFiring(prometheusPort).contains {
                $0["alertname"] == "FlagwatchUpstreamFailuresAcrossNodes" && $0["cluster"] == Self.cluster
            }
        }, "the cross-node rule fires")
        for node in nodes {
            #expect(!((try? String(contentsOf: node.output, encoding: .utf8)) ?? "").contains("FIRING"), "no node fired on its own")
        }

        // 3. Twelve more on each: both nodes fire the same local alert (one fingerprint) and send
        //    it to both Alertmanagers; the receiver hears of it once.
        for node in nodes { try TailFixture.append(Self.lines(30..<42, flags: "UF"), to: node.log) }
        func localNotifications() -> [[String: Any]] {
            let text = (try? String(contentsOf: webhookLog, encoding: .utf8)) ?? ""
            return text.split(separator: "\n").compactMap { line -> [String: Any]? in
                guard let record = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                    let body = (record["body"] as? String).flatMap({ try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }),
                    (body["groupLabels"] as? [String: String])?["alertname"] == "UpstreamConnectionFailure"
                else { return nil }
                return body
            }
        }
        #expect(TailFixture.waitFor(timeout: 60) { !localNotifications().isEmpty }, "the local alert is delivered")
        for node in nodes {
            #expect(TailFixture.waitFor(timeout: 10) { ((try? String(contentsOf: node.output, encoding: .utf8)) ?? "").contains("FIRING") })
        }
        // Long enough for the second Alertmanager to have sent a duplicate, had it not known.
        sleep(8)
        let notifications = localNotifications()
        #expect(notifications.count == 1)
        let alerts = notifications.first?["alerts"] as? [[String: Any]] ?? []
        #expect(alerts.count == 1)
        #expect((alerts.first?["labels"] as? [String: String])?["cluster"] == Self.cluster)
    }
}
