import AccessLogFormat
import AlertRules

/// Which format lines are read with.
public enum FormatChoice: Sendable {
    /// Pick among the built-in formats from the first lines, and again when lines change.
    case automatic
    case fixed(LinePlan)

    /// A built-in name (`envoy`, `istio`…), `auto`, or a format string.
    public init(argument: String) throws(FormatError) {
        if argument == "auto" {
            self = .automatic
        } else if let builtin = BuiltinFormat(rawValue: argument) {
            self = .fixed(builtin.plan)
        } else {
            self = .fixed(try LinePlan(formatString: argument))
        }
    }
}

/// Everything that shapes a scan; the CLI fills it from flags.
public struct ScanOptions: Sendable {
    public var format: FormatChoice = .automatic
    /// The key records are grouped by; nil means the cluster when the format has one, else `:authority`.
    public var groupBy: FieldKind?
    /// Worker threads; files and parts of big files are spread over them.
    public var threads = 1
    /// Longer lines are skipped and counted as malformed.
    public var maxLineLength = 64 * 1024
    /// Only records whose start time is in `[since, until)` (microseconds) are counted.
    public var since: Int64?
    public var until: Int64?
    /// How many malformed lines to keep, with their file and line, for `--show-malformed`.
    public var malformedSampleLimit = 0
    public var include: [String] = []
    public var exclude: [String] = []
    /// Plain files are split into newline-aligned parts of about this size, spread over the
    /// threads. The parts do not depend on the thread count, so neither does any result.
    public var splitThreshold: Int64 = 32 << 20
    /// Rules replayed over the history to find spikes.
    public var rules: [AlertRule] = AlertRule.defaults
    /// Records whose start time is more than this many seconds before the latest start time
    /// seen (in file order) are counted as late.
    public var allowedLateness = 30
    /// Length of the event-time buckets windows are made of, seconds.
    public var resolutionSeconds = 1
    /// Most distinct keys counted; past it records count under `__other__`.
    public var maxKeys = 10_000
    /// Which clock buckets records: their start time, or the time they were read.
    public var timeSource = TimeSource.event

    public init() {}
}

/// The clock windows run on.
public enum TimeSource: String, Sendable, CaseIterable {
    /// The record's `%START_TIME%`: right for history, and for live logs with timestamps.
    case event
    /// The moment the line was read: for live streams whose lines carry no usable time.
    case processing
}
