import AccessLogFormat

/// How lines become counted records: what `scan`, `tail` and every other driver share.
/// Each default is written here, once.
public struct ReadingConfiguration: Sendable {
    public var format: FormatChoice = .automatic
    /// The key records are grouped by; nil means the cluster when the format has one, else `:authority`.
    public var groupBy: FieldKind?
    /// Longer lines are skipped and counted as malformed.
    public var maxLineLength = 64 * 1024
    /// Most distinct keys counted; past it records count under `__other__`.
    public var maxKeys = 10_000
    /// Records whose start time is more than this many seconds before the latest start time
    /// seen in the same input are counted as late.
    public var allowedLateness = 30
    /// Which clock buckets records: their start time, or the time they were read.
    public var timeSource = TimeSource.event
    /// Only records whose start time is in `[since, until)` (microseconds) are counted.
    public var since: Int64?
    public var until: Int64?
    /// How many malformed lines to keep, with their input and line number.
    public var malformedSampleLimit = 0
    /// In directories, also read files matching these globs; skip files matching `exclude`.
    public var include: [String] = []
    public var exclude: [String] = []

    public init() {}

    /// The formats a parser chooses among (one for a fixed format).
    public var plans: [LinePlan] {
        switch format {
        case .automatic: return BuiltinFormat.allCases.map(\.plan)
        case .fixed(let plan): return [plan]
        }
    }
}
