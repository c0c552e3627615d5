import AlertRules
import Foundation
import Logging

/// What one endpoint's delivery task is told, in the order it happened.
enum DeliveryInput: Sendable {
    case event(AlertEvent)
    /// A timer went off: a group wait ended, a retry or a repeat is due.
    case wake
    case attempted(AttemptOutcome)
    case shutdown(deadline: ContinuousClock.Instant)
}

/// One endpoint's delivery: a single task owns the queue, the spool, the firing alerts and the
/// request in flight, and reacts to inputs. Requests and timers run as tasks of their own that
/// report back as inputs, so the loop never waits on the network and never needs a lock.
struct DeliveryLoop {
    /// A request carries at most this many notifications.
    static let maxBatch = 64

    struct Firing {
        var notification: AlertNotification
        var nextAt: ContinuousClock.Instant
        var every: Swift.Duration
    }

    /// A batch being sent or waiting for its next try; it keeps its content (and so its
    /// idempotency key) until it is delivered or refused.
    struct InFlight {
        var batch: [AlertNotification]
        var attempts = 0
        /// When the next try is due; nil while a request runs.
        var retryAt: ContinuousClock.Instant?
    }

    let client: EndpointClient
    let spool: Spool
    let statistics: StatisticsCell
    let inputs: AsyncStream<DeliveryInput>.Continuation
    let logger: Logger
    let redact: Redactor
    /// Seconds, by rule name.
    let repeatIntervals: [String: Int]

    var queue: DeliveryQueue
    var nextSequence: UInt64 = 1
    var firing: [String: Firing] = [:]
    var inFlight: InFlight?
    var request: Task<Void, Never>?
    var timer: (at: ContinuousClock.Instant, task: Task<Void, Never>)?
    var deadline: ContinuousClock.Instant?
    var random = SystemRandomNumberGenerator()

    var receiver: ReceiverConfig { client.receiver }

    mutating func run(_ stream: AsyncStream<DeliveryInput>) async {
        restore()
        advance()
        for await input in stream {
            handle(input)
            if isFinished { break }
            advance()
        }
        timer?.task.cancel()
        request?.cancel()
        let left = queue.count + (inFlight?.batch.count ?? 0)
        if left > 0 { log(.notice, "\(left) notification(s) not delivered before shutdown; they stay in the spool") }
        inputs.finish()
        await client.shutdown()
    }

    // MARK: Inputs

    mutating func handle(_ input: DeliveryInput) {
        switch input {
        case .event(let event):
            let notification = AlertNotification(event, sequence: 0)
            let now = ContinuousClock.now
            switch event.status {
            case .firing: firing[notification.fingerprint] = Firing(notification: notification, nextAt: now + repeatEvery(event.rule), every: repeatEvery(event.rule))
            case .resolved: firing[notification.fingerprint] = nil
            }
            enqueue(notification, readyAt: now + receiver.groupWait)
        case .wake:
            break
        case .attempted(let outcome):
            request = nil
            finishAttempt(outcome)
        case .shutdown(let deadline):
            self.deadline = deadline
        }
    }

    /// How often a firing alert is sent again: the rule's repeat interval; for Alertmanager at
    /// least every `resendInterval`, or it resolves the alert by itself.
    func repeatEvery(_ rule: String) -> Swift.Duration {
        // A rule the dispatcher was not given gets AlertRule's default, an hour.
        let interval = Swift.Duration.seconds(repeatIntervals[rule] ?? 3600)
        return receiver.kind == .alertmanager ? min(interval, receiver.resendInterval) : interval
    }

    mutating func enqueue(_ notification: AlertNotification, readyAt: ContinuousClock.Instant) {
        var notification = notification
        notification.sequence = nextSequence
        nextSequence += 1
        do {
            try spool.write(notification)
        } catch {
            log(.error, "cannot spool a notification to \(spool.directory) (it is kept in memory only): \(error)")
        }
        if let dropped = queue.append(Pending(notification: notification, readyAt: readyAt)) {
            spool.remove(dropped)
            statistics.update { $0.dropped += 1 }
            log(.warning, "queue full (\(queue.capacity)): dropped the \(dropped.isRepeat ? "repeat" : "notification") of \(dropped.status.rawValue) \(dropped.rule) on \(dropped.cluster)")
        }
        updateQueued()
    }

    mutating func finishAttempt(_ outcome: AttemptOutcome) {
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
            flight.retryAt = .now + delay
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
        let now = ContinuousClock.now
        if now >= deadline || (queue.isEmpty && inFlight == nil) { return true }
        // Waiting for a retry past the deadline: the spool keeps the rest.
        if request == nil, let retryAt = inFlight?.retryAt, retryAt > deadline { return true }
        return false
    }

    /// Queues due repeats, starts what may start, and sets the timer for the next thing due.
    mutating func advance() {
        let now = ContinuousClock.now
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
        var wakeAt: [ContinuousClock.Instant] = [deadline, request == nil ? inFlight?.retryAt : nil].compactMap { $0 }
        if inFlight == nil, deadline == nil, let readyAt = queue.readyAt { wakeAt.append(readyAt) }
        if deadline == nil, let repeatAt = firing.values.map(\.nextAt).min() { wakeAt.append(repeatAt) }
        setTimer(wakeAt.min())
    }

    /// A firing alert is sent again when its interval has passed, unless a notification of it
    /// is still waiting (then the receiver will hear of it anyway).
    mutating func queueRepeats(_ now: ContinuousClock.Instant) {
        for (fingerprint, alert) in firing where alert.nextAt <= now {
            firing[fingerprint]?.nextAt = now + alert.every
            let waiting = queue.holds(fingerprint: fingerprint) || inFlight?.batch.contains { $0.fingerprint == fingerprint } == true
            guard !waiting else { continue }
            firing[fingerprint]?.notification.repeatIndex += 1
            if let repeated = firing[fingerprint]?.notification { enqueue(repeated, readyAt: now) }
        }
    }

    mutating func startAttempt() {
        guard var flight = inFlight else { return }
        flight.attempts += 1
        inFlight = flight
        statistics.update { $0.attempts += 1 }
        let (client, inputs, batch) = (client, inputs, flight.batch)
        request = Task {
            let outcome = await client.attempt(batch)
            inputs.yield(.attempted(outcome))
        }
    }

    mutating func setTimer(_ instant: ContinuousClock.Instant?) {
        guard timer?.at != instant else { return }
        timer?.task.cancel()
        timer = nil
        guard let instant else { return }
        let inputs = inputs
        timer = (instant, Task {
            guard (try? await Task.sleep(until: instant, clock: .continuous)) != nil else { return }
            inputs.yield(.wake)
        })
    }

    // MARK: Start

    /// Queues what an earlier run left in the spool, ready at once.
    mutating func restore() {
        let (notifications, unreadable) = spool.load()
        for path in unreadable { log(.error, "unreadable spool file set aside: \(path).unreadable") }
        guard !notifications.isEmpty else { return }
        let now = ContinuousClock.now
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
