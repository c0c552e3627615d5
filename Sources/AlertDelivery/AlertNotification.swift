import AlertRules

extension AlertEvent.Status: Codable {}

/// One alert event on its way to one receiver endpoint, as the spool keeps it: everything the
/// payloads need, so a notification spooled before a restart is sent as it would have been.
struct AlertNotification: Codable, Sendable, Equatable {
    /// Order of acceptance at this endpoint; names the spool file.
    var sequence: UInt64
    var status: AlertEvent.Status
    var rule: String
    var cluster: String
    var flags: [String]
    var count: Int
    var requests: Int
    var ratio: Double
    /// Seconds.
    var window: Int
    /// Microseconds since 1970.
    var startsAt: Int64
    var endsAt: Int64?
    var labels: [String: String]
    var annotations: [String: String]
    var fingerprint: String
    /// 0 for the event itself, n for its n-th re-send while it keeps firing.
    var repeatIndex: Int

    init(_ event: AlertEvent, sequence: UInt64) {
        self.sequence = sequence
        status = event.status
        rule = event.rule
        cluster = event.cluster
        flags = event.flags
        count = event.count
        requests = event.requests
        ratio = event.ratio
        window = event.window
        startsAt = event.startsAt
        endsAt = event.endsAt
        labels = event.labels
        annotations = event.annotations
        fingerprint = event.fingerprint
        repeatIndex = 0
    }

    var isRepeat: Bool { repeatIndex > 0 }

    /// The same for every attempt at this notification, so a receiver can drop a retry it has
    /// already handled: fingerprint and status, then the alert's start (a later incident of the
    /// same alert is news) and, for a re-send while firing, its number (a reminder is news too).
    var idempotencyKey: String {
        "\(fingerprint)-\(status.rawValue)-\(startsAt / 1_000_000)" + (isRepeat ? "-r\(repeatIndex)" : "")
    }
}
