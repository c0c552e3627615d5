import Foundation
import Testing
import TestSupport

/// What a newcomer runs first, as the README writes it: from the repository's root.
struct FirstRunTests {
    static let root = Repository.root

    /// The README's first command: the bundled sample shows a spike, its sparkline and what to
    /// run next.
    @Test func theREADMEsFirstScanShowsASpike() throws {
        let run = try ScanCommandTests.flagwatch(["scan", "Samples/logs/istio.log"], environment: ["NO_COLOR": "1"],
                                                 workingDirectory: Self.root)
        #expect(run.status == 0, "\(run.stderr)")
        let lines = run.stdout.split(separator: "\n").map(String.init)
        #expect(lines.first?.hasPrefix("CLUSTER") == true)
        #expect(lines.contains { $0.hasPrefix("spikes (") })
        let spark = try #require(lines.first { $0.hasPrefix("outbound|9080||reviews.default.svc.cluster.local  ") && $0.contains("episode") })
        #expect(spark.contains { "▁▂▃▄▅▆▇█".contains($0) }, "\(spark)")
        #expect(lines.contains("next: flagwatch scan --output html -o report.html Samples/logs/istio.log  # a timeline chart per spike"))
        // The next commands work as printed.
        let alerts = try ScanCommandTests.flagwatch(["scan", "--alerts", "Samples/logs/istio.log"], workingDirectory: Self.root)
        #expect(alerts.status == 0 && alerts.stdout.contains(#""status":"firing""#))
    }

    @Test func versionIsTheOneMetricsReport() throws {
        let run = try ScanCommandTests.flagwatch(["--version"])
        #expect(run.status == 0)
        let source = try String(contentsOf: Self.root.appendingPathComponent("Sources/FlagMetrics/MetricsEndpoint.swift"), encoding: .utf8)
        let version = run.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(!version.isEmpty && source.contains(#"public static let version = "\#(version)""#))
    }

    @Test(arguments: ["bash", "zsh", "fish"])
    func completionScripts(shell: String) throws {
        let run = try ScanCommandTests.flagwatch(["--generate-completion-script", shell])
        #expect(run.status == 0)
        #expect(run.stdout.contains("flagwatch") && run.stdout.contains("group-by") && run.stdout.contains("json-keys"))
    }
}
