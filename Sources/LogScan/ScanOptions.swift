import AccessLogFormat
import AlertRules
import RecordCounting

/// Everything that shapes a scan; the CLI fills it from flags.
public struct ScanOptions: Sendable {
    /// How lines are read, grouped and counted: the same as for `tail`.
    public var reading = ReadingConfiguration()
    /// Worker threads; files and parts of big files are spread over them.
    public var threads = 1
    /// Plain files are split into newline-aligned parts of about this size, spread over the
    /// threads. The parts do not depend on the thread count, so neither does any result.
    public var splitThreshold: Int64 = 32 << 20
    /// Rules replayed over the history to find spikes.
    public var rules: [AlertRule] = AlertRule.defaults
    /// Length of the event-time buckets windows are made of, seconds.
    public var resolutionSeconds = 1
    /// Bytes of history cells a worker keeps in memory before it spills sorted runs to a
    /// temporary file.
    public var historyMemoryBudget = 32 << 20

    public init() {}
}
