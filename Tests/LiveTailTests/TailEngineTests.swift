import Foundation
import LiveTail
import LogFollow
import LogScan
import RecordCounting
import Testing
import TestSupport

/// The engine in process: the same counts as `scan`, and counts that add up across runs.
struct TailEngineTests {
    /// A cause's sample is the first line ever counted with it, across runs; tail numbers the
    /// lines of a run from where it started reading, so line numbers (and which run it was) are
    /// left out when tail's totals are compared with scan's.
    static func withoutLineNumbers(_ totals: FlagTotals) -> FlagTotals {
        var totals = totals
        for key in totals.keys.keys {
            for cause in totals.keys[key]!.causeSamples.keys {
                totals.keys[key]!.causeSamples[cause]!.lineNumber = 0
                totals.keys[key]!.causeSamples[cause]!.inputOrder = 0
            }
        }
        return totals
    }

    static func folder() throws -> URL { try Scratch.directory("tail-engine") }

    /// Runs an engine over `path` from its beginning until it has read everything.
    static func follow(_ path: String, state: String?) throws -> CountSummary {
        var follow = Follower.Options(patterns: [path])
        follow.startAtEnd = false
        var options = TailOptions(follow: follow)
        options.stateDirectory = state
        let engine = try TailEngine(options: options) { _ in }
        engine.run(wake: -1) { !engine.statistics.inputs.allSatisfy { $0.bytesBehind == 0 } }
        return engine.summary()
    }

    @Test(arguments: ["istio.log", "envoy.log", "mixed-upgrade.log", "cri.log", "istio-json.jsonl"])
    func countsWhatScanCounts(sample: String) throws {
        let path = Repository.samples.appendingPathComponent(sample).path
        let tailed = try Self.follow(path, state: nil)
        let scanned = ScanEngine.scan([path], options: ScanOptions())
        #expect(tailed.totals == scanned.totals)
        #expect(tailed.records == scanned.records)
        #expect(tailed.malformedByReason == scanned.malformedByReason)
        #expect(tailed.groupBy == scanned.groupBy)
    }

    @Test func countsAddUpAcrossRuns() throws {
        let folder = try Self.folder()
        let log = folder.appendingPathComponent("access.log")
        let bytes = try Data(contentsOf: Repository.samples.appendingPathComponent("istio.log"))
        // Cut mid-line: the second run must finish the line the first one held back.
        let half = bytes.count / 2
        try bytes[..<half].write(to: log)
        let state = folder.appendingPathComponent("state").path
        let first = try Self.follow(log.path, state: state)
        let handle = try FileHandle(forWritingTo: log)
        try handle.seekToEnd()
        try handle.write(contentsOf: bytes[half...])
        try handle.close()
        let second = try Self.follow(log.path, state: state)
        let scanned = ScanEngine.scan([log.path], options: ScanOptions())
        #expect(first.records < second.records)
        #expect(second.records == scanned.records)
        #expect(Self.withoutLineNumbers(second.totals) == Self.withoutLineNumbers(scanned.totals))
    }

    /// An Istio log and an Envoy-default one (no cluster field) in one folder: each is grouped
    /// by its own field, as `scan` groups them, and a restart reads the keys back by name.
    @Test func eachFileOfAMixedFolderIsGroupedByItsOwnFieldAcrossRuns() throws {
        let folder = try Self.folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let logs = folder.appendingPathComponent("logs")
        try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: Repository.samples.appendingPathComponent("istio.log"), to: logs.appendingPathComponent("a-istio.log"))
        let envoy = try Data(contentsOf: Repository.samples.appendingPathComponent("envoy.log"))
        let envoyLog = logs.appendingPathComponent("b-envoy.log")
        try envoy[..<(envoy.count / 2)].write(to: envoyLog)
        let state = folder.appendingPathComponent("state").path
        let first = try Self.follow(logs.path, state: state)
        #expect(first.groupBy == .upstreamCluster)
        #expect(first.inputs.map(\.groupBy) == [.upstreamCluster, .authority])
        #expect(first.totals.keys.keys.contains { $0.hasPrefix("authority:") })

        let handle = try FileHandle(forWritingTo: envoyLog)
        try handle.seekToEnd()
        try handle.write(contentsOf: envoy[(envoy.count / 2)...])
        try handle.close()
        let second = try Self.follow(logs.path, state: state)
        let scanned = ScanEngine.scan([logs.path], options: ScanOptions())
        #expect(scanned.inputs.map(\.groupBy) == [.upstreamCluster, .authority])
        #expect(Self.withoutLineNumbers(second.totals) == Self.withoutLineNumbers(scanned.totals))
        #expect(second.inputs.map(\.groupBy) == scanned.inputs.map(\.groupBy))
    }
}
