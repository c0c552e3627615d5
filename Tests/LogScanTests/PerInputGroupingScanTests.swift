import AccessLogFormat
import Foundation
import LogScan
import RecordCounting
import Testing
import TestSupport

/// What records lacked and the field each input was grouped by survive splitting a file into
/// parts over several threads, and the report's field is the first input's whatever the threads.
struct PerInputGroupingScanTests {
    static let corpus = Repository.corpus

    @Test func partsOfASparseJSONFileAddUpTheirMissingFields() throws {
        let folder = try Scratch.directory("scan")
        defer { try? FileManager.default.removeItem(at: folder) }
        // Gloo's camelCase lines, 3 of them, repeated so that the file splits into many parts.
        let lines = try String(contentsOf: Self.corpus.appendingPathComponent("written/gloo-camel-case.jsonl"), encoding: .utf8)
        let log = folder.appendingPathComponent("gloo.jsonl")
        try Data(String(repeating: lines, count: 2000).utf8).write(to: log)
        for threads in [1, 3] {
            var options = ScanOptions()
            options.threads = threads
            options.splitThreshold = 1 << 14
            let result = ScanEngine.scan([log.path], options: options)
            #expect(result.inputs.count == 1)
            #expect(result.inputs[0].records == 6000)
            #expect(result.inputs[0].groupBy == .upstreamCluster)
            #expect(result.inputs[0].missingFields == MissingFields(startTime: 4000, responseCode: 2000, responseFlags: 4000))
            #expect(result.untimed == 4000)
        }
    }

    @Test func theFirstInputsFieldNamesTheKeysWhateverTheThreads() throws {
        let folder = try Scratch.directory("scan")
        defer { try? FileManager.default.removeItem(at: folder) }
        let envoy = folder.appendingPathComponent("a-envoy.log"), istio = folder.appendingPathComponent("b-istio.log")
        try FileManager.default.copyItem(at: Self.corpus.appendingPathComponent("text/21-envoy-default-misc.log"), to: envoy)
        try FileManager.default.copyItem(at: Self.corpus.appendingPathComponent("text/12-simple-app-istio-ingress.log"), to: istio)
        let results = [1, 2].map { threads in
            var options = ScanOptions()
            options.threads = threads
            return ScanEngine.scan([folder.path], options: options)
        }
        for result in results {
            #expect(result.groupBy == .authority)
            #expect(result.inputs.map(\.groupBy) == [.authority, .upstreamCluster])
            #expect(result.totals.keys["cluster:-"]?.requests == 3, "Istio's NR lines, apart from any authority")
            #expect(result.totals.keys["example.projectcontour.io"]?.requests == 1)
        }
        #expect(results[0].totals == results[1].totals)
    }
}
