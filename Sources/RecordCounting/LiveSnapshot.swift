import Synchronization

/// Counts a live driver keeps over every run that used its state directory.
public struct LiveCounters: Codable, Equatable, Sendable {
    public var records = 0
    public var malformedByReason: [String: Int] = [:]
    public var recordsByFormat: [String: Int] = [:]
    public var bytes: Int64 = 0
    public var late = 0
    public var untimed = 0
    public var keysOverflowed = 0
    public var rotations = 0
    public var truncations = 0
    public var alertsFired = 0
    public var alertsResolved = 0

    public init() {}

    public var malformed: Int { malformedByReason.values.reduce(0, +) }
    public var lines: Int { records + malformed }
}

/// A running driver's counters and how far it has read each input.
public struct LiveStatistics: Sendable {
    public struct Input: Sendable {
        public var path: String
        public var offset: Int64
        public var size: Int64
        public var bytesBehind: Int64

        public init(path: String, offset: Int64, size: Int64, bytesBehind: Int64) {
            self.path = path
            self.offset = offset
            self.size = size
            self.bytesBehind = bytesBehind
        }
    }

    public var counters: LiveCounters
    public var inputs: [Input] = []

    public init(counters: LiveCounters, inputs: [Input] = []) {
        self.counters = counters
        self.inputs = inputs
    }
}

/// The state of an alert that has not resolved.
public enum AlertPhase: String, Sendable { case pending, firing }

/// Everything another thread (the metrics endpoint, a terminal view) may show about a live
/// driver, taken at one instant.
public struct LiveSnapshot: Sendable {
    public struct Alert: Sendable {
        public var rule: String
        public var cluster: String
        /// The cause it is labelled with; nil while a rule over every cause is pending.
        public var cause: String?
        public var state: AlertPhase
        /// Microseconds since 1970: when its condition began to hold.
        public var since: Int64

        public init(rule: String, cluster: String, cause: String?, state: AlertPhase, since: Int64) {
            self.rule = rule
            self.cluster = cluster
            self.cause = cause
            self.state = state
            self.since = since
        }
    }

    public var statistics: LiveStatistics
    /// Per key, over every run.
    public var totals: FlagTotals
    public var alerts: [Alert]
    /// Flag codes the rules watch: exported for every key, zeros included, so that a rate
    /// over them starts from 0 rather than from a series that appears mid-incident.
    public var watchedFlags: [String]
    /// Wall-clock seconds when it was taken: how alive the driver's loop is.
    public var takenAt: Double

    public init(statistics: LiveStatistics, totals: FlagTotals, alerts: [Alert], watchedFlags: [String], takenAt: Double) {
        self.statistics = statistics
        self.totals = totals
        self.alerts = alerts
        self.watchedFlags = watchedFlags
        self.takenAt = takenAt
    }
}

/// Where a live driver leaves its latest snapshot for other threads; nil until the first
/// one is published.
public final class SnapshotBoard: Sendable {
    public let latest = Mutex<LiveSnapshot?>(nil)

    public init() {}
}
