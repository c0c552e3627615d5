import AccessLogFormat

/// How lines become counted records: what `scan`, `tail` and every other driver share.
/// Each default is written here, once.
public struct ReadingConfiguration: Sendable {
    public var format: FormatChoice = .automatic
    /// The fields records are grouped by, in order: each input by the first of them its format
    /// has, else by the last (its records then count under `-`). Nil: ``defaultGroupOrder``.
    public var groupBy: [FieldKind]?
    /// The cluster, else `:authority` (Envoy's default format has no cluster field).
    public static let defaultGroupOrder: [FieldKind] = [.upstreamCluster, .authority]
    public var groupOrder: [FieldKind] { groupBy ?? ReadingConfiguration.defaultGroupOrder }
    /// The field whose keys are named by their values alone (`GroupKeys`); nil: the first
    /// input's. A driver with several counters sets it, so that they all name keys alike.
    public var primaryGroupKey: FieldKind?
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
