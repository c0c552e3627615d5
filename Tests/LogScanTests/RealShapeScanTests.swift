import AccessLogFormat
import Foundation
import LogScan
import Testing
import TestSupport

/// Issue 19's shapes through the scan engine: keys as a report shows them.
struct RealShapeScanTests {
    static let corpus = Repository.corpus

    func scan(_ text: String) throws -> ScanResult {
        let directory = try Scratch.directory("scan")
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("access.log")
        try Data(text.utf8).write(to: file)
        return ScanEngine.scan([file.path], options: ScanOptions())
    }

    /// The same NR record with and without `omit_empty_values`: one `-` key, never a blank one.
    @Test func anEmptyClusterCountsUnderTheSameKeyAsADash() throws {
        let printed = try String(contentsOf: Self.corpus.appendingPathComponent("text/12-simple-app-istio-ingress.log"), encoding: .utf8)
            .split(separator: "\n")[0]
        let omitted = try String(contentsOf: Self.corpus.appendingPathComponent("written/omit-empty-values.log"), encoding: .utf8)
            .split(separator: "\n")[0]
        let result = try scan("\(printed)\n\(omitted)\n")
        #expect(result.records == 2 && result.malformed == 0)
        #expect(result.totals.keys.keys.sorted() == ["-"])
        #expect(result.totals.keys["-"]?.requests == 2)
        #expect(result.totals.keys["-"]?.flags == ["NR": 2])
    }

    @Test func dockerJSONFileLinesAreCountedByTheirCluster() throws {
        let log = try String(contentsOf: Self.corpus.appendingPathComponent("written/docker-json-file.log"), encoding: .utf8)
        let result = try scan(log)
        #expect(result.malformed == 0)
        #expect(result.totals.keys["outbound|9080||productpage.default.svc.cluster.local"]?.flags == ["UF": 1, "URX": 1])
    }
}
