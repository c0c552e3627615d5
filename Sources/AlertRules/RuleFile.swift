import AccessLogFormat
import Yams

/// A rules file that cannot be used, with where it is wrong.
public struct RuleFileError: Error, CustomStringConvertible, Equatable, Sendable {
    public var message: String
    /// 1-based; 0 when the position is unknown.
    public var line: Int
    public var column: Int

    public var description: String { line > 0 ? "line \(line), column \(column): \(message)" : message }

    public init(message: String, line: Int, column: Int) {
        self.message = message
        self.line = line
        self.column = column
    }
}

/// Reads and writes rules files (YAML).
///
/// ```yaml
/// rules:
///   - name: PaymentsUF
///     flags: [UF, URX]
///     window: 60s
///     minCount: 10
///     minRatio: 0.05
///     for: 30s
///     clusters: {include: ["outbound|*||payments.*"]}
///     severity: critical
///     labels: {team: payments}
///     annotations: {summary: "{{count}} UF on {{cluster}}"}
/// ```
public enum RuleFile {
    public static func parse(_ yaml: String) throws(RuleFileError) -> [AlertRule] {
        let root = try compose(yaml)
        guard let root, let mapping = root.mapping else {
            throw RuleFileError(message: "expected a mapping with a 'rules' list", line: 1, column: 1)
        }
        for (key, _) in mapping where !["rules", "receivers"].contains(key.string ?? "") {
            throw at(key, "unknown top-level key '\(key.string ?? "?")' (expected 'rules')")
        }
        guard let list = mapping["rules"] else { throw at(root, "missing 'rules'") }
        guard let items = list.sequence else { throw at(list, "'rules' must be a list") }
        var rules: [AlertRule] = []
        for item in items {
            let rule = try parseRule(item)
            if rules.contains(where: { $0.name == rule.name }) { throw at(item, "duplicate rule name '\(rule.name)'") }
            rules.append(rule)
        }
        if rules.isEmpty { throw at(list, "'rules' is empty") }
        return rules
    }

    /// The YAML node tree of a rules file, errors with line and column.
    public static func compose(_ yaml: String) throws(RuleFileError) -> Node? {
        do {
            return try Yams.compose(yaml: yaml)
        } catch let error as YamlError {
            throw RuleFile.error(from: error)
        } catch {
            throw RuleFileError(message: "\(error)", line: 0, column: 0)
        }
    }

    static func parseRule(_ node: Node) throws(RuleFileError) -> AlertRule {
        guard let mapping = node.mapping else { throw at(node, "a rule must be a mapping") }
        guard let nameNode = mapping["name"], let name = nameNode.string, !name.isEmpty else {
            throw at(node, "a rule needs a 'name'")
        }
        guard let flagsNode = mapping["flags"] else { throw at(node, "rule '\(name)' needs 'flags'") }
        var rule = AlertRule(name: name, flags: try flags(flagsNode))
        for (keyNode, value) in mapping {
            let key = keyNode.string ?? ""
            switch key {
            case "name", "flags": break
            case "window": rule.window = try seconds(value, minimum: 1)
            case "minCount": rule.minCount = try integer(value)
            case "minRatio": rule.minRatio = try number(value, in: 0...1)
            case "minRequests": rule.minRequests = try integer(value)
            case "baselineFactor": rule.baselineFactor = try number(value, in: 1...1_000_000)
            case "for": rule.forDuration = try seconds(value, minimum: 0)
            case "keepFiringFor": rule.keepFiringFor = try seconds(value, minimum: 0)
            case "repeatInterval": rule.repeatInterval = try seconds(value, minimum: 1)
            case "byCause": rule.byCause = try boolean(value)
            case "severity": rule.severity = try string(value)
            case "labels": rule.labels = try stringMap(value)
            case "annotations": rule.annotations = try stringMap(value)
            case "clusters":
                guard let clusters = value.mapping else { throw at(value, "'clusters' takes 'include' and 'exclude' lists") }
                for (k, v) in clusters {
                    switch k.string {
                    case "include": rule.include = try strings(v)
                    case "exclude": rule.exclude = try strings(v)
                    default: throw at(k, "'clusters' takes 'include' and 'exclude', not '\(k.string ?? "?")'")
                    }
                }
            default: throw at(keyNode, "unknown key '\(key)' in rule '\(name)'")
            }
        }
        return rule
    }

    /// The built-in rules, as a file that `parse` reads back to the same rules.
    public static func render(_ rules: [AlertRule]) -> String {
        var out = "rules:\n"
        for rule in rules {
            out += "  - name: \(quoted(rule.name))\n"
            out += "    flags: [\(rule.flagCodes.joined(separator: ", "))]\n"
            out += "    window: \(rule.window)s\n"
            out += "    minCount: \(rule.minCount)\n"
            out += "    minRatio: \(rule.minRatio)\n"
            if rule.minRequests > 0 { out += "    minRequests: \(rule.minRequests)\n" }
            if let factor = rule.baselineFactor { out += "    baselineFactor: \(factor)\n" }
            out += "    for: \(rule.forDuration)s\n"
            out += "    keepFiringFor: \(rule.keepFiringFor)s\n"
            out += "    repeatInterval: \(rule.repeatInterval)s\n"
            out += "    byCause: \(rule.byCause)\n"
            if !rule.include.isEmpty || !rule.exclude.isEmpty {
                out += "    clusters:\n"
                if !rule.include.isEmpty { out += "      include: [\(rule.include.map(quoted).joined(separator: ", "))]\n" }
                if !rule.exclude.isEmpty { out += "      exclude: [\(rule.exclude.map(quoted).joined(separator: ", "))]\n" }
            }
            out += "    severity: \(quoted(rule.severity))\n"
            for (title, map) in [("labels", rule.labels), ("annotations", rule.annotations)] where !map.isEmpty {
                out += "    \(title):\n"
                for (k, v) in map.sorted(by: { $0.key < $1.key }) { out += "      \(quoted(k)): \(quoted(v))\n" }
            }
        }
        return out
    }

    static func quoted(_ text: String) -> String {
        var escaped = ""
        for scalar in text.unicodeScalars {
            switch scalar.value {
            case 0x22: escaped += "\\\""
            case 0x5C: escaped += "\\\\"
            case 0x0A: escaped += "\\n"
            // YAML reads `\x` with exactly two hex digits (`\x9b` after a tab written `\x9`
            // is U+009B), takes raw line breaks in a quoted scalar as folding, and rejects
            // control characters: everything but printable text is escaped at full width.
            case 0..<0x20, 0x7F...0x9F: escaped += "\\x" + hex(scalar.value, digits: 2)
            case 0x2028, 0x2029, 0xFEFF, 0xFFFE, 0xFFFF: escaped += "\\u" + hex(scalar.value, digits: 4)
            default: escaped.unicodeScalars.append(scalar)
            }
        }
        return "\"" + escaped + "\""
    }

    private static func hex(_ value: UInt32, digits: Int) -> String {
        let text = String(value, radix: 16)
        return String(repeating: "0", count: max(0, digits - text.count)) + text
    }

    // MARK: Values
    // Public for the other sections of the same file (alert delivery reads `receivers:`).

    public static func at(_ node: Node, _ message: String) -> RuleFileError {
        RuleFileError(message: message, line: (node.mark?.line ?? 0), column: (node.mark?.column ?? 0))
    }

    static func error(from error: YamlError) -> RuleFileError {
        switch error {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _), .composer(_, let problem, let mark, _):
            return RuleFileError(message: problem, line: mark.line, column: mark.column)
        default:
            return RuleFileError(message: "\(error)", line: 0, column: 0)
        }
    }

    public static func string(_ node: Node) throws(RuleFileError) -> String {
        guard let value = node.scalar?.string else { throw at(node, "expected a string") }
        return value
    }

    public static func strings(_ node: Node) throws(RuleFileError) -> [String] {
        guard let items = node.sequence else { throw at(node, "expected a list of strings") }
        var values: [String] = []
        for item in items { values.append(try string(item)) }
        return values
    }

    static func stringMap(_ node: Node) throws(RuleFileError) -> [String: String] {
        guard let mapping = node.mapping else { throw at(node, "expected a mapping of strings") }
        var values: [String: String] = [:]
        for (k, v) in mapping { values[try string(k)] = try string(v) }
        return values
    }

    public static func integer(_ node: Node) throws(RuleFileError) -> Int {
        guard let text = node.scalar?.string, let value = Int(text), value >= 0 else {
            throw at(node, "expected a whole number ≥ 0")
        }
        return value
    }

    static func boolean(_ node: Node) throws(RuleFileError) -> Bool {
        switch node.scalar?.string {
        case "true": return true
        case "false": return false
        default: throw at(node, "expected true or false")
        }
    }

    static func number(_ node: Node, in range: ClosedRange<Double>) throws(RuleFileError) -> Double {
        guard let text = node.scalar?.string, let value = Double(text), range.contains(value) else {
            throw at(node, "expected a number from \(range.lowerBound) to \(range.upperBound)")
        }
        return value
    }

    /// `90`, `90s`, `5m`, `1h`.
    static func seconds(_ node: Node, minimum: Int) throws(RuleFileError) -> Int {
        guard let text = node.scalar?.string, let value = DurationText.seconds(text), value >= minimum else {
            throw at(node, "expected a duration such as 30s, 5m or 1h (at least \(minimum)s)")
        }
        return value
    }

    static func flags(_ node: Node) throws(RuleFileError) -> ResponseFlags {
        let codes = node.sequence.map { Array($0) } ?? [node]
        var flags = ResponseFlags()
        for code in codes {
            guard let text = code.scalar?.string, let flag = ResponseFlag(code: text) else {
                throw at(code, "unknown response flag '\(code.scalar?.string ?? "?")' (expected one of \(ResponseFlag.allCases.map(\.shortCode).joined(separator: ", ")))")
            }
            flags.insert(ResponseFlags(flag))
        }
        if flags.isEmpty { throw at(node, "'flags' is empty") }
        return flags
    }
}

/// Durations as rules and flags write them.
public enum DurationText {
    public static func seconds(_ text: String) -> Int? { milliseconds(text).map { $0 / 1000 } }

    /// `250ms`, `2s`, `5m`, `1h`, `1d`; a bare number is seconds.
    public static func milliseconds(_ text: String) -> Int? {
        let units: [(String, Int)] = [("ms", 1), ("s", 1000), ("m", 60000), ("h", 3_600_000), ("d", 86_400_000)]
        for (suffix, factor) in units where text.hasSuffix(suffix) {
            guard let value = Int(text.dropLast(suffix.count)), value >= 0 else { return nil }
            return value.multipliedReportingOverflow(by: factor).overflow ? nil : value * factor
        }
        return Int(text).flatMap { $0 >= 0 && !$0.multipliedReportingOverflow(by: 1000).overflow ? $0 * 1000 : nil }
    }
}
