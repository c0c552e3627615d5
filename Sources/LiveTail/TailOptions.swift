import AlertRules
import LogFollow
import RecordCounting

/// Everything that shapes `tail`; the CLI fills it from flags.
public struct TailOptions: Sendable {
    /// How lines are read, grouped and counted: the same as for `scan`.
    public var reading = ReadingConfiguration()
    /// What to follow; its line limit is the reading configuration's.
    public var follow: Follower.Options
    public var rules: [AlertRule] = AlertRule.defaults
    /// Where checkpoints live; nil keeps no state (every run starts afresh).
    public var stateDirectory: String?
    /// Start over: read files per `follow.startAtEnd` and reset the counts.
    public var ignoreCheckpoints = false
    /// Seconds between checkpoints while lines are being counted.
    public var checkpointInterval = 1.0
    /// Seconds between checkpoints that are also flushed to the disk.
    public var syncInterval = 10.0
    /// Seconds between snapshots published for other threads (the metrics endpoint); nil
    /// publishes none.
    public var snapshotInterval: Double?
    /// Per-key activity in each snapshot (`LiveSnapshot.Activity`, for a terminal view); nil
    /// adds none. The windows keep at least its series.
    public var activity: ActivityRequest?

    public struct ActivityRequest: Sendable {
        /// Seconds the counts cover, and seconds of the per-second series.
        public var window: Int
        public var seconds: Int

        public init(window: Int, seconds: Int) {
            self.window = window
            self.seconds = max(seconds, window)
        }
    }

    /// Where receivers put pushed records (`--otlp-grpc` and the others); nil takes none.
    public var inbox: PushInbox?

    public init(follow: Follower.Options) { self.follow = follow }
}
