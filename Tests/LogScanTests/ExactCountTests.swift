import AccessLogFormat
import Foundation
import LogScan
import RecordCounting
import Testing
import TestSupport

/// Counts equal the generator's ground truth, to the unit, whatever the thread count.
struct ExactCountTests {
    static let formats = ["istio", "istio-1.8", "istio-1.3", "istio-1.2", "istio-1.1", "envoy", "emissary", "json-istio", "envoy-gateway"]

    @Test(arguments: formats)
    func countsEqualGroundTruth(format: String) throws {
        let directory = try Scratch.directory("scan")
        defer { try? FileManager.default.removeItem(at: directory) }
        let (log, truth) = try Fixtures.generate(
            ["--format", format, "--lines", "20000", "--seed", "11", "--malformed-rate", "0.01",
             "--spike", "outbound|9080||reviews.default.svc.cluster.local:UF,URX:20:30:0.5"],
            in: directory, name: "\(format).log")
        #expect(truth.malformed > 0)
        for threads in [1, 3] {
            var options = ScanOptions()
            options.threads = threads
            options.splitThreshold = 1 << 16  // force several parts per file
            let result = ScanEngine.scan([log.path], options: options)
            #expect(result.asTruth == truth, "threads \(threads)")
            #expect(result.format == (format.hasPrefix("istio") || format.hasPrefix("e") && !format.hasPrefix("envoy-") ? format : "json"))
            #expect(result.failedInputs.isEmpty)
        }
    }

    @Test func fixedFormatMatchesAutomatic() throws {
        let directory = try Scratch.directory("scan")
        defer { try? FileManager.default.removeItem(at: directory) }
        let (log, truth) = try Fixtures.generate(["--format", "istio", "--lines", "3000", "--seed", "3"], in: directory, name: "a.log")
        var options = ScanOptions()
        options.reading.format = try FormatChoice(argument: BuiltinFormat.istio.formatString)
        let result = ScanEngine.scan([log.path], options: options)
        #expect(result.asTruth == truth)
        #expect(result.format == "custom")
    }

    @Test func collectorPrefixesAreSkipped() throws {
        let directory = try Scratch.directory("scan")
        defer { try? FileManager.default.removeItem(at: directory) }
        for wrap in ["kubectl", "stern", "cri", "compose"] {
            let (log, truth) = try Fixtures.generate(["--format", "istio", "--lines", "2000", "--wrap", wrap],
                                                     in: directory, name: "\(wrap).log")
            #expect(ScanEngine.scan([log.path], options: ScanOptions()).asTruth == truth, "\(wrap)")
        }
    }

    @Test func mixedFormatsAcrossAnUpgradeAreFollowed() throws {
        let directory = try Scratch.directory("scan")
        defer { try? FileManager.default.removeItem(at: directory) }
        let (old, _) = try Fixtures.generate(["--format", "istio-1.8", "--lines", "500", "--seed", "1"], in: directory, name: "old.log")
        let (new, _) = try Fixtures.generate(["--format", "istio", "--lines", "700", "--seed", "2"], in: directory, name: "new.log")
        let mixed = directory.appendingPathComponent("mixed.log")
        try (Data(contentsOf: old) + Data(contentsOf: new)).write(to: mixed)
        let result = ScanEngine.scan([mixed.path], options: ScanOptions())
        #expect(result.recordsByFormat == ["istio-1.8": 500, "istio": 700])
        #expect(result.malformed == 0)
    }
}
