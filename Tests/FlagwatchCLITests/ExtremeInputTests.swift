import Foundation
import Testing

/// Inputs no writer means to produce, through the real binary (issue #8): each ends with a
/// clear count or error, within a time limit, in bounded memory (the child's own peak RSS, from
/// `wait4`). Big inputs are written into a scratch folder and removed. One at a time: they are
/// the heaviest tests, and memory is measured.
@Suite(.serialized, .timeLimit(.minutes(2)))
struct ExtremeInputTests {
    /// Peak RSS allowed while skipping a 100 MB line: far below the line, whatever the path
    /// (mapped windows of 4 MiB, or a 4 MiB + `--max-line-length` read buffer). A debug
    /// build's baseline is about 20 MiB.
    static let boundMiB = 64.0

    /// An Istio record with a UF flag, numbered `n` (`TailFixture.line` at a fixed time).
    static func record(_ n: Int, cluster: String = "outbound|80||ok.svc") -> String {
        TailFixture.line(n, cluster: cluster, flags: "UF", code: 503, at: Date(timeIntervalSince1970: 1_780_000_000 + Double(n)))
    }

    /// Writes `count` bytes of `byte` to `handle` in 1 MiB blocks.
    static func fill(_ handle: FileHandle, _ byte: UInt8, count: Int) throws {
        let block = Data(repeating: byte, count: 1 << 20)
        var left = count
        while left > 0 {
            try handle.write(contentsOf: left >= block.count ? block : block.prefix(left))
            left -= block.count
        }
    }

    static func report(_ run: MeasuredRun) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: run.stdout) as? [String: Any], "\(run.stderrText)")
    }

    /// Records before and after a 100 MB line (no newline in it) are counted; the line is one
    /// `line-too-long`. Mapped (a file) and streamed (standard input). Besides the absolute
    /// bound, the line may cost at most 16 MiB over a scan of the same records without it:
    /// one 4 MiB window or read buffer, whatever the line's length.
    @Test(.measuresPeakMemory) func hundredMegabyteLine() throws {
        let directory = try Hostile.directory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let records = directory.appendingPathComponent("records.log")
        try Data((0..<10).map { Self.record($0) }.joined().utf8).write(to: records)
        let log = directory.appendingPathComponent("huge.log")
        try Data().write(to: log)
        let handle = try FileHandle(forWritingTo: log)
        try handle.write(contentsOf: Data((0..<5).map { Self.record($0) }.joined().utf8))
        try Self.fill(handle, UInt8(ascii: "A"), count: 100_000_000)
        try handle.write(contentsOf: Data(("\n" + (5..<10).map { Self.record($0) }.joined()).utf8))
        try handle.close()

        let baseline = try Hostile.run(["scan", "--output", "json", "--threads", "1", records.path])
        for (how, arguments, stdin) in [("mapped", [log.path], URL?.none), ("streamed", ["-"], log)] {
            let run = try Hostile.run(["scan", "--output", "json", "--threads", "1"] + arguments, stdin: stdin)
            #expect(!run.timedOut && run.status == 0, "\(how): \(run.stderrText)")
            let report = try Self.report(run)
            #expect(report["records"] as? Int == 10, "\(how)")
            #expect(report["malformedByReason"] as? [String: Int] == ["line-too-long": 1], "\(how)")
            #expect(run.peakMiB < Self.boundMiB, "\(how): peak RSS \(run.peakMiB) MiB")
            #expect(run.peakMiB - baseline.peakMiB < 16, "\(how): \(run.peakMiB) MiB against \(baseline.peakMiB) MiB without the line")
            print("100 MB line, \(how): peak RSS \(Self.mebibytes(run.peakMiB)) MiB (\(Self.mebibytes(baseline.peakMiB)) MiB without it), \(String(format: "%.2f", run.seconds)) s")
        }
    }

    static func mebibytes(_ value: Double) -> String { String(format: "%.1f", value) }

    /// 20 MB of random bytes (seeded; never the gzip magic): every line counted as a record
    /// or a malformed line, a report written, memory bounded.
    @Test(.measuresPeakMemory) func twentyMegabytesOfRandomBytes() throws {
        let directory = try Hostile.directory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let log = directory.appendingPathComponent("random.log")
        _ = try Hostile.python("import random, sys; open(sys.argv[1], 'wb').write(b'x' + random.Random(8).randbytes(19_999_999))", [log.path])
        let run = try Hostile.run(["scan", "--output", "json", "--show-malformed", "3", log.path])
        #expect(!run.timedOut && run.status == 0, "\(run.stderrText)")
        let report = try Self.report(run)
        let lines = try #require(report["lines"] as? Int), malformed = try #require(report["malformed"] as? Int)
        #expect(lines == (report["records"] as? Int ?? -1) + malformed)
        // About one newline in 256 bytes: tens of thousands of lines, all but a handful malformed.
        #expect(malformed > 50_000, "\(lines) lines, \(malformed) malformed")
        #expect(Hostile.terminalHazards(run.stderr).isEmpty, "malformed samples on stderr are neutralised")
        #expect(run.peakMiB < Self.boundMiB, "peak RSS \(run.peakMiB) MiB")
        print("20 MB of random bytes: \(lines) lines, peak RSS \(Self.mebibytes(run.peakMiB)) MiB, \(String(format: "%.2f", run.seconds)) s")
    }

    /// NUL bytes inside records and a 1 MiB run of NULs (what a crash leaves in a log file),
    /// and invalid UTF-8 in every field.
    @Test func nulBytesAndInvalidUTF8() throws {
        let directory = try Hostile.directory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let log = directory.appendingPathComponent("nul.log")
        var bytes = Array(Self.record(0).utf8)
        // Records: a NUL in the cluster, invalid UTF-8 in every field; both read as bytes.
        bytes += Array(Self.record(1, cluster: "outbound|80||a\u{0}b").utf8)
        bytes += Array(Self.record(2).utf8).map { $0 == UInt8(ascii: "o") ? 0xFF : $0 == UInt8(ascii: "t") ? 0xC3 : $0 }
        // Malformed: every quote a NUL; then 1 MiB of NULs, over the line limit.
        bytes += Array(Self.record(3).utf8).map { $0 == UInt8(ascii: "\"") ? 0 : $0 }
        bytes += [UInt8](repeating: 0, count: 1 << 20) + [10]
        bytes += Array(Self.record(4).utf8)
        try Data(bytes).write(to: log)
        let run = try Hostile.run(["scan", "--output", "json", "--show-malformed", "2", log.path])
        #expect(!run.timedOut && run.status == 0, "\(run.stderrText)")
        let report = try Self.report(run)
        #expect(report["lines"] as? Int == 6)
        #expect(report["records"] as? Int == 4)
        #expect(report["malformed"] as? Int == 2)
        #expect((report["malformedByReason"] as? [String: Int])?["line-too-long"] == 1)
        #expect(Hostile.terminalHazards(run.stderr).isEmpty, "the NULs are shown as \\x00 in the samples")
        let clusters = (report["clusters"] as? [[String: Any]] ?? []).compactMap { $0["cluster"] as? String }
        #expect(clusters.contains("outbound|80||a\u{0}b"))
        #expect(clusters.contains { $0.contains("\u{FFFD}") })
    }

    /// A JSON line nested 100 000 deep: read (the scanner skips nesting without recursion)
    /// when the line limit lets it in, skipped as too long by default; unbalanced, malformed.
    @Test(.measuresPeakMemory, arguments: ["json", "auto"])
    func jsonNestedHundredThousandDeep(format: String) throws {
        let directory = try Hostile.directory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let log = directory.appendingPathComponent("deep.jsonl")
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        let lines = [
            #"{"start_time":"2026-06-28T15:04:00.000Z","response_code":503,"response_flags":"UF","upstream_cluster":"outbound|80||ok.svc"}"#,
            #"{"start_time":"2026-06-28T15:04:01.000Z","response_code":503,"response_flags":"UF","upstream_cluster":"outbound|80||deep","x":"# + deep + "}",
            #"{"start_time":"2026-06-28T15:04:02.000Z","response_code":503,"x":"# + String(repeating: "{\"a\":", count: 100_000),
        ]
        try (lines.joined(separator: "\n") + "\n").write(to: log, atomically: true, encoding: .utf8)
        let allowed = try Hostile.run(["scan", "--output", "json", "--format", format, "--max-line-length", "1000000", log.path])
        #expect(!allowed.timedOut && allowed.status == 0, "\(allowed.stderrText)")
        let read = try Self.report(allowed)
        #expect(read["records"] as? Int == 2)
        #expect(read["malformedByReason"] as? [String: Int] == ["invalid-json": 1])
        #expect((read["clusters"] as? [[String: Any]])?.contains { $0["cluster"] as? String == "outbound|80||deep" } == true)
        let skipped = try Self.report(try Hostile.run(["scan", "--output", "json", "--format", format, log.path]))
        #expect(skipped["records"] as? Int == 1)
        #expect(skipped["malformedByReason"] as? [String: Int] == ["line-too-long": 2])
        #expect(allowed.peakMiB < Self.boundMiB, "peak RSS \(allowed.peakMiB) MiB")
        print("JSON nested 100 000 deep (--format \(format)): peak RSS \(Self.mebibytes(allowed.peakMiB)) MiB, \(String(format: "%.2f", allowed.seconds)) s")
    }

    /// 2 000 distinct 30 KB authorities (a client can send 60 KB of headers) cost about what
    /// 2 000 short ones do: keys are cut at 512 bytes, so the key cap bounds their memory and
    /// the report's size. (Before the cut: 10 000 such names of 60 KB took 2.4 GB.)
    @Test(.measuresPeakMemory) func distinctLongNamesCostWhatShortOnesDo() throws {
        let directory = try Hostile.directory()
        defer { try? FileManager.default.removeItem(at: directory) }
        var peaks: [Double] = []
        for length in [8, 30_000] {
            let log = directory.appendingPathComponent("names-\(length).log")
            try Data().write(to: log)
            let handle = try FileHandle(forWritingTo: log)
            let padding = String(repeating: "a", count: length)
            for block in 0..<20 {
                let lines = (block * 100..<(block + 1) * 100).map {
                    Self.record($0).replacingOccurrences(of: "\"httpbin:8000\"", with: "\"\($0)\(padding):80\"")
                }
                try handle.write(contentsOf: Data(lines.joined().utf8))
            }
            try handle.close()
            let run = try Hostile.run(["scan", "--group-by", "authority", "--threads", "1", "--output", "json", log.path])
            #expect(!run.timedOut && run.status == 0, "\(run.stderrText)")
            let report = try Self.report(run)
            let names = (report["clusters"] as? [[String: Any]] ?? []).compactMap { $0["cluster"] as? String }
            #expect(names.count == 2000 && names.allSatisfy { $0.utf8.count <= 515 })
            // Each name's first failed line is its cause's sample, cut at 1024 bytes.
            #expect(run.stdout.count < 2_000_000 + 2_000 * 1_200, "\(run.stdout.count) bytes of report")
            peaks.append(run.peakMiB)
        }
        #expect(peaks[1] - peaks[0] < 24, "\(peaks) MiB")
        print("2 000 names of 8 / 30 000 bytes: peak RSS \(peaks.map(Self.mebibytes)) MiB")
    }

    /// `tail` reading a 100 MB line appended to a followed file: counted once as too long,
    /// memory bounded by the line limit, and it keeps following.
    @Test(.measuresPeakMemory) func tailSkipsAHundredMegabyteLine() throws {
        let directory = try TailFixture.directory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let log = directory.appendingPathComponent("access.log")
        let state = directory.appendingPathComponent("state")
        try TailFixture.append(TailFixture.lines(0..<5), to: log)
        let tail = try TailProcess(["--state-dir", "state", "--from", "beginning", "access.log"], in: directory)
        #expect(TailFixture.waitForRecords(5, in: state))
        let handle = try FileHandle(forWritingTo: log)
        try handle.seekToEnd()
        try Self.fill(handle, UInt8(ascii: "A"), count: 100_000_000)
        try handle.write(contentsOf: Data("\n".utf8))
        try handle.close()
        try TailFixture.append(TailFixture.lines(5..<10), to: log)
        #expect(TailFixture.waitForRecords(10, in: state, timeout: 60), "\(TailFixture.counters(state))")
        #expect(TailFixture.counters(state)["malformedByReason"] as? [String: Int] == ["line-too-long": 1])
        // The high-water mark of its resident set, read while it still runs.
        let status = (try? String(contentsOfFile: "/proc/\(tail.process.processIdentifier)/status", encoding: .utf8)) ?? ""
        let peakKiB = status.split(separator: "\n").first { $0.hasPrefix("VmHWM:") }.flatMap { Int($0.split(separator: " ")[1]) }
        #expect(tail.stop() == 0)
        if let peakKiB {
            #expect(Double(peakKiB) / 1024 < Self.boundMiB, "tail peak RSS \(peakKiB) KiB")
            print("100 MB line, tail: peak RSS \(Self.mebibytes(Double(peakKiB) / 1024)) MiB")
        }
    }
}
