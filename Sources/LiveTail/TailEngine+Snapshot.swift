import AccessLogFormat
import FailureCauses
import FlagAggregation
import RecordCounting

/// Snapshot publishing: what the metrics endpoint and a terminal view (other threads) show.
extension TailEngine {
    func publishSnapshot(at now: Double) {
        lastPublished = now
        let alerts = alerting.evaluator.activeAlerts.map { alert in
            LiveSnapshot.Alert(rule: alert.rule, cluster: counter.keyName(alert.key), cause: alert.cause, state: alert.state, since: alert.since)
        }
        let watched = Set(options.rules.flatMap(\.flagCodes)).sorted()
        let snapshot = LiveSnapshot(statistics: statistics, totals: totals, alerts: alerts, watchedFlags: watched, takenAt: now,
                                    activity: options.activity.flatMap(activity))
        published.latest.withLock { $0 = snapshot }
    }

    /// The recent keys' windows, read off the rules' rings: no second count on the hot path.
    /// Costs one pass over each recent key's ring per snapshot.
    private func activity(_ request: TailOptions.ActivityRequest) -> LiveSnapshot.Activity? {
        let last = alerting.clockSecond
        guard last != .min else { return nil }
        let windows = alerting.windows
        let mask = options.rules.reduce(ResponseFlags.upstreamFailures) { $0.union($1.flags) }.rawValue
        let window = min(request.window, windows.horizon)
        let keys = windows.activeKeys(endingAt: last).compactMap { id -> LiveSnapshot.KeyActivity? in
            guard let seen = windows.activity(key: id, mask: mask, seconds: request.seconds, window: window, endingAt: last) else { return nil }
            var flags: [String: Int] = [:]
            var causes: [String: Int] = [:]
            for set in seen.sets {
                for flag in ResponseFlags(rawValue: set.flags).members { flags[flag.shortCode, default: 0] += Int(set.count) }
                if let cause = FailureCause(rawValue: set.tag) { causes[cause.name, default: 0] += Int(set.count) }
            }
            let inWindow = seen.requests.count - window
            return LiveSnapshot.KeyActivity(
                name: counter.keyName(id), requests: seen.requests[inWindow...].reduce(0) { $0 + Int($1) },
                failures: seen.flagged[inWindow...].reduce(0) { $0 + Int($1) }, flags: flags, causes: causes,
                requestSeries: seen.requests, failureSeries: seen.flagged)
        }
        let filling = Int(clamping: last - alerting.firstSecond + 1)
        return LiveSnapshot.Activity(clockSecond: last, windowSeconds: max(1, min(window, filling)), keys: keys)
    }
}
