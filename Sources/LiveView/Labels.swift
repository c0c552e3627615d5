import RecordCounting

/// Short texts the list, the detail and the compact table share.
enum Labels {
    /// `45s`, `2m05s`, `3h07m`.
    static func duration(micros: Int64) -> String {
        let seconds = max(0, micros / 1_000_000)
        if seconds < 60 { return "\(seconds)s" }
        if seconds < 3600 { return "\(seconds / 60)m" + pad2(seconds % 60) + "s" }
        return "\(seconds / 3600)h" + pad2(seconds / 60 % 60) + "m"
    }

    private static func pad2(_ n: Int64) -> String { n < 10 ? "0\(n)" : "\(n)" }

    /// `FIRING 2m05s` / `pending 12s`: the state and for how long, at `now` (microseconds).
    static func alert(_ alert: LiveSnapshot.Alert?, now: Int64) -> String {
        guard let alert else { return "" }
        return (alert.state == .firing ? "FIRING " : "pending ") + duration(micros: now - alert.since)
    }

    /// `123.4`, `12.3k`: a rate in few columns.
    static func rate(_ value: Double) -> String {
        if value >= 100_000 { return "\(Int((value / 1000).rounded()))k" }
        if value >= 10_000 { return "\(Int(value.rounded()))" }
        let tenths = Int((value * 10).rounded())
        return "\(tenths / 10).\(tenths % 10)"
    }

    /// The newest second counted, in microseconds: the view's "now", on the clock alerts use.
    static func now(_ snapshot: LiveSnapshot) -> Int64 {
        snapshot.activity.map { $0.clockSecond * 1_000_000 } ?? Int64(snapshot.takenAt * 1_000_000)
    }

    /// `2 firing, 1 pending` over every key.
    static func alertCounts(_ alerts: [LiveSnapshot.Alert]) -> String {
        let firing = alerts.filter { $0.state == .firing }.count
        return "\(firing) firing, \(alerts.count - firing) pending"
    }
}
