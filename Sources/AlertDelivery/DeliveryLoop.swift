import AlertRules
import AsyncHTTPClient
import Foundation
import Logging
import NIOCore

/// What one endpoint's delivery is told, in the order it happened.
enum DeliveryInput: Sendable {
    /// `spooled` is fulfilled once the notification is on disk, failed if it could not be.
    case event(AlertEvent, spooled: EventLoopPromise<Void>?)
    /// An alert that was firing, and sent, before a restart: only its repeats are due.
    case resume(AlertEvent)
    /// A timer went off: a group wait ended, a retry or a repeat is due.
    case wake
    case attempted(AttemptOutcome)
    case shutdown(deadline: NIODeadline)
    /// The receiver's settings changed (SIGHUP).
    case reconfigure(DeliverySetup)
}

/// What an endpoint's delivery is configured with; a reload hands it a new one.
struct DeliverySetup: Sendable {
    var client: EndpointClient
    var spool: Spool
    var redact: Redactor
    /// Seconds, by rule name.
    var repeatIntervals: [String: Int]
}

/// One endpoint's delivery. It lives on one NIO event loop and owns the queue, the spool, the
/// firing alerts and the request in flight; inputs reach it as tasks on that loop, requests and
/// timers report back the same way. So it needs no lock, never waits on the network, and does
/// not depend on Swift concurrency's thread pool, which the program may have busy or blocked.
final class DeliveryLoop {
    /// A request carries at most this many notifications.
    static let maxBatch = 64

    struct Firing {
        var notification: AlertNotification
        var nextAt: NIODeadline
        var every: TimeAmount
    }

    /// A batch being sent or waiting for its next try; it keeps its content (and so its
    /// idempotency key) until it is delivered or refused.
    struct InFlight {
        var batch: [AlertNotification]
        var attempts = 0
        /// When the next try is due; nil while a request runs.
        var retryAt: NIODeadline?
    }

    let eventLoop: EventLoop
    var client: EndpointClient
    /// A reload's client, waiting for the request in flight on the old one to end.
    var nextClient: EndpointClient?
    var spool: Spool
    let statistics: StatisticsCell
    let logger: Logger
    var redact: Redactor
    /// Seconds, by rule name.
    var repeatIntervals: [String: Int]
    /// Succeeds once the loop has stopped and its HTTP client is closed.
    let stopped: EventLoopPromise<Void>

    var queue: DeliveryQueue
    var nextSequence: UInt64 = 1
    var firing: [String: Firing] = [:]
    var inFlight: InFlight?
    /// The request running now, if one is.
    var request: HTTPClient.Task<AttemptOutcome>?
    var timer: (at: NIODeadline, task: Scheduled<Void>)?
    var deadline: NIODeadline?
    var isStopped = false
    var random = SystemRandomNumberGenerator()

    init(eventLoop: EventLoop, setup: DeliverySetup, statistics: StatisticsCell, logger: Logger) {
        self.eventLoop = eventLoop
        client = setup.client
        spool = setup.spool
        redact = setup.redact
        repeatIntervals = setup.repeatIntervals
        self.statistics = statistics
        self.logger = logger
        stopped = eventLoop.makePromise()
        queue = DeliveryQueue(capacity: setup.client.receiver.queueCapacity)
    }

    var receiver: ReceiverConfig { client.receiver }
    /// This loop, to hand to callbacks that run on its event loop.
    var bound: NIOLoopBound<DeliveryLoop> { NIOLoopBound(self, eventLoop: eventLoop) }

    /// Sends what an earlier run left in the spool; then waits for inputs.
    func start() {
        restore()
        advance()
    }

    func receive(_ input: DeliveryInput) {
        guard !isStopped else { return }
        handle(input)
        if isFinished { stop() } else { advance() }
    }

    // MARK: Inputs

    func handle(_ input: DeliveryInput) {
        switch input {
        case .event(let event, let spooled):
            let notification = AlertNotification(event, sequence: 0)
            let now = NIODeadline.now()
            switch event.status {
            case .firing:
                let every = repeatEvery(event.rule)
                firing[notification.fingerprint] = Firing(notification: notification, nextAt: now + every, every: every)
            case .resolved:
                firing[notification.fingerprint] = nil
            }
            let written = enqueue(notification, readyAt: now + TimeAmount(receiver.groupWait))
            if written { spooled?.succeed() } else { spooled?.fail(POSIXError(.EIO)) }
        case .resume(let event):
            let notification = AlertNotification(event, sequence: 0)
            let every = repeatEvery(event.rule)
            // Alertmanager forgets an alert not re-sent within its resolve timeout: remind it at
            // once. Other receivers heard of it before the restart.
            let first = receiver.kind == .alertmanager ? NIODeadline.now() : NIODeadline.now() + every
            firing[notification.fingerprint] = Firing(notification: notification, nextAt: first, every: every)
        case .wake:
            break
        case .attempted(let outcome):
            request = nil
            finishAttempt(outcome)
            if let next = nextClient {
                _ = client.shutdown()
                client = next
                nextClient = nil
            }
        case .shutdown(let deadline):
            self.deadline = deadline
        case .reconfigure(let setup):
            reconfigure(setup)
        }
    }

    /// Queued and firing notifications stay, and go out under the new settings: a moved spool
    /// (the URL changed) takes its files along, a firing alert's next repeat follows its rule's
    /// new interval from the last one sent.
    func reconfigure(_ setup: DeliverySetup) {
        if setup.spool.directory != spool.directory {
            do {
                try spool.move(to: setup.spool)
                spool = setup.spool
            } catch {
                log(.error, "cannot move the spool to \(setup.spool.directory) (it stays in \(spool.directory)): \(error)")
            }
        }
        redact = setup.redact
        repeatIntervals = setup.repeatIntervals
        if request == nil {
            _ = client.shutdown()
            client = setup.client
        } else {
            _ = nextClient?.shutdown()
            nextClient = setup.client
        }
        let receiver = setup.client.receiver
        for (fingerprint, alert) in firing {
            let every = repeatEvery(alert.notification.rule, for: receiver)
            firing[fingerprint]?.every = every
            firing[fingerprint]?.nextAt = alert.nextAt - alert.every + every
        }
        statistics.update { $0.endpoint = setup.client.endpoint.display }
        log(.info, "receiver settings reloaded")
    }

    /// How often a firing alert is sent again: the rule's repeat interval; for Alertmanager at
    /// least every `resendInterval`, or it resolves the alert by itself.
    func repeatEvery(_ rule: String, for receiver: ReceiverConfig? = nil) -> TimeAmount {
        let receiver = receiver ?? self.receiver
        // A rule the dispatcher was not given gets AlertRule's default, an hour.
        let interval = TimeAmount.seconds(Int64(repeatIntervals[rule] ?? 3600))
        return receiver.kind == .alertmanager ? min(interval, TimeAmount(receiver.resendInterval)) : interval
    }

    /// Returns whether the notification is in the spool.
    @discardableResult
    func enqueue(_ notification: AlertNotification, readyAt: NIODeadline) -> Bool {
        var notification = notification
        notification.sequence = nextSequence
        nextSequence += 1
        var written = true
        do {
            try spool.write(notification)
        } catch {
            written = false
            log(.error, "cannot spool a notification to \(spool.directory) (it is kept in memory only): \(error)")
        }
        if let dropped = queue.append(Pending(notification: notification, readyAt: readyAt)) {
            spool.remove(dropped)
            statistics.update { $0.dropped += 1 }
            log(.warning, "queue full (\(queue.capacity)): dropped the \(dropped.isRepeat ? "repeat" : "notification") of \(dropped.status.rawValue) \(dropped.rule) on \(dropped.cluster)")
        }
        updateQueued()
        return written
    }

    func finishAttempt(_ outcome: AttemptOutcome) {
        guard var flight = inFlight else { return }
        let batch = flight.batch
        switch outcome {
        case .delivered:
            for notification in batch { spool.remove(notification) }
            statistics.update { $0.sent += batch.count }
            if flight.attempts > 1 { log(.info, "delivered \(batch.count) notification(s) after \(flight.attempts) attempts") }
            inFlight = nil
        case .retry(let reason, let retryAfter, let detail):
            let delay = receiver.retry.delay(afterAttempt: flight.attempts, retryAfter: retryAfter, using: &random)
            flight.retryAt = .now() + TimeAmount(delay)
            inFlight = flight
            statistics.update {
                $0.retried += 1
                switch reason {
                case .network: $0.networkErrors += 1
                case .timeout: $0.timeouts += 1
                case .serverError: $0.serverErrors += 1
                case .throttled: $0.throttled += 1
                }
            }
            // The first failure and then ever rarer ones: a receiver down for an hour logs a few lines.
            let level: Logger.Level = flight.attempts & (flight.attempts - 1) == 0 ? .warning : .debug
            log(level, "attempt \(flight.attempts) failed (\(detail)); next in \(delay.seconds)")
        case .rejected(let status, let body):
            for notification in batch { spool.remove(notification) }
            statistics.update {
                $0.failed += batch.count
                if (400..<500).contains(status) { $0.clientErrors += 1 }
            }
            log(.error, "HTTP \(status): \(batch.count) notification(s) refused, not retried; response: \(body.isEmpty ? "(empty)" : body)")
            inFlight = nil
        }
        updateQueued()
    }

    // MARK: Progress

    /// Shutting down, and nothing more can be sent before the deadline.
    var isFinished: Bool {
        guard let deadline else { return false }
        if NIODeadline.now() >= deadline || (queue.isEmpty && inFlight == nil) { return true }
        // Waiting for a retry past the deadline: the spool keeps the rest.
        if request == nil, let retryAt = inFlight?.retryAt, retryAt > deadline { return true }
        return false
    }

    /// Queues due repeats, starts what may start, and sets the timer for the next thing due.
    func advance() {
        let now = NIODeadline.now()
        if deadline == nil { queueRepeats(now) }
        if var flight = inFlight, request == nil, let retryAt = flight.retryAt, retryAt <= now {
            flight.retryAt = nil
            inFlight = flight
            startAttempt()
        }
        if inFlight == nil, let readyAt = queue.readyAt, readyAt <= now || deadline != nil {
            inFlight = InFlight(batch: queue.takeBatch(limit: DeliveryLoop.maxBatch))
            startAttempt()
        }
        var wakeAt: [NIODeadline] = [deadline, request == nil ? inFlight?.retryAt : nil].compactMap { $0 }
        if inFlight == nil, deadline == nil, let readyAt = queue.readyAt { wakeAt.append(readyAt) }
        if deadline == nil, let repeatAt = firing.values.map(\.nextAt).min() { wakeAt.append(repeatAt) }
        setTimer(wakeAt.min())
    }

    /// A firing alert is sent again when its interval has passed, unless a notification of it
    /// is still waiting (then the receiver will hear of it anyway).
    func queueRepeats(_ now: NIODeadline) {
        for (fingerprint, alert) in firing where alert.nextAt <= now {
            firing[fingerprint]?.nextAt = now + alert.every
            let waiting = queue.holds(fingerprint: fingerprint) || inFlight?.batch.contains { $0.fingerprint == fingerprint } == true
            guard !waiting else { continue }
            firing[fingerprint]?.notification.repeatIndex += 1
            if let repeated = firing[fingerprint]?.notification { enqueue(repeated, readyAt: now) }
        }
    }

    func startAttempt() {
        guard var flight = inFlight else { return }
        flight.attempts += 1
        inFlight = flight
        statistics.update { $0.attempts += 1 }
        let (task, outcome) = client.attempt(flight.batch, on: eventLoop)
        request = task
        let bound = bound
        outcome.whenSuccess { bound.value.receive(.attempted($0)) }
    }

    func setTimer(_ deadline: NIODeadline?) {
        guard timer?.at != deadline else { return }
        timer?.task.cancel()
        timer = nil
        guard let deadline else { return }
        let bound = bound
        timer = (deadline, eventLoop.scheduleTask(deadline: deadline) {
            bound.value.timer = nil
            bound.value.receive(.wake)
        })
    }

    /// Cancels the timer and the request in flight (the spool keeps its notifications; a
    /// receiver that got it anyway sees the same key again after a restart) and closes the client.
    func stop() {
        isStopped = true
        timer?.task.cancel()
        request?.cancel()
        let left = queue.count + (inFlight?.batch.count ?? 0)
        if left > 0 { log(.notice, "\(left) notification(s) not delivered before shutdown; they stay in the spool") }
        _ = nextClient?.shutdown()
        client.shutdown().whenComplete { [stopped] _ in stopped.succeed() }
    }

    // MARK: Start

    /// Queues what an earlier run left in the spool, ready at once.
    func restore() {
        let (notifications, unreadable) = spool.load()
        for path in unreadable { log(.error, "unreadable spool file set aside: \(path).unreadable") }
        guard !notifications.isEmpty else { return }
        let now = NIODeadline.now()
        nextSequence = (notifications.last?.sequence ?? 0) + 1
        for notification in notifications {
            if let dropped = queue.append(Pending(notification: notification, readyAt: now)) {
                spool.remove(dropped)
                statistics.update { $0.dropped += 1 }
            }
        }
        statistics.update { $0.restored += notifications.count }
        log(.info, "\(notifications.count) undelivered notification(s) from the spool")
        updateQueued()
    }

    func updateQueued() {
        let queued = queue.count + (inFlight?.batch.count ?? 0)
        statistics.update { $0.queued = queued }
    }

    func log(_ level: Logger.Level, _ message: String) {
        logger.log(level: level, "\(redact(message))", metadata: ["receiver": "\(receiver.name)", "endpoint": "\(client.endpoint.display)"])
    }
}

extension Swift.Duration {
    /// `1.5s`, for log lines.
    var seconds: String {
        String(format: "%.1fs", Double(components.seconds) + Double(components.attoseconds) / 1e18)
    }
}
