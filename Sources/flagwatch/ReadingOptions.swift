import AccessLogFormat
import AlertRules
import ArgumentParser
import RecordCounting

/// Options `scan` and `tail` share: how lines are read, grouped and judged.
struct ReadingOptions: ParsableArguments {
    @Option(help: "auto, a built-in format (\(BuiltinFormat.allCases.map(\.rawValue).joined(separator: ", "))), or an Envoy format string.")
    var format = "auto"

    @Option(name: .customLong("json-keys"), help: ArgumentHelp(
        "Read JSON logs whose keys differ from Istio's and Envoy Gateway's: FIELD=KEY,… with FIELD one of \(JSONKeys.fieldNames.keys.sorted().joined(separator: ", ")).",
        valueName: "mapping"))
    var jsonKeys: String?

    @Option(name: .customLong("group-by"), help: ArgumentHelp(
        "cluster, authority, upstream-host or route, or an ordered list of them: each input is grouped by the first its format has (default: cluster,authority).",
        valueName: "field,…"))
    var groupBy: String?

    @Option(name: .customLong("max-line-length"), help: "Longer lines are skipped and counted as malformed (bytes).")
    var maxLineLength = ReadingConfiguration().maxLineLength

    @Option(help: "Alert rules file (YAML); without it the built-in rules apply (see 'flagwatch rules print-defaults').")
    var rules: String?

    @Option(help: "Bucket records by their start time (event) or by when they are read (processing: for logs without usable times).")
    var time = ReadingConfiguration().timeSource

    @Option(help: "Records this many seconds older than the latest start time seen are counted as late.")
    var lateness = ReadingConfiguration().allowedLateness

    @Option(name: .customLong("max-keys"), help: "Most distinct keys counted; past it records count under __other__.")
    var maxKeys = ReadingConfiguration().maxKeys

    @Option(help: "In directories, also read files whose name or path matches this glob (repeatable).")
    var include: [String] = []

    @Option(help: "Skip files whose name or path matches this glob (repeatable).")
    var exclude: [String] = []

    func validate() throws {
        guard maxLineLength >= 256 else { throw ValidationError("--max-line-length must be at least 256") }
        guard lateness >= 0 else { throw ValidationError("--lateness must be ≥ 0") }
        guard maxKeys >= 1 else { throw ValidationError("--max-keys must be at least 1") }
        for name in groupNames where FieldKind(groupName: name) == nil {
            throw ValidationError("--group-by takes cluster, authority, upstream-host or route (a list: cluster,authority), not '\(name)'")
        }
    }

    func formatChoice() throws -> FormatChoice {
        do {
            if let jsonKeys { return .fixed(LinePlan(jsonKeys: try JSONKeys(overrides: jsonKeys))) }
            return try FormatChoice(argument: format)
        } catch {
            throw ValidationError("\(jsonKeys == nil ? "--format" : "--json-keys"): \(error)")
        }
    }

    private var groupNames: [String] { groupBy.map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) } ?? [] }

    /// The group order `--group-by` gives; nil without it.
    var groupOrder: [FieldKind]? {
        guard groupBy != nil else { return nil }
        var seen = Set<FieldKind>()
        return groupNames.compactMap(FieldKind.init(groupName:)).filter { seen.insert($0).inserted }
    }

    /// The counting core's configuration these options describe.
    func configuration() throws -> ReadingConfiguration {
        var configuration = ReadingConfiguration()
        configuration.format = try formatChoice()
        configuration.groupBy = groupOrder
        configuration.maxLineLength = maxLineLength
        configuration.maxKeys = maxKeys
        configuration.allowedLateness = lateness
        configuration.timeSource = time
        configuration.include = include
        configuration.exclude = exclude
        return configuration
    }

    func loadRules() throws -> [AlertRule] {
        try rules.map { try RulesArgument.load($0) } ?? AlertRule.defaults
    }
}

extension TimeSource: ExpressibleByArgument {}
