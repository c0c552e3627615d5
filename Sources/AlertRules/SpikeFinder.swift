import FlagAggregation

/// One firing episode found in history: from when the condition began to hold to when the
/// alert resolved.
public struct Spike: Sendable, Equatable {
    public var rule: String
    public var cluster: String
    public var flags: [String]
    /// Microseconds since 1970.
    public var start: Int64
    public var end: Int64
    public var peakCount: Int
    public var peakRatio: Double
    /// Flagged records and requests from the start of the first breaching window to `end`.
    public var count: Int
    public var requests: Int
}

/// Replays rules over merged per-bucket counts in time order.
///
/// The counts are sums, so they do not depend on how the input was split over threads or
/// files, and neither do the spikes. Stretches with no flagged record are skipped.
public enum SpikeFinder {
    public static func find(_ series: [String: KeySeries], rules: [AlertRule], resolutionSeconds: Int)
        -> (spikes: [Spike], events: [AlertEvent])
    {
        var spikes: [Spike] = []
        var events: [AlertEvent] = []
        let resolution = Int64(resolutionSeconds) * 1_000_000
        for (key, keySeries) in series.sorted(by: { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }) {
            guard let range = keySeries.bucketRange else { continue }
            for (index, rule) in rules.enumerated() where rule.applies(to: key) {
                let lane = index + 1
                let window = max(1, Int64(rule.window / resolutionSeconds))
                // After the data ends, quiet buckets drain the window and let a firing alert resolve.
                let drain = window + Int64(rule.keepFiringFor / resolutionSeconds) + 1
                var track = RuleTrack()
                // Cursors for the bucket entering the window and the one leaving it.
                var entering = KeySeries.Cursor(keySeries), leaving = KeySeries.Cursor(keySeries)
                var count = 0, requests = 0
                var bucket = range.lowerBound
                var windowStart = bucket
                while bucket <= range.upperBound + drain {
                    if track.isInactive, count == 0 {
                        // Nothing flagged in the window: jump to the next flagged bucket.
                        guard let next = keySeries.nextNonZero(from: bucket, lane: lane, through: range.upperBound) else { break }
                        if next > bucket {
                            track.skipQuietWindows(Int((next - windowStart) / window))
                            bucket = next
                            windowStart = next - (next - range.lowerBound) % window
                            requests = 0
                            for b in (bucket - window + 1)..<bucket { requests += Int(keySeries.count(b, lane: 0)) }
                        }
                    }
                    count += Int(entering.count(bucket, lane: lane))
                    requests += Int(entering.count(bucket, lane: 0))
                    let now = (bucket + 1) * resolution
                    let windowEnds = (bucket + 1 - windowStart) % window == 0
                    switch track.step(rule, now: now, count: count, requests: requests, windowEnds: windowEnds) {
                    case .firing(let startsAt):
                        events.append(AlertEvent(status: .firing, rule: rule, cluster: key, count: count, requests: requests,
                                                 startsAt: startsAt, endsAt: nil))
                    case .resolved(let startsAt, let endsAt):
                        let (episodeCount, episodeRequests) = sums(keySeries, lane: lane, from: startsAt - window * resolution, to: endsAt, resolution: resolution)
                        spikes.append(Spike(rule: rule.name, cluster: key, flags: rule.flagCodes, start: startsAt, end: endsAt,
                                            peakCount: track.peakCount, peakRatio: track.peakRatio,
                                            count: episodeCount, requests: episodeRequests))
                        events.append(AlertEvent(status: .resolved, rule: rule, cluster: key, count: count, requests: requests,
                                                 startsAt: startsAt, endsAt: endsAt))
                    case nil:
                        break
                    }
                    // Slide: the oldest bucket leaves the window.
                    let oldest = bucket - window + 1
                    count -= Int(leaving.count(oldest, lane: lane))
                    requests -= Int(leaving.count(oldest, lane: 0))
                    bucket += 1
                }
            }
        }
        spikes.sort { ($0.start, $0.cluster, $0.rule) < ($1.start, $1.cluster, $1.rule) }
        // Event order: by time; at one instant resolutions first, then by key and rule.
        events.sort {
            let a = $0.endsAt ?? $0.startsAt, b = $1.endsAt ?? $1.startsAt
            return (a, $0.status == .firing ? 1 : 0, $0.cluster, $0.rule) < (b, $1.status == .firing ? 1 : 0, $1.cluster, $1.rule)
        }
        return (spikes, events)
    }

    /// Flagged records and requests in the buckets that start in `[from, to)`.
    static func sums(_ series: KeySeries, lane: Int, from: Int64, to: Int64, resolution: Int64) -> (Int, Int) {
        var count = 0, requests = 0
        var bucket = from / resolution
        while bucket < to / resolution {
            count += Int(series.count(bucket, lane: lane))
            requests += Int(series.count(bucket, lane: 0))
            bucket += 1
        }
        return (count, requests)
    }
}
