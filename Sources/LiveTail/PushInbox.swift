import AccessLogFormat
import Glibc
import Synchronization

/// Records pushed to `tail` (OTLP, Envoy's access-log service) by receivers on their own
/// threads, waiting for the follow loop, which counts them as it counts lines.
///
/// Bounded by bytes: a batch that does not fit is refused, and the receiver answers its sender
/// so (gRPC `RESOURCE_EXHAUSTED`, HTTP 429) or stops reading its stream, so that a flood slows
/// the senders instead of growing memory.
public final class PushInbox: Sendable {
    /// One message's records, from one sending stream.
    public struct Batch: Sendable {
        public enum Records: Sendable {
            /// Text lines separated by `\n` (log bodies), read with the format detected for the
            /// stream, or `--format`.
            case lines([UInt8])
            /// Records already apart, with the name their format is reported by.
            case fields(FieldRecordWriter, format: String)
        }

        /// The sending stream, as reports and `/metrics` name the input: `otlp-grpc/NODE/LOG`…
        public var input: String
        public var records: Records

        public init(input: String, records: Records) {
            self.input = input
            self.records = records
        }

        var byteCount: Int {
            switch records {
            case .lines(let bytes): bytes.count
            case .fields(let writer, _): writer.bytes.count
            }
        }
    }

    /// What the inbox took and refused since the start.
    public struct Counters: Sendable, Equatable {
        public var batches = 0
        public var bytes = 0
    }

    public let capacityBytes: Int
    private struct State {
        var queue: [Batch] = []
        var head = 0
        var bytes = 0
        var counters = Counters()
    }
    private let state = Mutex(State())
    /// Readable when a batch arrived, so that the follow loop's wait ends (a pipe: a byte
    /// per batch, at most a pipe's worth; the writes never block).
    public let wakeDescriptor: Int32
    private let wakeWriter: Int32

    public init(capacityBytes: Int) {
        self.capacityBytes = capacityBytes
        var fds: [Int32] = [-1, -1]
        precondition(pipe(&fds) == 0, "pipe failed: errno \(errno)")
        for fd in fds {
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        }
        wakeDescriptor = fds[0]
        wakeWriter = fds[1]
    }

    deinit {
        close(wakeDescriptor)
        close(wakeWriter)
    }

    private func wake() {
        var one: UInt8 = 1
        _ = write(wakeWriter, &one, 1)
    }

    /// Queues the batches of one message, all or none: none when they would pass the capacity
    /// (a message larger than the whole capacity is taken when the inbox is empty, so that it
    /// is not refused forever). A refused message is the sender's to send again.
    public func offer(_ batches: [Batch]) -> Bool {
        let size = batches.reduce(0) { $0 + $1.byteCount }
        let taken = state.withLock { state -> Bool in
            guard state.bytes == 0 || state.bytes + size <= capacityBytes else { return false }
            state.queue.append(contentsOf: batches)
            state.bytes += size
            state.counters.batches += batches.count
            state.counters.bytes += size
            return true
        }
        if taken { wake() }
        return taken
    }

    /// Takes the queued batches, oldest first, up to about `maxBytes`.
    func take(maxBytes: Int) -> [Batch] {
        var drained = (UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0))
        while read(wakeDescriptor, &drained, 64) == 64 {}
        return state.withLock { state in
            var taken: [Batch] = []
            var bytes = 0
            while state.head < state.queue.count, bytes < maxBytes {
                let batch = state.queue[state.head]
                state.head += 1
                bytes += batch.byteCount
                taken.append(batch)
            }
            state.bytes -= bytes
            if state.head == state.queue.count {
                state.queue.removeAll(keepingCapacity: true)
                state.head = 0
            } else if state.head > 1024 {
                state.queue.removeFirst(state.head)
                state.head = 0
            }
            if state.head < state.queue.count {
                // More is waiting: the next wait must not sleep.
                wake()
            }
            return taken
        }
    }

    public var counters: Counters { state.withLock { $0.counters } }
    /// Bytes waiting now.
    public var queuedBytes: Int { state.withLock { $0.bytes } }
}
