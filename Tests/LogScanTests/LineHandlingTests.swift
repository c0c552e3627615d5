import AccessLogFormat
import Foundation
import LogScan
import RecordCounting
import Testing
import TestSupport

/// Line splitting at the edges: buffers, long lines, CRLF, blank lines, no final newline.
struct LineHandlingTests {
    static let line = #"[2024-01-27T14:15:24.881Z] "GET /a HTTP/1.1" 503 UF,URX upstream_reset_before_response_started{connection_failure} - "-" 0 91 3 - "-" "curl/8" "id" "api:80" "10.0.0.1:80" outbound|80||api.default.svc.cluster.local 10.0.0.2:1 10.0.0.3:80 10.0.0.4:2 - default"#

    func scan(_ text: String, _ configure: (inout ScanOptions) -> Void = { _ in }) throws -> ScanResult {
        let directory = try Scratch.directory("scan")
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("access.log")
        try Data(text.utf8).write(to: file)
        var options = ScanOptions()
        configure(&options)
        return ScanEngine.scan([file.path], options: options)
    }

    @Test func crlfBlankLinesAndMissingFinalNewline() throws {
        let result = try scan(Self.line + "\r\n\n\r\n" + Self.line + "\n\n" + Self.line)
        #expect(result.records == 3)
        #expect(result.malformed == 0)
        let totals = try #require(result.totals.keys["outbound|80||api.default.svc.cluster.local"])
        #expect((totals.requests, totals.upstreamFailures, totals.flags) == (3, 3, ["UF": 3, "URX": 3]))
        #expect(totals.causes == ["connect-failed": 3])
        // The first of the three lines, numbered as the file's physical lines (blank ones too).
        #expect(totals.causeSamples["connect-failed"]?.lineNumber == 1)
    }

    @Test func overlongLinesAreSkippedAndCounted() throws {
        let long = Self.line.replacingOccurrences(of: "curl/8", with: String(repeating: "x", count: 100_000))
        let result = try scan([Self.line, long, Self.line, long].joined(separator: "\n") + "\n") {
            $0.reading.malformedSampleLimit = 10
        }
        #expect(result.records == 2)
        #expect(result.malformedByReason == [.lineTooLong: 2])
        #expect(result.malformedSamples.map(\.line) == [2, 4])
    }

    @Test func aLineLongerThanTheReadBufferIsSkipped() throws {
        let huge = String(repeating: "y", count: 9 << 20)
        let result = try scan(Self.line + "\n" + huge + "\n" + Self.line + "\n")
        #expect(result.records == 2)
        #expect(result.malformedByReason == [.lineTooLong: 1])
    }

    @Test func malformedSamplesNameTheirLineAcrossSplitParts() throws {
        var lines = Array(repeating: Self.line, count: 5000)
        lines[10] = "garbage one"
        lines[4321] = "garbage two"
        let result = try scan(lines.joined(separator: "\n") + "\n") {
            $0.threads = 4
            $0.splitThreshold = 1 << 12
            $0.reading.malformedSampleLimit = 5
        }
        #expect(result.malformedSamples.map(\.line) == [11, 4322])
        #expect(result.malformedSamples.map(\.text) == ["garbage one", "garbage two"])
        #expect(result.records == 4998)
    }

    /// Keys longer than `GroupKey.maxKeyLength` bytes are cut at a character boundary and
    /// marked; names that agree up to the cut are one key. Shorter keys are untouched.
    @Test func overlongKeysAreCutAndMarked() throws {
        let cluster = "outbound|80||api.default.svc.cluster.local"
        // 3-byte characters from byte 13 on: the cut at 512 falls inside one (13 + 3 × 166 = 511).
        let wide = "outbound|80||" + String(repeating: "集", count: 400)
        let cut = "outbound|80||" + String(repeating: "集", count: 166) + "…"
        // The cut name itself (as a checkpoint saves it) is the same key again.
        let lines = [Self.line] + [wide, wide + "a", wide + "b", cut].map { Self.line.replacingOccurrences(of: cluster, with: $0) }
        let result = try scan(lines.joined(separator: "\n") + "\n")
        #expect(result.records == 5)
        #expect(result.totals.keys[cut]?.requests == 4)
        #expect(result.totals.keys[cluster]?.requests == 1)
        #expect(result.totals.keys.keys.allSatisfy { $0.utf8.count <= GroupKey.maxKeyLength + 3 && !$0.contains("\u{FFFD}") })
    }

    @Test func timeRangeKeepsOnlyRecordsInside() throws {
        let early = Self.line.replacingOccurrences(of: "14:15:24.881", with: "10:00:00.000")
        let late = Self.line.replacingOccurrences(of: "14:15:24.881", with: "18:00:00.000")
        let result = try scan([early, Self.line, late].joined(separator: "\n")) {
            $0.reading.since = StartTimeFormat.epochSeconds(year: 2024, month: 1, day: 27, hour: 12, minute: 0, second: 0)! * 1_000_000
            $0.reading.until = StartTimeFormat.epochSeconds(year: 2024, month: 1, day: 27, hour: 16, minute: 0, second: 0)! * 1_000_000
        }
        #expect(result.records == 1)
        #expect(result.outsideTimeRange == 2)
    }

    @Test func unreadableInputIsReportedAndOthersScanned() throws {
        let directory = try Scratch.directory("scan")
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("access.log")
        try Data((Self.line + "\n").utf8).write(to: file)
        let result = ScanEngine.scan([file.path, directory.appendingPathComponent("missing.log").path], options: ScanOptions())
        #expect(result.records == 1)
        #expect(result.failedInputs.count == 1)
        #expect(result.failedInputs.first?.error?.contains("missing.log") == true)
    }
}
