import Foundation
import LiveTail
import LogFollow
import LogScan
import RecordCounting
import Testing
import TestSupport

/// Tail counts what scan counts, over random logs: both drivers run the counting core, so every
/// counter (records, malformed lines by reason, late and untimed records, keys, flags, formats)
/// agrees whatever the mix of formats, noise, blank lines, long lines and carriage returns.
struct ScanTailAgreementTests {
    /// Lines of every text sample, and noise that no format reads.
    static let pool: [String] = {
        let names = ["istio.log", "envoy.log", "istio-1.8.log", "mixed-upgrade.log", "emissary.log", "istio-json.jsonl"]
        var lines = names.flatMap { name in
            (try? String(contentsOf: Repository.samples.appendingPathComponent(name), encoding: .utf8))?.split(separator: "\n").map(String.init) ?? []
        }
        lines += ["", "\r", "not an access log line", "[2026-06-28 15:11:44.812][21][warning][config] gRPC stream closed",
                  String(repeating: "x", count: 300), "{\"truncated\": ", "[2026-06-28T15:00:52.604Z] \"GET / HTTP/1.1\" 503"]
        return lines
    }()

    struct Generator {
        var state: UInt64
        mutating func next(_ bound: Int) -> Int {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Int((state >> 33) % UInt64(bound))
        }
    }

    @Test(arguments: 1...12)
    func tailCountsWhatScanCounts(seed: Int) throws {
        var random = Generator(state: UInt64(seed))
        let folder = try Scratch.directory("agreement")
        defer { try? FileManager.default.removeItem(at: folder) }
        let log = folder.appendingPathComponent("access.log")
        // Runs of one format (files rarely mix formats line by line), some lines ending in \r.
        var lines: [String] = []
        while lines.count < 400 {
            let start = random.next(Self.pool.count)
            for offset in 0..<(1 + random.next(30)) {
                var line = Self.pool[(start + offset) % Self.pool.count]
                if random.next(10) == 0 { line += "\r" }
                lines.append(line)
            }
        }
        try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: log)

        var reading = ReadingConfiguration()
        reading.maxLineLength = 256
        reading.allowedLateness = random.next(2) == 0 ? 0 : 30
        var scanOptions = ScanOptions()
        scanOptions.reading = reading
        let scanned = ScanEngine.scan([log.path], options: scanOptions)

        var follow = Follower.Options(patterns: [log.path])
        follow.startAtEnd = false
        var tailOptions = TailOptions(follow: follow)
        tailOptions.reading = reading
        tailOptions.reading.primaryGroupKey = scanned.groupBy
        let clock = ManualClock(at: 1_800_000_000)
        let engine = try TailEngine(options: tailOptions, clock: clock) { _ in }
        engine.start()
        for _ in 0..<3 {
            clock.advance(by: 1)
            engine.pass()
        }
        let tailed = engine.summary()
        #expect(tailed.records == scanned.records)
        #expect(tailed.malformed == scanned.malformed)
        #expect(tailed.malformedByReason == scanned.malformedByReason)
        #expect(tailed.totals == scanned.totals)
        #expect(tailed.late == scanned.late)
        #expect(tailed.untimed == scanned.untimed)
        #expect(tailed.keysOverflowed == scanned.keysOverflowed)
        #expect(tailed.recordsByFormat == scanned.recordsByFormat)
    }
}
