import NIOCore

/// A notification waiting to be sent, and when its group wait ends.
struct Pending {
    var notification: AlertNotification
    var readyAt: NIODeadline
}

/// One endpoint's waiting notifications, oldest first, bounded: past its capacity the oldest
/// firing repeat goes first (the receiver has heard of that alert already), else the oldest.
struct DeliveryQueue {
    let capacity: Int
    private(set) var items: [Pending] = []

    init(capacity: Int) {
        self.capacity = max(capacity, 1)
    }

    var isEmpty: Bool { items.isEmpty }
    var count: Int { items.count }
    /// When the oldest notification may go (each later one arrived later).
    var readyAt: NIODeadline? { items.first?.readyAt }

    /// Appends `pending`; returns the notification dropped to make room, if one was.
    mutating func append(_ pending: Pending) -> AlertNotification? {
        items.append(pending)
        guard items.count > capacity else { return nil }
        let victim = items.firstIndex { $0.notification.isRepeat } ?? 0
        return items.remove(at: victim).notification
    }

    func holds(fingerprint: String) -> Bool {
        items.contains { $0.notification.fingerprint == fingerprint }
    }

    /// Removes and returns up to `limit` notifications in order, at most one per alert: a
    /// firing and its resolution never share a request, so they cannot arrive out of order.
    mutating func takeBatch(limit: Int) -> [AlertNotification] {
        var batch: [AlertNotification] = []
        var seen: Set<String> = []
        var kept: [Pending] = []
        for item in items {
            if batch.count < limit, seen.insert(item.notification.fingerprint).inserted {
                batch.append(item.notification)
            } else {
                seen.insert(item.notification.fingerprint)
                kept.append(item)
            }
        }
        items = kept
        return batch
    }
}
