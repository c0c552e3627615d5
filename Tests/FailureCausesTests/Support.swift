import AccessLogFormat
import FailureCauses
import Foundation

/// The fixtures beside these tests: copies of the shared corpus (corpus/) and lines a real
/// Envoy 1.40 wrote in the RealEnvoyTests scenarios (envoy-1.40/).
enum Fixtures {
    static let root: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

    static func lines(_ relativePath: String) throws -> [[UInt8]] {
        let data = try Data(contentsOf: root.appendingPathComponent(relativePath))
        var lines = data.split(separator: 10, omittingEmptySubsequences: false).map(Array.init)
        if lines.last?.isEmpty == true { lines.removeLast() }
        return lines
    }

    static func files(in folder: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent(folder).path)
            .sorted().map { "\(folder)/\($0)" }
    }
}

/// Parses lines and gives each failed record's cause, as the scan engine will.
final class CauseReader {
    let parser: LineParser
    let classifier: FailureClassifier

    init(plans: [LinePlan] = BuiltinFormat.allCases.map(\.plan)) {
        parser = plans.count == 1 ? LineParser(plan: plans[0]) : LineParser(choosingAmong: plans)
        classifier = FailureClassifier(tokenizer: parser.tokenizer)
    }

    var tokenizer: LineTokenizer { parser.tokenizer }

    /// nil for a line that does not parse; `.some(nil)` for a record without flags.
    func cause(of line: [UInt8]) -> FailureCause?? {
        line.withUnsafeBytes { bytes -> FailureCause?? in
            if parser.parse(bytes) != nil { return nil }
            let cluster = tokenizer.value(of: .upstreamCluster).map(ClusterKind.init(name:)) ?? .none
            return .some(classifier.classify(tokenizer.record, cluster: cluster))
        }
    }

    func cause(of line: String) -> FailureCause?? { cause(of: Array(line.utf8)) }

    /// Chooses the format from the first lines of a file, as a scan does.
    func chooseFormat(from lines: [[UInt8]]) {
        let sample = lines.prefix(32).flatMap { $0 + [10] }
        sample.withUnsafeBytes { _ = parser.chooseFormat(from: $0) }
    }
}
