import AccessLogFormat
import AlertRules
import FlagAggregation

/// A malformed line kept for `--show-malformed`.
public struct MalformedSample: Sendable, Equatable {
    public var path: String
    /// 1-based line number in the (decompressed) input.
    public var line: Int
    public var reason: MalformedReason
    /// The line's start, at most 200 bytes, as read (invalid UTF-8 repaired).
    public var text: String
}

/// What one input gave.
public struct InputSummary: Sendable, Equatable {
    public var path: String
    /// Bytes read (decompressed bytes for compressed input).
    public var bytes = 0
    public var lines = 0
    public var records = 0
    public var malformed = 0
    /// Why the input could not be read (fully); records before the failure are counted.
    public var error: String?

    public init(path: String, bytes: Int = 0, records: Int = 0, malformed: Int = 0) {
        self.path = path
        self.bytes = bytes
        self.records = records
        self.malformed = malformed
        lines = records + malformed
    }

    mutating func add(_ other: InputSummary) {
        bytes += other.bytes
        lines += other.lines
        records += other.records
        malformed += other.malformed
        error = error ?? other.error
    }
}

/// The merged outcome of a scan; identical whatever the number of threads.
public struct ScanResult: Sendable {
    public var groupBy: FieldKind
    /// Records parsed with each format, by format name.
    public var recordsByFormat: [String: Int] = [:]
    /// Lines that are records or malformed; blank lines are not counted.
    public var lines: Int { records + malformed }
    public var records = 0
    public var malformed = 0
    /// Records left out by `--since`/`--until` (neither records nor malformed).
    public var outsideTimeRange = 0
    public var malformedByReason: [MalformedReason: Int] = [:]
    public var totals = FlagTotals()
    public var inputs: [InputSummary] = []
    public var malformedSamples: [MalformedSample] = []
    /// Records that arrived after the watermark (counted, and bucketed at their own time).
    public var late = 0
    /// Records counted under `__other__` because `maxKeys` keys were already held.
    public var keysOverflowed = 0
    /// Records without a start time (formats lacking `%START_TIME%`): counted, not windowed.
    public var untimed = 0
    /// Per-key event-time buckets: requests, then one lane per rule.
    public var series: [String: KeySeries] = [:]
    public var resolutionSeconds = 1
    /// Firing episodes the rules found, in time order.
    public var spikes: [Spike] = []
    /// Firing and resolved events in event order, as `tail` would have sent them.
    public var alertEvents: [AlertEvent] = []

    public init(groupBy: FieldKind) { self.groupBy = groupBy }

    /// Keeps the keys with the most requests, as many as one worker may hold (`maxKeys`
    /// counts `-` and `__other__` too), and counts the others under `__other__`: each worker
    /// caps its own keys, so together they may hold more.
    mutating func foldKeys(beyond maxKeys: Int) {
        let named = totals.keys.filter { $0.key != GroupKey.otherName && $0.key != GroupKey.missingName }
        let room = max(maxKeys, 2) - 2
        guard named.count > room else { return }
        let folded = named.sorted { ($0.value.requests, $1.key) > ($1.value.requests, $0.key) }.dropFirst(room)
        for (key, keyTotals) in folded {
            totals.keys[key] = nil
            totals.keys[GroupKey.otherName, default: KeyTotals()].add(keyTotals)
            keysOverflowed += keyTotals.requests
            if let keySeries = series.removeValue(forKey: key) {
                series[GroupKey.otherName, default: KeySeries(lanes: keySeries.lanes)].merge(keySeries)
            }
        }
    }

    /// The format most records were read with ("none" when no line parsed).
    public var format: String {
        recordsByFormat.max { ($0.value, $1.key) < ($1.value, $0.key) }?.key ?? "none"
    }

    /// Inputs that could not be read, in whole or in part.
    public var failedInputs: [InputSummary] { inputs.filter { $0.error != nil } }
}

extension FieldKind {
    /// The name `--group-by` takes and reports print.
    public var groupName: String {
        switch self {
        case .upstreamCluster: return "cluster"
        case .authority: return "authority"
        case .upstreamHost: return "upstream-host"
        case .route: return "route"
        default: return "\(self)"
        }
    }

    public init?(groupName: String) {
        guard let kind = [FieldKind.upstreamCluster, .authority, .upstreamHost, .route].first(where: { $0.groupName == groupName })
        else { return nil }
        self = kind
    }
}
