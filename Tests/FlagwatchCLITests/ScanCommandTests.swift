import Foundation
import Testing
import TestSupport

/// `flagwatch scan` end to end: the built binary, real files, real pipes.
struct ScanCommandTests {
    /// The binary SwiftPM built beside this test bundle.
    static let binary: String = {
        let bundle = Bundle.main.bundleURL
        return [bundle, bundle.deletingLastPathComponent()].map { $0.appendingPathComponent("flagwatch").path }
            .first { FileManager.default.isExecutableFile(atPath: $0) } ?? "flagwatch"
    }()
    static let samples = Repository.samples

    struct Run {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    static func flagwatch(_ arguments: [String], stdin: Data? = nil, environment: [String: String] = [:],
                          workingDirectory: URL? = nil) throws -> Run
    {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.currentDirectoryURL = workingDirectory
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let directory = try Scratch.directory("cli")
        defer { try? FileManager.default.removeItem(at: directory) }
        // Files, not pipes: a child that writes a lot cannot block on a full pipe.
        let out = directory.appendingPathComponent("out"), err = directory.appendingPathComponent("err")
        let input = directory.appendingPathComponent("in")
        for file in [out, err] { FileManager.default.createFile(atPath: file.path, contents: nil) }
        FileManager.default.createFile(atPath: input.path, contents: stdin ?? Data())
        process.standardOutput = try FileHandle(forWritingTo: out)
        process.standardError = try FileHandle(forWritingTo: err)
        process.standardInput = try FileHandle(forReadingFrom: input)
        try process.run()
        process.waitUntilExit()
        return Run(status: process.terminationStatus, stdout: try String(contentsOf: out, encoding: .utf8),
                   stderr: try String(contentsOf: err, encoding: .utf8))
    }

    static func json(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    @Test func jsonReportHasTheDocumentedSchema() throws {
        let run = try Self.flagwatch(["scan", "--output", "json", Self.samples.appendingPathComponent("istio.log").path])
        #expect(run.status == 0)
        let report = try Self.json(run.stdout)
        for key in ["format", "groupBy", "lines", "records", "malformed", "malformedByReason", "flags", "clusters", "inputs"] {
            #expect(report[key] != nil, "\(key)")
        }
        #expect(report["format"] as? String == "istio")
        #expect(report["groupBy"] as? String == "cluster")
        #expect((report["lines"] as? Int) == (report["records"] as! Int) + (report["malformed"] as! Int))
        let truth = try Self.json(String(contentsOf: Self.samples.appendingPathComponent("istio.truth.json"), encoding: .utf8))
        #expect(report["records"] as? Int == truth["records"] as? Int)
        #expect(report["flags"] as? [String: Int] == truth["flags"] as? [String: Int])
        let clusters = try #require(report["clusters"] as? [[String: Any]])
        #expect(clusters.allSatisfy { ($0["flags"] as? [String: Int])?.values.allSatisfy { $0 > 0 } == true })
        let inputs = try #require(report["inputs"] as? [[String: Any]])
        #expect(inputs.count == 1)
        #expect(inputs[0]["error"] is NSNull)
        #expect(run.stderr.contains("format auto-detected: istio"))
    }

    @Test func standardInputIsTheDefault() throws {
        let log = try Data(contentsOf: Self.samples.appendingPathComponent("envoy.log"))
        let run = try Self.flagwatch(["scan", "--output", "json"], stdin: log)
        let report = try Self.json(run.stdout)
        #expect(run.status == 0)
        #expect(report["groupBy"] as? String == "authority")
        #expect(report["format"] as? String == "envoy")
        let dash = try Self.flagwatch(["scan", "--output", "json", "-"], stdin: log)
        #expect(try Self.json(dash.stdout)["records"] as? Int == report["records"] as? Int)
    }

    @Test func unreadableInputExitsTwoAndReportsTheRest() throws {
        let run = try Self.flagwatch(["scan", "--output", "json", "/nonexistent/access.log", Self.samples.appendingPathComponent("istio.log").path])
        #expect(run.status == 2)
        #expect(run.stderr.contains("/nonexistent/access.log"))
        let report = try Self.json(run.stdout)
        #expect((report["records"] as? Int ?? 0) > 0)
        let inputs = try #require(report["inputs"] as? [[String: Any]])
        #expect(inputs.contains { ($0["error"] as? String)?.contains("nonexistent") == true })
    }

    @Test(arguments: [["scan", "--format", "[%START_TIME% %BAD("], ["scan", "--threads", "0"], ["scan", "--group-by", "pod"],
                      ["scan", "--output", "xml"], ["scan", "--since", "yesterday"], ["scan", "--json-keys", "x"]])
    func usageErrorsExitSixtyFour(arguments: [String]) throws {
        let run = try Self.flagwatch(arguments + [Self.samples.appendingPathComponent("istio.log").path])
        #expect(run.status == 64)
        #expect(!run.stderr.isEmpty)
    }

    @Test func formatErrorPointsAtTheColumn() throws {
        let run = try Self.flagwatch(["scan", "--format", "[%START_TIME%] %RESPONSE_CODE", "/dev/null"])
        #expect(run.status == 64)
        #expect(run.stderr.contains("column 16"))
    }

    @Test func csvAndTableAgreeWithJSON() throws {
        let path = Self.samples.appendingPathComponent("istio.log").path
        let csv = try Self.flagwatch(["scan", "--output", "csv", path]).stdout
        let rows = csv.split(separator: "\r\n").map { $0.split(separator: ",", omittingEmptySubsequences: false) }
        #expect(rows[0].prefix(3) == ["cluster", "requests", "upstream_failures"])
        let report = try Self.json(try Self.flagwatch(["scan", "--output", "json", path]).stdout)
        #expect(rows.count - 1 == (report["clusters"] as? [Any])?.count)
        let table = try Self.flagwatch(["scan", "--top", "3", path], environment: ["NO_COLOR": "1"]).stdout
        #expect(table.hasPrefix("CLUSTER"))
        #expect(table.contains("outbound|9080||reviews.default.svc.cluster.local"))
        #expect(!table.contains("\u{1B}["))
        #expect(table.contains("more (--top)"))
    }

    /// `-o` to what is not a regular file (a FIFO here; `/dev/null` and `/dev/stdout` alike) is
    /// written through: a temporary file renamed over it would replace the device itself, and
    /// as root `-o /dev/null` left every program a regular file for /dev/null.
    @Test func reportToANonRegularFileIsWrittenThroughIt() throws {
        let directory = try Scratch.directory("cli-fifo")
        defer { try? FileManager.default.removeItem(at: directory) }
        let fifo = directory.appendingPathComponent("report.fifo").path
        #expect(mkfifo(fifo, 0o600) == 0)
        // Open before flagwatch is, and drained while it writes: a report larger than the
        // pipe's buffer would block the writer.
        let reader = open(fifo, O_RDONLY | O_NONBLOCK)
        #expect(reader >= 0)
        defer { close(reader) }
        let received = ReceivedBytes()
        let drained = DispatchSemaphore(value: 0)
        Thread {
            var buffer = [UInt8](repeating: 0, count: 65536)
            var finishedSeen = false
            while true {
                var descriptor = pollfd(fd: reader, events: Int16(POLLIN), revents: 0)
                _ = poll(&descriptor, 1, 20)
                let n = read(reader, &buffer, buffer.count)
                if n > 0 {
                    received.append(buffer[..<n])
                } else if finishedSeen {
                    break
                } else if received.isFinished {
                    finishedSeen = true  // one more pass for what the writer left in the pipe
                }
            }
            drained.signal()
        }.start()
        let run = try Self.flagwatch(["scan", Self.samples.appendingPathComponent("istio.log").path, "--output", "json", "-o", fifo])
        received.finish()
        drained.wait()
        #expect(run.status == 0, "\(run.stderr)")
        var info = stat()
        #expect(stat(fifo, &info) == 0 && info.st_mode & S_IFMT == S_IFIFO, "still a FIFO, not replaced by a file")
        let report = try JSONSerialization.jsonObject(with: received.data) as? [String: Any]
        #expect((report?["records"] as? Int ?? 0) > 0, "the report came through the FIFO")
    }

    @Test func showMalformedNamesFileAndLine() throws {
        let directory = try Scratch.directory("cli")
        defer { try? FileManager.default.removeItem(at: directory) }
        let log = directory.appendingPathComponent("access.log")
        // The sample holds invalid UTF-8 on purpose: keep its bytes.
        var lines = try Data(contentsOf: Self.samples.appendingPathComponent("istio.log")).split(separator: 10).map { Data($0) }
        lines.insert(Data("this is not an access log line \u{1B}[31m".utf8), at: 3)
        try Data(lines.joined(separator: [10]) + [10]).write(to: log)
        let run = try Self.flagwatch(["scan", "--show-malformed", "1", "--output", "json", "-o", directory.appendingPathComponent("r.json").path, log.path])
        #expect(run.status == 0)
        #expect(run.stderr.contains("\(log.path):4: "))
        #expect(!run.stderr.contains("\u{1B}[31m"), "control characters are neutralised")
        #expect(run.stdout.isEmpty)
        let report = try Self.json(String(contentsOf: directory.appendingPathComponent("r.json"), encoding: .utf8))
        #expect((report["malformed"] as? Int ?? 0) >= 1)
    }

    @Test func threadCountDoesNotChangeTheReport() throws {
        let path = Self.samples.appendingPathComponent("istio.log").path
        let one = try Self.flagwatch(["scan", "--output", "json", "--threads", "1", path]).stdout
        let four = try Self.flagwatch(["scan", "--output", "json", "--threads", "4", path]).stdout
        #expect(one == four)
    }

    @Test func gzipOnStandardInput() throws {
        let log = try Data(contentsOf: Self.samples.appendingPathComponent("envoy.log"))
        let plain = try Self.json(try Self.flagwatch(["scan", "--output", "json"], stdin: log).stdout)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["gzip", "-c", Self.samples.appendingPathComponent("envoy.log").path]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let compressed = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let run = try Self.flagwatch(["scan", "--output", "json"], stdin: compressed)
        #expect(run.status == 0)
        let report = try Self.json(run.stdout)
        #expect(report["records"] as? Int == plain["records"] as? Int)
        #expect((report["clusters"] as? [[String: Any]])?.count == (plain["clusters"] as? [[String: Any]])?.count)
    }

    /// ISA-L reads archives when libisal.so.2 is installed, zlib when `FLAGWATCH_INFLATE=zlib`
    /// asks for it; the report names the one used, and the counts are the same.
    @Test func gzipDecoderIsISALWhenInstalledAndZlibWhenForced() throws {
        let directory = try Scratch.directory("gz")
        defer { try? FileManager.default.removeItem(at: directory) }
        let archive = directory.appendingPathComponent("istio.log.gz").path
        let gzip = Process()
        gzip.executableURL = URL(fileURLWithPath: "/bin/sh")
        gzip.arguments = ["-c", "gzip -c '\(Self.samples.appendingPathComponent("istio.log").path)' > '\(archive)'"]
        try gzip.run()
        gzip.waitUntilExit()
        let installed = ((try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib")) ?? []).map { "/usr/lib/\($0)" }
            .contains { FileManager.default.fileExists(atPath: "\($0)/libisal.so.2") }
        var reports: [String: [String: Any]] = [:]
        for forced in ["", "zlib"] {
            let run = try Self.flagwatch(["scan", "--output", "json", archive], environment: ["FLAGWATCH_INFLATE": forced])
            #expect(run.status == 0, "\(run.stderr)")
            reports[forced] = try Self.json(run.stdout)
        }
        #expect(reports[""]?["gzipDecoder"] as? String == (installed ? "isa-l" : "zlib"))
        #expect(reports["zlib"]?["gzipDecoder"] as? String == "zlib")
        #expect(reports[""]?["records"] as? Int == reports["zlib"]?["records"] as? Int)
        #expect((reports[""]?["records"] as? Int ?? 0) > 0)
    }

    /// The report is the same whichever vector instruction set indexes the lines.
    @Test(arguments: ["sse2", "avx2"])
    func reportIsTheSameOnEveryInstructionSet(_ instructionSet: String) throws {
        let path = Self.samples.appendingPathComponent("istio.log").path
        let widest = try Self.flagwatch(["scan", "--output", "json", "--threads", "1", path])
        let capped = try Self.flagwatch(["scan", "--output", "json", "--threads", "1", path], environment: ["FLAGWATCH_ISA": instructionSet])
        #expect(widest.status == 0 && capped.status == 0)
        #expect(widest.stdout == capped.stdout)
    }

    @Test func bundledRuleFilesAreValidAndDefaultsPrint() throws {
        let rules = Self.samples.deletingLastPathComponent().appendingPathComponent("rules")
        for name in try FileManager.default.contentsOfDirectory(atPath: rules.path) where name.hasSuffix(".yaml") {
            let run = try Self.flagwatch(["rules", "check", rules.appendingPathComponent(name).path])
            #expect(run.status == 0, "\(name): \(run.stderr)")
        }
        let defaults = try Self.flagwatch(["rules", "print-defaults"])
        #expect(defaults.stdout.contains("name: \"UpstreamFailure\"") && defaults.stdout.contains("flags: [UH, UF, URX]"), "\(defaults.stdout)")
        let bad = try Self.flagwatch(["rules", "check", "/dev/null"])
        #expect(bad.status == 64)
    }

    @Test func alertsAreJSONLinesInEventOrder() throws {
        let directory = try Scratch.directory("cli")
        defer { try? FileManager.default.removeItem(at: directory) }
        let log = directory.appendingPathComponent("spiky.log")
        let generator = Process()
        generator.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        generator.arguments = ["python3", Self.samples.deletingLastPathComponent().appendingPathComponent("generate.py").path,
                               "--lines", "60000", "--rate", "100", "-o", log.path,
                               "--spike", "outbound|9080||reviews.default.svc.cluster.local:UF,URX:120:60:0.6",
                               "--spike", "outbound|8080||ratings.default.svc.cluster.local:UH:300:60:0.6"]
        try generator.run()
        generator.waitUntilExit()
        let run = try Self.flagwatch(["scan", "--alerts", log.path])
        #expect(run.status == 0)
        let events = try run.stdout.split(separator: "\n").map { try Self.json(String($0)) }
        // Firing and resolved for each dead backend, once: URX,UF is one alert, not one per flag,
        // and a backend that refuses connections has one cause.
        #expect(events.count == 4, "\(run.stdout)")
        #expect(Set(events.map { ($0["labels"] as? [String: String])?["cluster"] ?? "" }).count == 2)
        #expect(events.allSatisfy { ($0["labels"] as? [String: String])?["cause"] != nil && $0["cause"] != nil })
        for event in events {
            for key in ["status", "rule", "cluster", "flags", "count", "requests", "ratio", "window", "startsAt", "endsAt",
                        "fingerprint", "labels", "annotations"] {
                #expect(event[key] != nil, "\(key)")
            }
        }
        let times = events.map { ($0["endsAt"] as? String) ?? ($0["startsAt"] as! String) }
        #expect(times == times.sorted())
    }
}

/// Bytes a reader thread collects, and whether the writer is done.
final class ReceivedBytes: @unchecked Sendable {
    private let lock = NSLock()
    private var bytes = Data()
    private var finished = false

    func append(_ slice: ArraySlice<UInt8>) { lock.withLock { bytes.append(contentsOf: slice) } }
    func finish() { lock.withLock { finished = true } }
    var isFinished: Bool { lock.withLock { finished } }
    var data: Data { lock.withLock { bytes } }
}
