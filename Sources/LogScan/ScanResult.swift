import AccessLogFormat
import AlertRules
import FlagAggregation
import RecordCounting

/// The merged outcome of a scan; identical whatever the number of threads or the order of
/// the inputs. The counts are the core's (`CountSummary`, read through this type's members);
/// the rest is what replaying the rules over the history found.
@dynamicMemberLookup
public struct ScanResult: Sendable {
    public var counts: CountSummary
    public var resolutionSeconds = 1
    /// Firing episodes the rules found, in time order.
    public var spikes: [Spike] = []
    /// Firing and resolved events in event order, as `tail` would have sent them.
    public var alertEvents: [AlertEvent] = []
    /// Counts per time bin for the report's charts; nil when no record had a time.
    public var timeline: Timeline?
    /// The charted keys from ten minutes before the first spike to ten minutes after the last,
    /// in at most 60 bins of whole minutes: what the table's sparklines draw, since the
    /// timeline's bins may be days wide when the logs span years; nil without spikes.
    public var spikeTimeline: Timeline?
    /// Keys that spiked but are not in the timeline (past `maxChartedKeys`).
    public var unchartedSpikingKeys = 0

    /// Keys whose every lane the timeline keeps: charts and sparklines draw these.
    public static let maxChartedKeys = 200

    public init(groupBy: FieldKind) { counts = CountSummary(groupBy: groupBy) }

    public subscript<T>(dynamicMember keyPath: WritableKeyPath<CountSummary, T>) -> T {
        get { counts[keyPath: keyPath] }
        set { counts[keyPath: keyPath] = newValue }
    }

    public subscript<T>(dynamicMember keyPath: KeyPath<CountSummary, T>) -> T { counts[keyPath: keyPath] }
}
