import AlertRules
import Foundation
import Logging
import NIOCore
import NIOPosix
import Dispatch
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
        /// The receiver's name and the endpoint's place in it: what a reload matches on.
        var id: String
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

    /// An endpoint's settings, checked, before any client exists for it (a client must be shut
    /// down once made).
    private struct Plan {
        var id: String
        var settings: EndpointClient.Settings
        var spool: Spool
        var redact: Redactor
    }

    private let workers = Mutex<[Worker]>([])
    /// Workers a reload removed, finishing what they had in flight.
    private let retired = Mutex<[EventLoopFuture<Void>]>([])
    private let closed = Atomic<Bool>(false)
    private let stateDirectory: String
    private let logger: Logger

    /// - Parameters:
    ///   - receivers: names must be unique (they name the spool directories).
    ///   - rules: the rules in force, for their repeat intervals.
    ///   - stateDirectory: created if missing.
    /// Call it from a plain thread or a task, not from a NIO event loop.
    /// - Throws: ``ReceiverConfigError`` for duplicate names or an unreadable CA file; an error
    ///   of the file system if the spool cannot be created.
    public init(receivers: [ReceiverConfig], rules: [AlertRule], stateDirectory: String, logger: Logger) throws {
        self.stateDirectory = stateDirectory
        self.logger = logger
        try reload(receivers: receivers, rules: rules)
    }

    /// Takes new receivers and rules (SIGHUP). An endpoint at the same place in a receiver of the
    /// same name keeps its queue, its spool and its firing alerts, and sends them, and what comes
    /// next, with the new URL, secrets, TLS, timeouts and repeat intervals; a receiver's new match
    /// applies to the events submitted from now on. An endpoint no longer named sends what it can
    /// within 5 seconds and leaves the rest in its spool. Nothing changes when this throws.
    /// Call it from a plain thread or a task, not from a NIO event loop.
    public func reload(receivers: [ReceiverConfig], rules: [AlertRule]) throws {
        var names: Set<String> = []
        for receiver in receivers where !names.insert(receiver.name).inserted {
            throw ReceiverConfigError(message: "two receivers are named '\(receiver.name)'")
        }
        let repeatIntervals = Dictionary(rules.map { ($0.name, $0.repeatInterval) }, uniquingKeysWith: { first, _ in first })
        // Everything that can fail comes first.
        var plans: [Plan] = []
        for receiver in receivers {
            let redact = Redactor(receiver.secrets)
            for (index, endpoint) in receiver.endpoints.enumerated() {
                let spool = try Spool(directory: "\(stateDirectory)/spool/\(AlertDispatcher.spoolName(receiver.name, endpoint))")
                plans.append(Plan(id: "\(receiver.name)#\(index)", settings: try EndpointClient.Settings(receiver, endpoint), spool: spool, redact: redact))
            }
        }
        for receiver in receivers where receiver.tls.insecureSkipVerify {
            logger.warning("receiver '\(receiver.name)': TLS certificates are NOT verified (tls.insecureSkipVerify): anyone on the network path can read and forge its alerts and credentials")
        }
        let group = MultiThreadedEventLoopGroup.singleton
        let logger = logger
        try workers.withLock { current in
            var next: [Worker] = []
            for plan in plans {
                let setup = DeliverySetup(client: EndpointClient(plan.settings, eventLoopGroup: group), spool: plan.spool,
                                          redact: plan.redact, repeatIntervals: repeatIntervals)
                if var worker = current.first(where: { $0.id == plan.id }) {
                    worker.match = plan.settings.receiver.match
                    worker.send(.reconfigure(setup))
                    next.append(worker)
                    continue
                }
                let statistics = StatisticsCell(ReceiverStatistics(receiver: plan.settings.receiver.name, endpoint: plan.settings.endpoint.display))
                let eventLoop = group.next()
                // The loop is made on its event loop, and lives there.
                let loop = eventLoop.submit {
                    let loop = DeliveryLoop(eventLoop: eventLoop, setup: setup, statistics: statistics, logger: logger)
                    loop.start()
                    return loop.bound
                }
                // The loop's creation needs nothing but its event loop, and this thread is not one.
                next.append(Worker(id: plan.id, loop: try loop.wait(), eventLoop: eventLoop, statistics: statistics,
                                   match: plan.settings.receiver.match, stopped: loop.flatMap { $0.value.stopped.futureResult }))
            }
            let removed = current.filter { worker in !next.contains { $0.id == worker.id } }
            for worker in removed { worker.send(.shutdown(deadline: .now() + .seconds(5))) }
            retired.withLock { $0 += removed.map(\.stopped) }
            current = next
        }
    }

    /// Hands `event` to every receiver whose `match` accepts it, and returns at once: it
    /// enqueues a task on each matching endpoint's event loop and does nothing else — no file,
    /// no network, no lock that a request holds. Safe from any thread, including one that is
    /// not part of Swift concurrency. Events submitted after ``shutdown(deadline:)`` are ignored.
    public func submit(_ event: AlertEvent) {
        _ = hand([event], confirming: false)
    }

    /// Hands `events` over as ``submit(_:)`` does, then waits until every matching endpoint has
    /// written them to its spool and flushed it to the disk — accepted: from then on a crash
    /// (of flagwatch or of the machine) does not lose them — or until `timeout` has passed.
    /// It waits for the disk, never for the network. Returns whether all were accepted in time.
    /// Call it from a plain thread, not from a NIO event loop.
    public func submit(_ events: [AlertEvent], waitingUpTo timeout: Swift.Duration) -> Bool {
        let accepted = hand(events, confirming: true)
        guard !accepted.isEmpty else { return true }
        let done = DispatchSemaphore(value: 0)
        let all = EventLoopFuture.andAllSucceed(accepted, on: accepted[0].eventLoop)
        all.whenComplete { _ in done.signal() }
        let nanoseconds = timeout.components.seconds * 1_000_000_000 + timeout.components.attoseconds / 1_000_000_000
        guard done.wait(timeout: .now() + .nanoseconds(Int(nanoseconds))) == .success else { return false }
        return (try? all.wait()) != nil
    }

    /// Sends each event to the workers that match it; `confirming`, with a promise per sending
    /// that its worker fulfils once the spool holds it.
    private func hand(_ events: [AlertEvent], confirming: Bool) -> [EventLoopFuture<Void>] {
        guard !closed.load(ordering: .acquiring) else { return [] }
        return workers.withLock { workers in
            var futures: [EventLoopFuture<Void>] = []
            for event in events {
                for worker in workers where worker.match.accepts(event) {
                    let promise = confirming ? worker.eventLoop.makePromise(of: Void.self) : nil
                    worker.send(.event(event, spooled: promise))
                    if let promise { futures.append(promise.futureResult) }
                }
            }
            return futures
        }
    }

    /// One entry per receiver endpoint (an `alertmanager` receiver with three URLs has three),
    /// read at this moment; safe from any thread.
    public var statistics: [ReceiverStatistics] {
        workers.withLock { $0.map(\.statistics.snapshot) }
    }

    /// Takes alerts that were firing, and sent, before a restart (their state is in the tail
    /// checkpoint): they are not sent again as new, only their repeats go on — at once to an
    /// Alertmanager, which would otherwise resolve them by timeout.
    public func resume(_ firing: [AlertEvent]) {
        guard !closed.load(ordering: .acquiring) else { return }
        workers.withLock { workers in
            for event in firing where event.status == .firing {
                for worker in workers where worker.match.accepts(event) { worker.send(.resume(event)) }
            }
        }
    }

    /// Sends what can be sent within `deadline`, leaves the rest in the spool, and closes the
    /// HTTP clients. Blocks the calling thread until then (at most `deadline` and the time to
    /// close connections). A second call returns at once.
    public func shutdown(deadline: Swift.Duration) {
        guard !closed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        let until = NIODeadline.now() + TimeAmount(deadline)
        let stopping = workers.withLock { workers in
            for worker in workers { worker.send(.shutdown(deadline: until)) }
            return workers.map(\.stopped)
        }
        for stopped in stopping + retired.withLock({ $0 }) { try? stopped.wait() }
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
