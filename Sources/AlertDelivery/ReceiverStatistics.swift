import Synchronization

/// Counters of one receiver endpoint since start. A metrics endpoint exposes them as
/// `flagwatch_notifications_total{receiver,result}` with result `sent`, `retried`, `failed`
/// and `dropped`.
public struct ReceiverStatistics: Sendable, Equatable {
    public var receiver: String
    /// The endpoint as logs show it (a secret URL shows only its host).
    public var endpoint: String
    /// Notifications delivered (2xx).
    public var sent = 0
    /// Attempts that failed (network error, timeout, 5xx, 429) and were tried again.
    public var retried = 0
    /// Notifications refused with a status that is not retried (4xx other than 429); logged
    /// with the response body.
    public var failed = 0
    /// Notifications dropped from a full queue.
    public var dropped = 0
    /// HTTP requests made.
    public var attempts = 0
    /// Responses 4xx other than 429.
    public var clientErrors = 0
    /// Responses 5xx.
    public var serverErrors = 0
    /// Responses 429.
    public var throttled = 0
    public var timeouts = 0
    /// Refused or reset connections, TLS failures, name resolution.
    public var networkErrors = 0
    /// Notifications read back from the spool at start.
    public var restored = 0
    /// Waiting now, including a batch between retries.
    public var queued = 0

    public init(receiver: String, endpoint: String) {
        self.receiver = receiver
        self.endpoint = endpoint
    }
}

/// Statistics that a delivery task updates and any thread reads.
final class StatisticsCell: Sendable {
    private let state: Mutex<ReceiverStatistics>

    init(_ initial: ReceiverStatistics) {
        state = Mutex(initial)
    }

    var snapshot: ReceiverStatistics { state.withLock { $0 } }

    func update(_ body: (inout ReceiverStatistics) -> Void) {
        state.withLock { body(&$0) }
    }
}
