import Foundation
import Testing
import Yams
import TestSupport

/// Every file in Samples/deploy is valid for the tool that reads it.
struct DeploySamplesTests {
    static let deploy = Repository.url("Samples/deploy")

    static func run(_ tool: String, _ arguments: [String]) throws -> (Int32, String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let said = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, said)
    }

    static let hasPrometheusTools = ["/usr/bin/promtool", "/usr/bin/amtool"].allSatisfy(FileManager.default.isExecutableFile(atPath:))

    @Test(.enabled(if: hasPrometheusTools, "Tests/run.sh installs prometheus and prometheus-alertmanager"))
    func prometheusAndAlertmanagerAcceptTheirFiles() throws {
        let config = try Self.run("/usr/bin/promtool", ["check", "config", Self.deploy.appendingPathComponent("prometheus/prometheus.yml").path])
        #expect(config.0 == 0, "\(config.1)")
        let rules = try Self.run("/usr/bin/promtool", ["check", "rules", Self.deploy.appendingPathComponent("prometheus/flagwatch-rules.yaml").path])
        #expect(rules.0 == 0, "\(rules.1)")
        let alertmanager = try Self.run("/usr/bin/amtool", ["check-config", Self.deploy.appendingPathComponent("alertmanager/alertmanager.yml").path])
        #expect(alertmanager.0 == 0, "\(alertmanager.1)")
    }

    @Test func kubernetesManifestsParseAndCarryAValidRulesFile() throws {
        let daemonSet = try String(contentsOf: Self.deploy.appendingPathComponent("kubernetes/daemonset.yaml"), encoding: .utf8)
        let documents = try Array(Yams.load_all(yaml: daemonSet)).compactMap { $0 as? [String: Any] }
        #expect(documents.compactMap { $0["kind"] as? String } == ["Namespace", "ServiceAccount", "ConfigMap", "DaemonSet", "Service"])
        let sidecar = try String(contentsOf: Self.deploy.appendingPathComponent("kubernetes/sidecar.yaml"), encoding: .utf8)
        #expect(try Array(Yams.load_all(yaml: sidecar)).compactMap { ($0 as? [String: Any])?["kind"] as? String } == ["Telemetry", "Deployment"])
        let configMap = try #require(documents.first { $0["kind"] as? String == "ConfigMap" })
        let rules = try #require((configMap["data"] as? [String: Any])?["rules.yaml"] as? String)
        let scratch = try TemporaryDirectory("deploy-rules")
        let file = URL(fileURLWithPath: scratch.path).appendingPathComponent("rules.yaml")
        try rules.write(to: file, atomically: true, encoding: .utf8)
        let check = try ScanCommandTests.flagwatch(["rules", "check", file.path])
        #expect(check.status == 0, "\(check.stderr)")
    }
}
