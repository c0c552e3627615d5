import AccessLogFormat
import AlertRules
import Foundation
import LogScan
import RecordCounting
import Testing
import TestSupport

/// Spikes found in generated history, end to end through the scan engine.
struct SpikeScenarioTests {
    static let episodes = [
        ("outbound|9080||reviews.default.svc.cluster.local", "UF,URX", 300, 120),
        ("outbound|8080||ratings.default.svc.cluster.local", "UH", 900, 90),
        ("outbound|5000||checkout.shop.svc.cluster.local", "UF", 1500, 60),
    ]

    static func generate(in directory: URL, seed: Int = 21, wrap: [String] = []) throws -> URL {
        try Fixtures.generate(
            ["--format", "istio", "--lines", "200000", "--rate", "100", "--seed", String(seed)]
                + episodes.flatMap { ["--spike", "\($0.0):\($0.1):\($0.2):\($0.3):0.5"] } + wrap,
            in: directory, name: "spiky-\(seed).log").log
    }

    @Test func defaultRulesReportEveryInjectedEpisodeAndNothingElse() throws {
        let directory = try Scratch.directory("scan")
        defer { try? FileManager.default.removeItem(at: directory) }
        let log = try Self.generate(in: directory)
        let result = ScanEngine.scan([log.path], options: ScanOptions())
        let start = StartTimeFormat.epochSeconds(year: 2026, month: 6, day: 28, hour: 15, minute: 0, second: 0)! * 1_000_000
        for (cluster, flags, offset, duration) in Self.episodes {
            // One rule over UF, URX and UH, alerting per cause: a `UF,URX` episode (one failure,
            // one detail) is one spike, not one per flag.
            let matching = result.spikes.filter { $0.cluster == cluster }
            #expect(matching.count == 1, "\(cluster) \(flags): \(matching)")
            if let spike = matching.first {
                // Starts within the episode, ends within a window after it.
                #expect(spike.start >= start + Int64(offset) * 1_000_000 && spike.start < start + Int64(offset + duration) * 1_000_000)
                #expect(spike.end > start + Int64(offset + duration) * 1_000_000)
                #expect(spike.end <= start + Int64(offset + duration + 70) * 1_000_000)
                #expect(spike.peakRatio > 0.3)
                // A spike of one cause: all of its records have that cause.
                #expect(spike.causes.count == 1 && spike.causes.values.reduce(0, +) == spike.count, "\(spike)")
                #expect(spike.dominantCause?.share == 1)
            }
        }
        let injected = Set(Self.episodes.map(\.0))
        #expect(result.spikes.allSatisfy { injected.contains($0.cluster) }, "\(result.spikes.filter { !injected.contains($0.cluster) })")
        #expect(result.alertEvents.count == 2 * result.spikes.count)
    }

    /// Lines of a year before in the same folder stretch the timeline's bins to hours; the
    /// spikes' own timeline keeps minute bins around them, with every flagged record.
    @Test func spikeTimelineKeepsMinutesWhenTheLogsSpanAYear() throws {
        let directory = try Scratch.directory("scan")
        defer { try? FileManager.default.removeItem(at: directory) }
        let log = try Self.generate(in: directory)
        let old = try Fixtures.generate(["--format", "istio", "--lines", "100", "--rate", "1", "--start", "2025-06-01T00:00:00Z"],
                                        in: directory, name: "last-year.log").log
        let result = ScanEngine.scan([log.path, old.path], options: ScanOptions())
        let timeline = try #require(result.timeline), around = try #require(result.spikeTimeline)
        #expect(timeline.grid.step >= 3600)
        #expect(around.grid.step == 60 && around.grid.count <= 60)
        let reviews = Self.episodes[0].0
        // The default rule's lane (one rule over UF, URX and UH).
        let lane = try #require(AlertRule.defaults.firstIndex { $0.flags.contains(.init(.UF)) }) + 1
        let inSpikes = result.spikes.filter { $0.cluster == reviews && $0.rule == AlertRule.defaults[lane - 1].name }
        #expect(!inSpikes.isEmpty)
        // The rule alerts per cause: one cause's spikes do not overlap, and the lane holds every cause's records.
        let charted = around.counts(reviews, lane: lane, on: around.grid).reduce(0, +)
        for (cause, spikes) in Dictionary(grouping: inSpikes, by: { $0.causes.keys.first ?? "" }) {
            #expect(charted >= spikes.map(\.count).reduce(0, +), "\(cause)")
        }
    }

    @Test func spikesDoNotDependOnThreadsOrFileSplits() throws {
        let directory = try Scratch.directory("scan")
        defer { try? FileManager.default.removeItem(at: directory) }
        let log = try Self.generate(in: directory)
        var one = ScanOptions()
        one.threads = 1
        one.splitThreshold = 1 << 20
        var many = ScanOptions()
        many.threads = 3
        many.splitThreshold = 1 << 20
        let a = ScanEngine.scan([log.path], options: one)
        let b = ScanEngine.scan([log.path], options: many)
        // The same log cut into three files.
        let data = try Data(contentsOf: log)
        let lines = data.split(separator: 10, omittingEmptySubsequences: false)
        let third = lines.count / 3
        var parts: [String] = []
        for (index, slice) in [lines[..<third], lines[third..<(2 * third)], lines[(2 * third)...]].enumerated() {
            let part = directory.appendingPathComponent("part\(index).log")
            try Data(slice.joined(separator: [10])).write(to: part)
            parts.append(part.path)
        }
        let c = ScanEngine.scan(parts, options: many)
        #expect(!a.spikes.isEmpty)
        #expect(a.spikes == b.spikes)
        #expect(a.spikes == c.spikes)
        #expect(a.alertEvents == b.alertEvents)
        // Late records are judged per part; parts depend on the split size, not on the threads.
        #expect(a.late == b.late)
        #expect(a.timeline == c.timeline)
    }

    @Test func lateRecordsAreCountedNotLost() throws {
        let line = { (time: String) in
            #"[2024-01-27T"# + time + #"Z] "GET / HTTP/1.1" 503 UF via_upstream - "-" 0 0 1 - "-" "c" "i" "a" "h:80" api - - - - default"#
        }
        let directory = try Scratch.directory("scan")
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("late.log")
        // Written at end time: a 45 s request logged after later ones is late (> 30 s behind).
        let text = [line("10:00:50.000"), line("10:01:00.000"), line("10:00:10.000"), line("10:00:40.000"), line("10:01:01.000")]
        try Data((text.joined(separator: "\n") + "\n").utf8).write(to: file)
        var options = ScanOptions()
        options.reading.allowedLateness = 30
        let result = ScanEngine.scan([file.path], options: options)
        #expect(result.late == 1)
        #expect(result.records == 5)
        let timeline = try #require(result.timeline)
        #expect(timeline.grid.step == 1)
        #expect(timeline.requests[timeline.grid.bin(of: 1_706_349_610)] == 1, "the late record is in its own second")
    }

    @Test func keysBeyondTheCapCountUnderOther() throws {
        let directory = try Scratch.directory("scan")
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("many.log")
        let lines = (0..<5000).map { i in
            #"[2024-01-27T10:00:00.000Z] "GET / HTTP/1.1" 503 UF via_upstream - "-" 0 0 1 - "-" "c" "i" "a" "h:80" key-\#(i) - - - - default"#
        }
        try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: file)
        var options = ScanOptions()
        options.reading.maxKeys = 100
        let result = ScanEngine.scan([file.path], options: options)
        #expect(result.totals.keys.count <= 100)
        #expect(result.totals.keys["__other__"]?.requests == result.keysOverflowed)
        #expect(result.keysOverflowed == 5000 - (100 - 2), "two slots hold '-' and '__other__'")
        #expect(result.totals.requests == 5000)
    }

    /// Two workers each hold up to the cap; the merged result still holds no more.
    @Test func theCapHoldsOverWorkers() throws {
        let directory = try Scratch.directory("scan")
        defer { try? FileManager.default.removeItem(at: directory) }
        for part in 0..<2 {
            let lines = (0..<300).map { i in
                #"[2024-01-27T10:00:00.000Z] "GET / HTTP/1.1" 503 UF via_upstream - "-" 0 0 1 - "-" "c" "i" "a" "h:80" key-\#(part)-\#(i) - - - - default"#
            }
            try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: directory.appendingPathComponent("part\(part).log"))
        }
        var options = ScanOptions()
        options.reading.maxKeys = 100
        options.threads = 2
        let result = ScanEngine.scan([directory.path], options: options)
        #expect(result.totals.keys.count <= 100)
        #expect(result.totals.keys["__other__"]?.requests == result.keysOverflowed)
        #expect(result.totals.requests == 600)
        #expect(Set(result.spikes.map(\.cluster)).isSubset(of: Set(result.totals.keys.keys)), "spikes of folded keys are __other__'s")
    }

    @Test func processingTimeBucketsLinesWithoutTimestamps() throws {
        let directory = try Scratch.directory("scan")
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("untimed.log")
        try Data((Array(repeating: "503 UF payments", count: 50) + ["200 - payments"]).joined(separator: "\n").utf8).write(to: file)
        var options = ScanOptions()
        options.reading.format = try FormatChoice(argument: "%RESPONSE_CODE% %RESPONSE_FLAGS% %UPSTREAM_CLUSTER%")
        let eventTime = ScanEngine.scan([file.path], options: options)
        #expect(eventTime.untimed == 51)
        #expect(eventTime.timeline == nil)
        options.reading.timeSource = .processing
        let before = Int64(Date().timeIntervalSince1970)
        let processing = ScanEngine.scan([file.path], options: options)
        let after = Int64(Date().timeIntervalSince1970)
        #expect(processing.untimed == 0)
        let timeline = try #require(processing.timeline)
        #expect(timeline.firstSecond >= before && timeline.lastSecond <= after)
        // 50 UF in the second they were read: the default rule fires once.
        #expect(processing.spikes.map(\.rule) == ["UpstreamFailure"])
    }
}
