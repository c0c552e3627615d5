import Foundation
import Testing
import TestSupport

/// Scanning weeks of archived history: the cost follows the lines, not the time they span.
/// A month of sparse traffic over a thousand clusters (each key seen every few hours) made the
/// per-second engine allocate a page per key and hour of history, gigabytes for a month.
@Suite(.serialized, .timeLimit(.minutes(3)))
struct LongSpanScanTests {
    static let generator = Repository.url("Samples/generate.py").path

    static func generate(_ path: URL, _ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", generator, "-o", path.path] + arguments
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        try #require(process.terminationStatus == 0)
    }

    @Test(.measuresPeakMemory) func aMonthOfSparseHistoryOverAThousandClustersScansInBoundedMemory() throws {
        let directory = try Hostile.directory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let month = directory.appendingPathComponent("month.log"), truth = directory.appendingPathComponent("truth.json")
        try Self.generate(month, ["--format", "istio", "--lines", "60000", "--rate", "0.025", "--clusters", "1000", "--seed", "41",
                                  "--truth", truth.path])
        let run = try Hostile.run(["scan", "--output", "json", "--threads", "2", month.path])
        #expect(!run.timedOut && run.status == 0, "\(run.stderrText)")
        let report = try #require(try JSONSerialization.jsonObject(with: run.stdout) as? [String: Any])
        let expected = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: truth)) as? [String: Any])
        #expect(report["records"] as? Int == expected["records"] as? Int)
        #expect((report["clusters"] as? [Any])?.count == (expected["clusters"] as? [Any])?.count)
        // 60 000 records over 28 days and ~900 keys: the cells of history are a few MiB.
        #expect(run.peakMiB < 64, "peak RSS \(run.peakMiB) MiB")
        print("a month, 60 000 lines, \((report["clusters"] as? [Any])?.count ?? 0) keys: peak RSS \(Int(run.peakMiB)) MiB, \(String(format: "%.2f", run.seconds)) s")
    }

    /// A day per gzip archive, as logrotate leaves them: the same counts and spikes as the
    /// plain file they were cut from.
    @Test func dailyArchivesGiveThePlainFilesCountsAndSpikes() throws {
        let directory = try Hostile.directory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let plain = directory.appendingPathComponent("plain.log")
        try Self.generate(plain, ["--format", "istio", "--lines", "60000", "--rate", "0.3", "--seed", "42",
                                  "--start", "2026-05-01T00:00:00Z", "--spike", "outbound|9080||reviews.default.svc.cluster.local:UF,URX:86400:7200:0.9"])
        let archives = directory.appendingPathComponent("archives")
        try FileManager.default.createDirectory(at: archives, withIntermediateDirectories: true)
        _ = try Hostile.python("""
            import gzip, os, sys
            out = {}
            for line in open(sys.argv[1], 'rb'):
                day = line[1:11].decode()
                if day not in out: out[day] = gzip.open(os.path.join(sys.argv[2], f'access.log-{day}.gz'), 'wb')
                out[day].write(line)
            for f in out.values(): f.close()
            """, [plain.path, archives.path])
        let rules = Repository.url("Tests/FlagwatchCLITests/Fixtures/EngineBaseline/sparse-rules.yaml").path
        let fromPlain = try Hostile.run(["scan", "--output", "json", "--rules", rules, plain.path])
        let fromArchives = try Hostile.run(["scan", "--output", "json", "--rules", rules, archives.path])
        let a = try #require(try JSONSerialization.jsonObject(with: fromPlain.stdout) as? [String: Any])
        let b = try #require(try JSONSerialization.jsonObject(with: fromArchives.stdout) as? [String: Any], "\(fromArchives.stderrText)")
        #expect((try FileManager.default.contentsOfDirectory(atPath: archives.path)).count >= 2)
        for key in ["records", "malformed", "late"] { #expect(a[key] as? Int == b[key] as? Int, "\(key)") }
        // The same first line of each cause, from another file (the day's archive) at another line number.
        func withoutPlaces(_ report: [String: Any]) -> NSArray {
            NSArray(array: (report["clusters"] as? [[String: Any]] ?? []).map { cluster in
                var cluster = cluster
                cluster["causeSamples"] = (cluster["causeSamples"] as? [String: [String: Any]] ?? [:]).mapValues { $0["line"] ?? "" }
                return cluster
            })
        }
        #expect(withoutPlaces(a) == withoutPlaces(b))
        let spikes = try #require(a["spikes"] as? [Any])
        #expect(!spikes.isEmpty)
        #expect(NSArray(array: spikes) == NSArray(array: b["spikes"] as? [Any] ?? []))
    }
}
