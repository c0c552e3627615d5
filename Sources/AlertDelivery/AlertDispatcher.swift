import AlertRules
import Foundation
import Logging
import NIOCore
import NIOPosix
import Synchronization

/// Sends alert events to receivers without ever holding up the caller.
///
/// Each receiver endpoint has its own bounded queue, spool directory and HTTP client, driven
/// on a NIO event loop, so a slow or dead receiver delays nobody else and delivery does not
/// depend on Swift concurrency's thread pool. ``submit(_:)`` only hands the event over; the
/// endpoint writes it to its spool (`<stateDirectory>/spool/<receiver>-<hash>/`) before the
/// first attempt and removes it once delivered, so what is undelivered at a crash or a
/// shutdown is sent by the next dispatcher on the same state directory.
public final class AlertDispatcher: Sendable {
    struct Worker: Sendable {
        var loop: NIOLoopBound<DeliveryLoop>
        var eventLoop: EventLoop
        var statistics: StatisticsCell
        var match: ReceiverMatch
        var stopped: EventLoopFuture<Void>

        func send(_ input: DeliveryInput) {
            let loop = loop
            eventLoop.execute { loop.value.receive(input) }
        }
    }

    private let workers: [Worker]
    private let closed = Atomic<Bool>(false)

    /// - Parameters:
    ///   - receivers: names must be unique (they name the spool directories).
    ///   - rules: the rules in force, for their repeat intervals.
    ///   - stateDirectory: created if missing.
    /// Call it from a plain thread or a task, not from a NIO event loop.
    /// - Throws: ``ReceiverConfigError`` for duplicate names or an unreadable CA file; an error
    ///   of the file system if the spool cannot be created.
    public init(receivers: [ReceiverConfig], rules: [AlertRule], stateDirectory: String, logger: Logger) throws {
        var names: Set<String> = []
        for receiver in receivers where !names.insert(receiver.name).inserted {
            throw ReceiverConfigError(message: "two receivers are named '\(receiver.name)'")
        }
        let repeatIntervals = Dictionary(rules.map { ($0.name, $0.repeatInterval) }, uniquingKeysWith: { first, _ in first })
        // Everything that can fail comes first: HTTP clients and loops, once made, must be shut down.
        var endpoints: [(settings: EndpointClient.Settings, spool: Spool, redact: Redactor)] = []
        for receiver in receivers {
            let redact = Redactor(receiver.secrets)
            for endpoint in receiver.endpoints {
                let spool = try Spool(directory: "\(stateDirectory)/spool/\(AlertDispatcher.spoolName(receiver.name, endpoint))")
                endpoints.append((try EndpointClient.Settings(receiver, endpoint), spool, redact))
            }
        }
        for receiver in receivers where receiver.tls.insecureSkipVerify {
            logger.warning("receiver '\(receiver.name)': TLS certificates are NOT verified (tls.insecureSkipVerify): anyone on the network path can read and forge its alerts and credentials")
        }
        let group = MultiThreadedEventLoopGroup.singleton
        var workers: [Worker] = []
        for (settings, spool, redact) in endpoints {
            let client = EndpointClient(settings, eventLoopGroup: group)
            let statistics = StatisticsCell(ReceiverStatistics(receiver: settings.receiver.name, endpoint: settings.endpoint.display))
            let eventLoop = group.next()
            // The loop is made on its event loop, and lives there.
            let loop = eventLoop.submit {
                let loop = DeliveryLoop(eventLoop: eventLoop, client: client, spool: spool, statistics: statistics,
                                        logger: logger, redact: redact, repeatIntervals: repeatIntervals)
                loop.start()
                return loop.bound
            }
            workers.append(Worker(loop: try loop.wait(), eventLoop: eventLoop, statistics: statistics, match: settings.receiver.match,
                                  stopped: loop.flatMap { $0.value.stopped.futureResult }))
        }
        self.workers = workers
    }

    /// Hands `event` to every receiver whose `match` accepts it, and returns at once: it
    /// enqueues a task on each matching endpoint's event loop and does nothing else — no file,
    /// no network, no lock that a request holds. Safe from any thread, including one that is
    /// not part of Swift concurrency. Events submitted after ``shutdown(deadline:)`` are ignored.
    public func submit(_ event: AlertEvent) {
        guard !closed.load(ordering: .acquiring) else { return }
        for worker in workers where worker.match.accepts(event) {
            worker.send(.event(event))
        }
    }

    /// One entry per receiver endpoint (an `alertmanager` receiver with three URLs has three),
    /// read at this moment; safe from any thread.
    public var statistics: [ReceiverStatistics] {
        workers.map(\.statistics.snapshot)
    }

    /// Takes alerts that were firing, and sent, before a restart (their state is in the tail
    /// checkpoint): they are not sent again as new, only their repeats go on — at once to an
    /// Alertmanager, which would otherwise resolve them by timeout.
    public func resume(_ firing: [AlertEvent]) {
        guard !closed.load(ordering: .acquiring) else { return }
        for event in firing where event.status == .firing {
            for worker in workers where worker.match.accepts(event) { worker.send(.resume(event)) }
        }
    }

    /// Sends what can be sent within `deadline`, leaves the rest in the spool, and closes the
    /// HTTP clients. Blocks the calling thread until then (at most `deadline` and the time to
    /// close connections). A second call returns at once.
    public func shutdown(deadline: Swift.Duration) {
        guard !closed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        let until = NIODeadline.now() + TimeAmount(deadline)
        for worker in workers { worker.send(.shutdown(deadline: until)) }
        for worker in workers { try? worker.stopped.wait() }
    }

    /// Without ``shutdown(deadline:)``, the HTTP clients are closed at once here; what was not
    /// delivered stays in the spool.
    deinit {
        shutdown(deadline: .zero)
    }

    /// `<name>-<hash of the URL>`: readable, stable across restarts, distinct for each endpoint,
    /// and without the URL itself (it may hold a token).
    static func spoolName(_ receiver: String, _ endpoint: Endpoint) -> String {
        let safe = String(receiver.unicodeScalars.map { $0.properties.isAlphabetic || ("0"..."9").contains($0) || "-_.".unicodeScalars.contains($0) ? Character($0) : "_" })
        return safe + "-" + AlertEvent.fingerprint(["receiver": receiver, "url": endpoint.url]).prefix(8)
    }
}
