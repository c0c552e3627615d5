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
    /// Each recent key's last seconds, when the driver was asked for them (a terminal view).
    public var activity: Activity?

    public init(statistics: LiveStatistics, totals: FlagTotals, alerts: [Alert], watchedFlags: [String], takenAt: Double,
                activity: Activity? = nil)
    {
        self.statistics = statistics
        self.totals = totals
        self.alerts = alerts
        self.watchedFlags = watchedFlags
        self.takenAt = takenAt
        self.activity = activity
    }
}

extension LiveSnapshot {
    /// The keys with records in the last seconds, over the event clock (the newest second counted).
    public struct Activity: Sendable {
        /// The newest second counted (seconds since 1970).
        public var clockSecond: Int64
        /// Seconds the window counts cover: the window asked for, or fewer since the first record.
        public var windowSeconds: Int
        public var keys: [KeyActivity]

        public init(clockSecond: Int64, windowSeconds: Int, keys: [KeyActivity]) {
            self.clockSecond = clockSecond
            self.windowSeconds = windowSeconds
            self.keys = keys
        }
    }

    /// One key over the window, and per second over the series.
    public struct KeyActivity: Sendable {
        public var name: String
        public var requests: Int
        /// Requests with an upstream-failure flag or a flag a rule watches.
        public var failures: Int
        /// Per flag code, and per cause name (`FailureCause.name`); non-zero entries only.
        public var flags: [String: Int]
        public var causes: [String: Int]
        /// Per second, oldest first, ending with `clockSecond`.
        public var requestSeries: [UInt32]
        public var failureSeries: [UInt32]

        public init(name: String, requests: Int, failures: Int, flags: [String: Int], causes: [String: Int],
                    requestSeries: [UInt32], failureSeries: [UInt32])
        {
            self.name = name
            self.requests = requests
            self.failures = failures
            self.flags = flags
            self.causes = causes
            self.requestSeries = requestSeries
            self.failureSeries = failureSeries
        }

        /// Failures over requests; 0 without requests.
        public var ratio: Double { requests == 0 ? 0 : Double(failures) / Double(requests) }
    }
}

/// Where a live driver leaves its latest snapshot for other threads; nil until the first
/// one is published.
public final class SnapshotBoard: Sendable {
    public let latest = Mutex<LiveSnapshot?>(nil)

    public init() {}
}
