import AlertRules
import Foundation
import LogScan
import RecordCounting
import ScanReports
import Testing
import TestSupport

/// Plain, gzip and multi-member gzip versions of one log give identical reports.
struct CompressedInputTests {
    static func gzip(_ data: Data, level: Int = 6) throws -> Data {
        let directory = try Scratch.directory("scan")
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("x")
        try data.write(to: file)
        let run = try ChildProcess.run(["gzip", "-\(level)", "-c", file.path])
        precondition(run.status == 0)
        return run.stdout
    }

    /// The report without what necessarily differs: input names and byte counts.
    static func comparable(_ result: ScanResult) -> String {
        var copy = result
        copy.inputs = []
        // The samples name their file, which is what differs.
        for key in copy.totals.keys.keys {
            for cause in copy.totals.keys[key]!.causeSamples.keys { copy.totals.keys[key]!.causeSamples[cause]!.file = "" }
        }
        return JSONReport(copy, gzipDecoder: "").rendered()
    }

    @Test func plainGzipAndMultiMemberGiveIdenticalReports() throws {
        let directory = try Scratch.directory("scan")
        defer { try? FileManager.default.removeItem(at: directory) }
        let (log, truth) = try Fixtures.generate(
            ["--format", "istio", "--lines", "30000", "--malformed-rate", "0.002", "--seed", "9",
             "--spike", "outbound|9080||reviews.default.svc.cluster.local:UF:20:40:0.6"],
            in: directory, name: "access.log")
        let data = try Data(contentsOf: log)
        let single = directory.appendingPathComponent("single.gz")
        try Self.gzip(data).write(to: single)
        // Members cut at arbitrary bytes, mid-line: the stream is what matters.
        let cuts = [0, data.count / 3 + 17, data.count / 2 + 5, data.count]
        var members = Data()
        for (a, b) in zip(cuts, cuts.dropFirst()) { members += try Self.gzip(data.subdata(in: a..<b), level: 1) }
        let multi = directory.appendingPathComponent("multi.log.gz")
        try members.write(to: multi)
        let named = directory.appendingPathComponent("named-plain.log")  // gzip content, plain name
        try members.write(to: named)

        let plain = ScanEngine.scan([log.path], options: ScanOptions())
        #expect(plain.asTruth == truth)
        for path in [single.path, multi.path, named.path] {
            let result = ScanEngine.scan([path], options: ScanOptions())
            #expect(Self.comparable(result) == Self.comparable(plain), "\(path)")
            #expect(result.inputs.first?.bytes == data.count)
        }
        // Several compressed files in parallel merge to the same totals as one.
        var options = ScanOptions()
        options.threads = 2
        let both = ScanEngine.scan([single.path, log.path], options: options)
        #expect(both.records == 2 * plain.records)
    }

    @Test func truncatedArchiveCountsWhatCameBeforeAndNamesTheOffset() throws {
        let directory = try Scratch.directory("scan")
        defer { try? FileManager.default.removeItem(at: directory) }
        let (log, truth) = try Fixtures.generate(["--format", "istio", "--lines", "20000", "--seed", "4"], in: directory, name: "a.log")
        let compressed = try Self.gzip(Data(contentsOf: log))
        let cut = directory.appendingPathComponent("cut.log.gz")
        try compressed.prefix(compressed.count / 2).write(to: cut)
        let result = ScanEngine.scan([cut.path, log.path], options: ScanOptions())
        let failed = try #require(result.failedInputs.first)
        #expect(failed.path == cut.path)
        #expect(failed.error?.contains("cut.log.gz") == true)
        #expect(failed.error?.contains("at byte") == true)
        #expect(failed.records > 0 && failed.records < truth.records)
        #expect(result.records == truth.records + failed.records, "the other input is scanned whole")
    }

    @Test func gzipOnStandardInputThroughTheBinary() throws {
        // Covered end to end by the CLI tests; here the engine reads a FIFO like stdin.
        let directory = try Scratch.directory("scan")
        defer { try? FileManager.default.removeItem(at: directory) }
        let (log, truth) = try Fixtures.generate(["--format", "envoy", "--lines", "5000"], in: directory, name: "e.log")
        let fifo = directory.appendingPathComponent("pipe")
        #expect(mkfifo(fifo.path, 0o600) == 0)
        let compressed = try Self.gzip(Data(contentsOf: log))
        let writer = Thread {
            if let handle = FileHandle(forWritingAtPath: fifo.path) {
                handle.write(compressed)
                try? handle.close()
            }
        }
        writer.start()
        let result = ScanEngine.scan([fifo.path], options: ScanOptions())
        #expect(result.asTruth == truth)
    }
}
