import AlertRules
import FailureCauses
import FlagAggregation

/// Names the cause of each spike and of each alert event `scan` replays, from `CauseRuns`.
///
/// A spike's breakdown counts, per cause, the records carrying its rule's flags over the
/// buckets its `count` sums (from the start of the window that began the episode to its end),
/// so the causes add up to `count`. An alert event's cause is the dominant one in the rule's
/// window at the bucket it fired, as `tail` names it when it fires; the resolved event keeps
/// it, so the label set (and the fingerprint Alertmanager matches) does not change.
struct SpikeCauses {
    /// The buckets one spike's causes are counted over.
    struct Interval {
        var spike: Int
        var lane: Int
        var low: Int64
        var high: Int64
        /// The rule's window at the bucket the alert fired.
        var firingLow: Int64
        var firingHigh: Int64
    }

    private var intervals: [UInt32: [Interval]] = [:]
    private var passed: [UInt32: Int] = [:]
    private var episode: [[Int]]
    private var firing: [[Int]]
    private let rules: [AlertRule]
    private let keyCount: Int

    /// `keyIDs`: merged key ids by name, as the history replay numbered them.
    init(spikes: [Spike], rules: [AlertRule], resolutionSeconds: Int, keyIDs: [String: UInt32]) {
        self.rules = rules
        keyCount = keyIDs.count
        let causeCount = FailureCause.allCases.count
        episode = Array(repeating: Array(repeating: 0, count: causeCount), count: spikes.count)
        firing = episode
        let resolution = Int64(resolutionSeconds) * 1_000_000
        // A by-cause rule's spikes and events came with their cause.
        for (index, spike) in spikes.enumerated() where spike.causes.isEmpty {
            guard let key = keyIDs[spike.cluster], let rule = rules.firstIndex(where: { $0.name == spike.rule }) else { continue }
            // As `HistoryEvaluator` counts: a bucket ends at `(bucket + 1) × resolution`.
            let window = max(1, Int64(rules[rule].window / resolutionSeconds))
            let started = BinGrid.floorDiv(spike.start, resolution) - 1
            let fired = started + (Int64(rules[rule].forDuration) + Int64(resolutionSeconds) - 1) / Int64(resolutionSeconds)
            intervals[key, default: []].append(Interval(spike: index, lane: rule + 1, low: started - window + 1,
                                                        high: BinGrid.floorDiv(spike.end, resolution) - 1,
                                                        firingLow: fired - window + 1, firingHigh: fired))
        }
        for key in intervals.keys { intervals[key]!.sort { $0.low < $1.low } }
    }

    /// Counts every worker's cause cells into the spikes whose buckets hold them.
    mutating func count(_ workers: [(runs: [BucketRun], keys: [UInt32])]) {
        guard !intervals.isEmpty else { return }
        let causeCount = Int(CauseRuns.causeCount)
        let lanes = 1 + rules.count
        var merge = BucketMerge(workers.map { ($0.runs, CauseRuns.cellKeys($0.keys)) }, lanes: lanes, keyCount: keyCount * causeCount)
        merge.forEachBucket { bucket, cells, counts in
            for cell in cells {
                let key = UInt32(cell / causeCount), cause = cell % causeCount
                guard let keyIntervals = intervals[key] else { continue }
                // Intervals are sorted by start: skip those that ended, then stop at the first not begun.
                var first = passed[key] ?? 0
                while first < keyIntervals.count, keyIntervals[first].high < bucket { first += 1 }
                passed[key] = first
                for interval in keyIntervals[first...] {
                    if interval.low > bucket { break }
                    guard bucket <= interval.high else { continue }
                    let flagged = Int(counts[cell * lanes + interval.lane])
                    episode[interval.spike][cause] += flagged
                    if bucket >= interval.firingLow, bucket <= interval.firingHigh { firing[interval.spike][cause] += flagged }
                }
            }
        }
    }

    /// Gives each spike its breakdown, and each event the cause of its spike's firing.
    func attribute(_ spikes: inout [Spike], _ events: inout [AlertEvent]) {
        struct Episode: Hashable {
            var rule: String, cluster: String, start: Int64
        }
        var causeOfEpisode: [Episode: FailureCause] = [:]
        for index in spikes.indices where spikes[index].causes.isEmpty {
            let counts = FailureCause.allCases.map { (cause: $0, count: episode[index][Int($0.rawValue)]) }
            spikes[index].causes = Dictionary(uniqueKeysWithValues: counts.filter { $0.count > 0 }.map { ($0.cause.name, $0.count) })
            let atFiring = FailureCause.dominant(in: FailureCause.allCases.map { (cause: $0, count: firing[index][Int($0.rawValue)]) })
            let cause = atFiring?.cause ?? FailureCause.dominant(in: counts)?.cause ?? .unknown
            causeOfEpisode[Episode(rule: spikes[index].rule, cluster: spikes[index].cluster, start: spikes[index].start)] = cause
        }
        for index in events.indices where events[index].cause == nil {
            let event = events[index]
            events[index].attribute(causeOfEpisode[Episode(rule: event.rule, cluster: event.cluster, start: event.startsAt)] ?? .unknown)
        }
    }
}
