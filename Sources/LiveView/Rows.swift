import FailureCauses
import RecordCounting

/// One key as the list shows it: its window, and the alerts on it.
public struct Row: Sendable {
    public var activity: LiveSnapshot.KeyActivity
    /// The name after the terminal rule: what is shown, and what the filter matches.
    public var shownName: String
    public var alerts: [LiveSnapshot.Alert]
    public var requestsPerSecond: Double

    /// The worst alert: firing before pending, the oldest first.
    public var alert: LiveSnapshot.Alert? {
        alerts.min { ($0.state == .firing ? 0 : 1, $0.since) < ($1.state == .firing ? 0 : 1, $1.since) }
    }

    /// The cause most failures in the window have.
    public var cause: FailureCause? { FailureCause.dominant(byName: activity.causes)?.cause }

    /// Flag codes, most counted first.
    public var flagCodes: [String] {
        activity.flags.sorted { ($1.value, $0.key) < ($0.value, $1.key) }.map(\.key)
    }
}

extension Row {
    /// The snapshot's keys, filtered and sorted as `state` says.
    public static func rows(_ snapshot: LiveSnapshot, _ state: ViewState) -> [Row] {
        guard let activity = snapshot.activity else { return [] }
        let alerts = Dictionary(grouping: snapshot.alerts, by: \.cluster)
        let filter = state.filter.lowercased()
        let seconds = Double(activity.windowSeconds)
        var rows: [Row] = []
        for key in activity.keys {
            let shown = Terminal.sanitized(key.name)
            if !filter.isEmpty, !shown.lowercased().contains(filter) { continue }
            rows.append(Row(activity: key, shownName: shown, alerts: alerts[key.name] ?? [],
                            requestsPerSecond: Double(key.requests) / seconds))
        }
        switch state.sort {
        case .ratio:
            rows.sort {
                let (a, b) = ($0.activity, $1.activity)
                return (b.ratio, b.failures, b.requests, $0.activity.name) < (a.ratio, a.failures, a.requests, $1.activity.name)
            }
        case .rate:
            rows.sort { ($1.activity.requests, $0.activity.name) < ($0.activity.requests, $1.activity.name) }
        }
        return rows
    }
}
