import AccessLogFormat
import ArgumentParser
import FailureCauses
import Foundation
import LogScan
import RecordCounting

struct Explain: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Explain access-log lines: their fields, their flags, the probable cause and what to check next.",
        discussion: """
            LINE is one access-log line as pasted (a collector's prefix such as kubectl's or CRI's is fine, \
            JSON too); without LINE, lines are read from standard input. \
            Exit status: 0 when every line was read, 1 when some line follows no format, 64 on usage errors.
            """
    )

    enum Output: String, ExpressibleByArgument, CaseIterable { case text, json }

    @Argument(help: "Access-log lines; none or '-' reads standard input.")
    var lines: [String] = []

    @Option(help: "auto, a built-in format (\(BuiltinFormat.allCases.map(\.rawValue).joined(separator: ", "))), or an Envoy format string.")
    var format = "auto"

    @Option(name: .customLong("json-keys"), help: ArgumentHelp("JSON keys that differ from the standard ones: FIELD=KEY,…", valueName: "mapping"))
    var jsonKeys: String?

    @Option(help: "text, or json: one object per line, with `cause`.")
    var output: Output = .text

    func run() throws {
        let parser: LineParser
        do {
            if let jsonKeys {
                parser = LineParser(plan: LinePlan(jsonKeys: try JSONKeys(overrides: jsonKeys)), tokenizer: LineTokenizer())
            } else {
                switch try FormatChoice(argument: format) {
                case .automatic: parser = LineParser(tokenizer: LineTokenizer())
                case .fixed(let plan): parser = LineParser(plan: plan, tokenizer: LineTokenizer())
                }
            }
        } catch {
            throw ValidationError("\(jsonKeys == nil ? "--format" : "--json-keys"): \(error)")
        }
        let explainer = LineExplainer(parser: parser)
        let input = lines.isEmpty || lines == ["-"] ? Explain.standardInputLines() : lines.map { Array($0.utf8) }
        var allRead = true
        var number = 0
        for line in input {
            var line = line
            if line.last == 13 { line.removeLast() }
            if line.allSatisfy({ $0 == 32 || $0 == 9 }) { continue }
            number += 1
            let explanation = line.withUnsafeBytes { explainer.explain($0) }
            if explanation.malformed != nil { allRead = false }
            switch output {
            case .text: print(explanation.text(number: number), terminator: "")
            case .json: print(explanation.json(number: number))
            }
        }
        if !allRead { throw ExitCode(1) }
    }

    static func standardInputLines() -> [[UInt8]] {
        let data = FileHandle.standardInput.readDataToEndOfFile()
        return data.split(separator: 10, omittingEmptySubsequences: false).map(Array.init)
    }
}

/// Reads one line at a time, with a classifier that has seen every earlier line's details.
final class LineExplainer {
    let parser: LineParser
    let classifier: FailureClassifier

    init(parser: LineParser) {
        self.parser = parser
        parser.tokenizer.internedKeys = [.upstreamCluster]
        classifier = FailureClassifier(tokenizer: parser.tokenizer)
    }

    func explain(_ line: UnsafeRawBufferPointer) -> LineExplanation {
        // Each pasted line may be of another format: choose for this line alone.
        if parser.isAutomatic { parser.chooseFormat(from: line, limit: 1) }
        let tokenizer = parser.tokenizer
        var explanation = LineExplanation(raw: String(decoding: line, as: UTF8.self))
        if let reason = parser.parse(line) {
            explanation.malformed = reason.name
            return explanation
        }
        let record = tokenizer.record
        func text(_ kind: FieldKind) -> String? { tokenizer.value(of: kind).map { String(decoding: $0, as: UTF8.self) } }
        explanation.format = parser.currentPlan.name
        explanation.prefix = tokenizer.prefixLength > 0 ? String(decoding: line[..<tokenizer.prefixLength], as: UTF8.self) : nil
        explanation.responseCode = Int(record.responseCode)
        explanation.flags = record.flags.members
        explanation.extensionFlags = (0..<Int(record.unknownFlagCount)).map { String(decoding: tokenizer.unknownFlag($0), as: UTF8.self) }
        explanation.cluster = text(.upstreamCluster)
        explanation.upstreamHost = text(.upstreamHost)
        explanation.authority = text(.authority)
        explanation.route = text(.route)
        explanation.method = text(.method)
        explanation.path = text(.path)
        for kind in LineExplanation.detailKinds {
            if let value = text(kind), value != "-", !value.isEmpty { explanation.details[kind] = value }
        }
        let clusterKind = tokenizer.value(of: .upstreamCluster).map(ClusterKind.init(name:)) ?? .none
        explanation.clusterKind = clusterKind
        explanation.diagnosis = classifier.diagnose(record, cluster: clusterKind)
        if let cause = explanation.diagnosis?.cause {
            explanation.nextSteps = Runbook.commands(for: cause, cluster: explanation.cluster ?? "-")
        }
        return explanation
    }
}

/// What `explain` prints for one line.
struct LineExplanation {
    static let detailKinds: [FieldKind] = [.responseCodeDetails, .upstreamTransportFailureReason, .connectionTerminationDetails]

    var raw: String
    var malformed: String?
    var format: String?
    var prefix: String?
    var responseCode: Int?
    var flags: [ResponseFlag] = []
    var extensionFlags: [String] = []
    var method: String?
    var path: String?
    var authority: String?
    var cluster: String?
    var clusterKind: ClusterKind = .none
    var upstreamHost: String?
    var route: String?
    var details: [FieldKind: String] = [:]
    var diagnosis: Diagnosis?
    var nextSteps: [String] = []

    static func label(_ kind: FieldKind) -> String {
        switch kind {
        case .responseCodeDetails: return "response code details"
        case .upstreamTransportFailureReason: return "upstream transport failure reason"
        case .connectionTerminationDetails: return "connection termination details"
        default: return "\(kind)"
        }
    }

    var evidenceText: String? {
        guard let diagnosis else { return nil }
        switch diagnosis.evidence {
        case .cluster: return "the upstream cluster is \(cluster ?? "BlackHoleCluster")"
        case .detail(let kind): return "\(LineExplanation.label(kind)) \(details[kind] ?? "")"
        case .flag(let flag):
            let noDetails = details.isEmpty ? "; the line has no failure details" : "; the failure details name no more precise cause"
            return "response flag \(flag.shortCode) (\(flag.meaning))\(noDetails)"
        case .extensionFlag: return "extension flags only (\(extensionFlags.joined(separator: ",")))"
        }
    }

    var clusterDescription: String? {
        guard let cluster else { return nil }
        guard let istio = IstioCluster(cluster) else {
            switch clusterKind {
            case .blackHole: return "Istio's BlackHoleCluster: a destination outboundTrafficPolicy REGISTRY_ONLY blocks"
            case .passthrough: return "Istio's passthrough: a destination outside the mesh registry, let through"
            case .none: return "no cluster was selected"
            default: return nil
            }
        }
        var parts = [istio.direction.rawValue]
        if let service = istio.service {
            parts.append("service \(service.name)")
            parts.append("namespace \(service.namespace)")
        } else if !istio.host.isEmpty {
            parts.append("host \(istio.host)")
        }
        if let port = istio.port { parts.append("port \(port)") }
        if !istio.subset.isEmpty { parts.append("subset \(istio.subset)") }
        return parts.joined(separator: ", ")
    }

    /// Log content is shown by the terminal rule; flagwatch's own words are not.
    func text(number: Int) -> String {
        func shown(_ value: String) -> String { Terminal.sanitized(value, limit: 400) }
        var out = "line \(number)"
        guard malformed == nil else {
            return out + ": follows no format (\(malformed!)): \(shown(raw))\n\n"
        }
        out += " (format \(format ?? "?")\(prefix.map { ", prefix \(shown($0))" } ?? ""))\n"
        func field(_ name: String, _ value: String?, note: String? = nil) {
            guard let value else { return }
            out += "  " + name.padding(toLength: 34, withPad: " ", startingAt: 0) + shown(value) + (note.map { "  (\(shown($0)))" } ?? "") + "\n"
        }
        if let method, method != "-" { field("request", "\(method) \(path ?? "")") }
        field("authority", authority)
        field("response code", responseCode.map(String.init))
        field("response flags", flags.isEmpty && extensionFlags.isEmpty ? "-" : (flags.map(\.shortCode) + extensionFlags).joined(separator: ","))
        for flag in flags { out += "    \(flag.shortCode.padding(toLength: 6, withPad: " ", startingAt: 0))\(flag.longName): \(flag.meaning)\n" }
        for code in extensionFlags { out += "    \(shown(code)): an extension's flag\n" }
        for kind in LineExplanation.detailKinds { field(LineExplanation.label(kind), details[kind]) }
        field("upstream cluster", cluster, note: clusterDescription)
        field("upstream host", upstreamHost)
        field("route", route)
        guard let diagnosis else { return out + "  no response flag: not a failure Envoy flagged\n\n" }
        out += "cause: \(diagnosis.cause.name): \(diagnosis.cause.summary)\n"
        if let evidenceText { out += "  evidence: \(shown(evidenceText))\n" }
        if !nextSteps.isEmpty {
            out += "next steps (POD: the pod whose proxy wrote the line):\n"
            for step in nextSteps { out += "  \(shown(step))\n" }
        }
        return out + "\n"
    }

    struct JSONLine: Encodable {
        var line: Int
        var error: String?
        var format: String?
        var method: String?
        var path: String?
        var response_code: Int?
        var response_flags: [String]?
        var response_code_details: String?
        var upstream_transport_failure_reason: String?
        var connection_termination_details: String?
        var upstream_cluster: String?
        var cluster_kind: String?
        var upstream_host: String?
        var cause: String?
        var evidence: String?
        var next_steps: [String]?
    }

    func json(number: Int) -> String {
        var object = JSONLine(line: number)
        if let malformed {
            object.error = malformed
        } else {
            object.format = format
            object.method = method
            object.path = path
            object.response_code = responseCode
            object.response_flags = flags.map(\.shortCode) + extensionFlags
            object.response_code_details = details[.responseCodeDetails]
            object.upstream_transport_failure_reason = details[.upstreamTransportFailureReason]
            object.connection_termination_details = details[.connectionTerminationDetails]
            object.upstream_cluster = cluster
            object.cluster_kind = "\(clusterKind)"
            object.upstream_host = upstreamHost
            object.cause = diagnosis?.cause.name
            object.evidence = evidenceText
            object.next_steps = diagnosis == nil ? nil : nextSteps
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = (try? encoder.encode(object)) ?? Data("{}".utf8)
        return Terminal.escapingJSON(String(decoding: data, as: UTF8.self))
    }
}
