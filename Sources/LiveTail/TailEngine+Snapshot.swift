import RecordCounting

/// Snapshot publishing: what the metrics endpoint (another thread) shows.
extension TailEngine {
    func publishSnapshot(at now: Double) {
        lastPublished = now
        let alerts = alerting.evaluator.activeAlerts.map { alert in
            LiveSnapshot.Alert(rule: alert.rule, cluster: counter.keyName(alert.key), cause: alert.cause, state: alert.state, since: alert.since)
        }
        let watched = Set(options.rules.flatMap(\.flagCodes)).sorted()
        let snapshot = LiveSnapshot(statistics: statistics, totals: totals, alerts: alerts, watchedFlags: watched, takenAt: now)
        published.latest.withLock { $0 = snapshot }
    }
}
