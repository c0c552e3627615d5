import AccessLogFormat
import AlertRules
import ArgumentParser
import Foundation
import LogScan
import LogSources
import RecordCounting
import ScanReports

struct Scan: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Count requests and response flags per upstream cluster in access logs and archives.",
        discussion: """
            PATH may be a file (plain or gzip), a directory (searched recursively for access logs and their \
            rotated siblings), a glob, or '-' for standard input (the default).
            Exit status: 0 on success, 2 when an input could not be read (the others are still reported), 64 on usage errors.
            """
    )

    enum Output: String, ExpressibleByArgument, CaseIterable { case table, json, csv, html }

    @Argument(help: "Files, directories, globs, or '-' for standard input.")
    var paths: [String] = []

    @OptionGroup var reading: ReadingOptions

    @Option(help: "table, json, csv or html (one self-contained page; use with -o).")
    var output: Output = .table

    @Option(name: .short, help: "Write the report to this file instead of standard output.")
    var outputFile: String?

    @Option(help: "Show only the N keys with the most failures (table).")
    var top: Int?

    @Option(help: "Worker threads (default: all cores).")
    var threads: Int = ProcessInfo.processInfo.activeProcessorCount

    @Option(help: "Only records that started at or after this time (RFC 3339, or seconds since 1970).")
    var since: String?

    @Option(help: "Only records that started before this time (RFC 3339, or seconds since 1970).")
    var until: String?

    @Option(name: .customLong("show-malformed"), help: "Print the first N malformed lines, with file and line, to standard error.")
    var showMalformed = 0

    @Flag(help: "Print the alert events the rules would have sent (JSON lines, in event order) instead of the report.")
    var alerts = false

    @Option(help: "Length of the event-time buckets windows are made of, seconds.")
    var resolution = 1

    func validate() throws {
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
        guard (1...3600).contains(resolution) else { throw ValidationError("--resolution must be from 1 to 3600 seconds") }
    }

    func run() throws {
        var options = ScanOptions()
        options.reading = try reading.configuration()
        options.reading.since = try since.map { try TimeArgument.micros($0, option: "--since") }
        options.reading.until = try until.map { try TimeArgument.micros($0, option: "--until") }
        options.reading.malformedSampleLimit = showMalformed
        options.threads = threads
        options.resolutionSeconds = resolution
        options.rules = try reading.loadRules()

        let progress = ScanProgress()
        let meter = isatty(STDERR_FILENO) == 1 ? ProgressMeter(progress: progress) : nil
        let result = ScanEngine.scan(paths.isEmpty ? ["-"] : paths, options: options, progress: progress)
        meter?.stop()

        let diagnostics = StandardError()
        if case .automatic = options.reading.format {
            let formats = result.recordsByFormat.sorted { ($1.value, $0.key) < ($0.value, $1.key) }.map { "\($0.key) (\($0.value) records)" }
            diagnostics.write("flagwatch: format auto-detected: \(formats.isEmpty ? "none" : formats.joined(separator: ", "))")
        }
        for note in InputNotes.lines(result.counts, order: options.reading.groupOrder) { diagnostics.write(note) }
        for sample in result.malformedSamples {
            diagnostics.write("\(sample.path):\(sample.line): \(sample.reason.name): \(sample.text)")
        }
        for failed in result.failedInputs { diagnostics.write("flagwatch: error: \(failed.error!)") }

        let report: String
        if alerts {
            report = result.alertEvents.map { Terminal.escapingJSON($0.jsonLine) + "\n" }.joined()
        } else {
            report = render(result, options: options)
        }
        if let outputFile {
            do {
                try ReportFile.write(report, to: outputFile)
            } catch {
                diagnostics.write("flagwatch: error: cannot write \(outputFile): \(error.localizedDescription)")
                throw ExitCode(2)
            }
        } else {
            FileHandle.standardOutput.write(Data(report.utf8))
        }
        if !result.failedInputs.isEmpty { throw ExitCode(2) }
    }

    func render(_ result: ScanResult, options: ScanOptions) -> String {
        switch output {
        case .json: return JSONReport(result, gzipDecoder: GzipSource.decoderName).rendered()
        case .csv: return CSVReport.render(result)
        case .html: return HTMLReport.render(result, rules: options.rules)
        case .table:
            let colour = outputFile == nil && isatty(STDOUT_FILENO) == 1 && ProcessInfo.processInfo.environment["NO_COLOR"] == nil
            return TableReport(top: top, colour: colour).render(result, rules: options.rules)
        }
    }
}

/// `--rules FILE`.
enum RulesArgument {
    static func load(_ path: String) throws -> [AlertRule] {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ValidationError("--rules: cannot read \(path): \(error.localizedDescription)")
        }
        do {
            return try RuleFile.parse(text)
        } catch {
            throw ValidationError("--rules: \(path): \(error)")
        }
    }
}

/// `--since`/`--until` values.
enum TimeArgument {
    static func micros(_ text: String, option: String) throws -> Int64 {
        if let seconds = Double(text) { return Int64(seconds * 1_000_000) }
        var copy = text
        let parsed = copy.withUTF8 { bytes -> (micros: Int64, end: Int)? in
            StartTimeFormat.envoyDefault.parse(UnsafeRawPointer(bytes.baseAddress!), from: 0, end: bytes.count)
        }
        guard let parsed, parsed.end == text.utf8.count else {
            throw ValidationError("\(option): '\(text)' is not an RFC 3339 time (2024-05-01T12:00:00Z) or epoch seconds")
        }
        return parsed.micros
    }
}

/// Diagnostics go to standard error, one line each. They quote log lines, file names, rules
/// and receivers' answers, so every line is shown by the terminal rule (`Terminal.sanitized`):
/// no control character, escape sequence or bidirectional control reaches the screen, and a
/// quoted line break cannot forge another diagnostic.
struct StandardError {
    func write(_ line: String, keepingLineBreaks: Bool = false) {
        FileHandle.standardError.write(Data((Terminal.sanitized(line, keepingLineBreaks: keepingLineBreaks) + "\n").utf8))
    }
}
