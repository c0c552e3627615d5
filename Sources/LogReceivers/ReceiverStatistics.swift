import LiveTail
import Synchronization

/// What the receivers took and turned away, for `/metrics` and the stats line.
public final class ReceiverStatistics: Sendable {
    public enum Outcome: String, Sendable, CaseIterable {
        /// Put in the inbox.
        case accepted
        /// The inbox stayed full past the patience: `RESOURCE_EXHAUSTED` or 429.
        case refused
        /// Did not decode, or (over HTTP) was larger than the limit. A gRPC message past the limit
        /// is refused by the transport before flagwatch sees it, and counted nowhere here.
        case malformed
        /// No or a wrong bearer token.
        case unauthorized
    }

    private struct State {
        var messages: [String: [Outcome: Int]] = [:]
        var records: [String: Int] = [:]
    }
    private let state = Mutex(State())

    public init() {}

    func count(_ receiver: String, _ outcome: Outcome) {
        state.withLock { $0.messages[receiver, default: [:]][outcome, default: 0] += 1 }
    }

    func accepted(_ receiver: String, recordsByInput: [String: Int]) {
        state.withLock { state in
            state.messages[receiver, default: [:]][.accepted, default: 0] += 1
            for (input, count) in recordsByInput { state.records[input, default: 0] += count }
        }
    }

    /// Messages by receiver (`otlp-grpc`, `otlp-http`, `envoy-als`) and outcome.
    public var messages: [String: [Outcome: Int]] { state.withLock { $0.messages } }
    /// Records accepted, by input name.
    public var records: [String: Int] { state.withLock { $0.records } }
}

/// Puts a message's batches in the inbox, waiting while it is full: a unary call waits up to
/// its patience, then is refused; a stream waits as long as it lasts, and its sender is slowed
/// by the transport's flow control meanwhile.
struct Admission: Sendable {
    let inbox: PushInbox
    /// How long a unary call waits for room before it is refused.
    let patience: Duration

    func admit(_ batches: [PushInbox.Batch], waiting: Bool = true, forever: Bool = false) async -> Bool {
        if batches.isEmpty || inbox.offer(batches) { return true }
        guard waiting else { return false }
        let clock = ContinuousClock()
        let deadline = clock.now + patience
        while !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(2))
            if inbox.offer(batches) { return true }
            if !forever, clock.now >= deadline { return false }
        }
        return false
    }
}
