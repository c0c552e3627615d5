import AlertRules
import Foundation
import Logging
import Synchronization

/// Sends alert events to receivers without ever holding up the caller.
///
/// Each receiver endpoint has its own task, bounded queue, spool directory and HTTP client, so
/// a slow or dead receiver delays nobody else. ``submit(_:)`` only hands the event over; the
/// endpoint's task writes it to the spool (`<stateDirectory>/spool/<receiver>-<hash>/`) before
/// the first attempt and removes it once delivered, so what is undelivered at a crash or a
/// shutdown is sent by the next dispatcher on the same state directory.
public final class AlertDispatcher: Sendable {
    private let workers: [(handle: AsyncStream<DeliveryInput>.Continuation, statistics: StatisticsCell, match: ReceiverMatch, task: Task<Void, Never>)]
    private let closed = Atomic<Bool>(false)

    /// - Parameters:
    ///   - receivers: names must be unique (they name the spool directories).
    ///   - rules: the rules in force, for their repeat intervals.
    ///   - stateDirectory: created if missing.
    /// - Throws: ``ReceiverConfigError`` for duplicate names or an unreadable CA file; an error
    ///   of the file system if the spool cannot be created.
    public init(receivers: [ReceiverConfig], rules: [AlertRule], stateDirectory: String, logger: Logger) throws {
        var names: Set<String> = []
        for receiver in receivers where !names.insert(receiver.name).inserted {
            throw ReceiverConfigError(message: "two receivers are named '\(receiver.name)'")
        }
        let repeatIntervals = Dictionary(rules.map { ($0.name, $0.repeatInterval) }, uniquingKeysWith: { first, _ in first })
        var workers: [(AsyncStream<DeliveryInput>.Continuation, StatisticsCell, ReceiverMatch, Task<Void, Never>)] = []
        for receiver in receivers {
            let redact = Redactor(receiver.secrets)
            if receiver.tls.insecureSkipVerify {
                logger.warning("receiver '\(receiver.name)': TLS certificates are NOT verified (tls.insecureSkipVerify): anyone on the network path can read and forge its alerts and credentials")
            }
            for endpoint in receiver.endpoints {
                let client = try EndpointClient(receiver: receiver, endpoint: endpoint)
                let spool = try Spool(directory: "\(stateDirectory)/spool/\(AlertDispatcher.spoolName(receiver.name, endpoint))")
                let statistics = StatisticsCell(ReceiverStatistics(receiver: receiver.name, endpoint: endpoint.display))
                let (stream, continuation) = AsyncStream<DeliveryInput>.makeStream()
                let loop = DeliveryLoop(client: client, spool: spool, statistics: statistics, inputs: continuation, logger: logger,
                                        redact: redact, repeatIntervals: repeatIntervals, queue: DeliveryQueue(capacity: receiver.queueCapacity))
                let task = Task.detached {
                    var loop = loop
                    await loop.run(stream)
                }
                workers.append((continuation, statistics, receiver.match, task))
            }
        }
        self.workers = workers
    }

    /// Hands `event` to every receiver whose `match` accepts it, and returns at once: it takes
    /// no lock that a request holds, touches no file and never waits for a receiver. Safe from
    /// any thread, including one that is not part of Swift concurrency. Events submitted after
    /// ``shutdown(deadline:)`` are ignored.
    public func submit(_ event: AlertEvent) {
        guard !closed.load(ordering: .acquiring) else { return }
        for worker in workers where worker.match.accepts(event) {
            worker.handle.yield(.event(event))
        }
    }

    /// One entry per receiver endpoint (an `alertmanager` receiver with three URLs has three),
    /// read at this moment.
    public var statistics: [ReceiverStatistics] {
        workers.map(\.statistics.snapshot)
    }

    /// Sends what can be sent within `deadline`, leaves the rest in the spool, and closes the
    /// HTTP clients. Blocks the calling thread until then: call it from the thread that ran the
    /// ingest loop (or any plain thread), not from inside a task. A second call returns at once.
    public func shutdown(deadline: Swift.Duration) {
        guard !closed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        let until = ContinuousClock.now + deadline
        for worker in workers { worker.handle.yield(.shutdown(deadline: until)) }
        let done = DispatchSemaphore(value: 0)
        let tasks = workers.map(\.task)
        Task.detached {
            for task in tasks { await task.value }
            done.signal()
        }
        done.wait()
    }

    /// `<name>-<hash of the URL>`: readable, stable across restarts, distinct for each endpoint,
    /// and without the URL itself (it may hold a token).
    static func spoolName(_ receiver: String, _ endpoint: Endpoint) -> String {
        let safe = String(receiver.unicodeScalars.map { $0.properties.isAlphabetic || ("0"..."9").contains($0) || "-_.".unicodeScalars.contains($0) ? Character($0) : "_" })
        return safe + "-" + AlertEvent.fingerprint(["receiver": receiver, "url": endpoint.url]).prefix(8)
    }
}
