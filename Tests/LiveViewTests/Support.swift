import FailureCauses
import RecordCounting

/// Snapshots built by hand, as the engine would publish them.
enum Fixture {
    static let clockSecond: Int64 = 1_800_000_000

    static func key(_ name: String, requests: Int, failures: Int, flags: [String: Int] = [:], causes: [String: Int] = [:]) -> LiveSnapshot.KeyActivity {
        var failureSeries = Array(repeating: UInt32(0), count: 180)
        failureSeries[179] = UInt32(failures)
        var requestSeries = Array(repeating: UInt32(0), count: 180)
        requestSeries[179] = UInt32(requests)
        return LiveSnapshot.KeyActivity(name: name, requests: requests, failures: failures, flags: flags, causes: causes,
                                        requestSeries: requestSeries, failureSeries: failureSeries)
    }

    static let spiking = "outbound|8000||payments.shop.svc.cluster.local"
    static let busy = "outbound|80||frontend.shop.svc.cluster.local"
    static let calm = "outbound|9080||reviews.shop.svc.cluster.local"

    /// Three keys: one failing often (firing), one busy with a few failures, one calm.
    static func snapshot(extra: [LiveSnapshot.KeyActivity] = []) -> LiveSnapshot {
        let keys = [
            key(busy, requests: 6000, failures: 60, flags: ["UH": 60], causes: ["no-healthy-upstream": 60]),
            key(calm, requests: 600, failures: 0),
            key(spiking, requests: 1200, failures: 600, flags: ["UF": 600, "URX": 100], causes: ["connection-refused": 600]),
        ] + extra
        var totals = FlagTotals()
        for key in keys {
            var total = KeyTotals(requests: key.requests * 2, upstreamFailures: key.failures, flags: key.flags, causes: key.causes)
            for cause in key.causes.keys {
                total.causeSamples[cause] = CauseSample(line: "[2027-01-15T08:00:00.000Z] \"GET /pay\" 503 UF sample-of-\(cause)",
                                                       file: "access.log", lineNumber: 42, inputOrder: 0)
            }
            totals.keys[key.name] = total
        }
        let alerts = [
            LiveSnapshot.Alert(rule: "UpstreamFailure", cluster: spiking, cause: "connection-refused", state: .firing,
                               since: (clockSecond - 124) * 1_000_000),
            LiveSnapshot.Alert(rule: "NoHealthyUpstream", cluster: busy, cause: "no-healthy-upstream", state: .pending,
                               since: (clockSecond - 11) * 1_000_000),
        ]
        return LiveSnapshot(statistics: LiveStatistics(counters: LiveCounters()), totals: totals, alerts: alerts,
                            watchedFlags: ["UF", "UH", "URX"], takenAt: Double(clockSecond),
                            activity: LiveSnapshot.Activity(clockSecond: clockSecond, windowSeconds: 60, keys: keys))
    }
}
