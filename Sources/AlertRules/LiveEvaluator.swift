import FailureCauses
import FlagAggregation
import RecordCounting

/// Rules stepped against live windows while logs are followed: what `tail` alerts with.
///
/// A key is evaluated as soon as its records are counted (so a `for: 0` rule fires on the
/// batch holding the breaching line), and every key with recent records or an unresolved
/// alert is evaluated again as the clock passes each second (so alerts resolve and `for`
/// elapses when traffic stops).
public struct LiveEvaluator {
    public private(set) var rules: [AlertRule]
    /// Per key id, one track per rule (same order as `rules`).
    private var tracks: [UInt32: [RuleTrack]] = [:]

    public init(rules: [AlertRule]) { self.rules = rules }

    /// The longest rule window, seconds: how much history the windows must keep.
    public var longestWindow: Int { rules.map(\.window).max() ?? 60 }

    /// Steps key `id` (named `name`) at second `second`. `secondEnded`: the second is over and
    /// this is the pass that closes it.
    public mutating func evaluate(key id: UInt32, name: String, second: Int64, windows: LiveWindows, secondEnded: Bool) -> [AlertEvent] {
        var keyTracks = tracks[id] ?? Array(repeating: RuleTrack(), count: rules.count)
        var events: [AlertEvent] = []
        let now = (second + 1) * 1_000_000
        for (index, rule) in rules.enumerated() where rule.applies(to: name) {
            let (count, requests) = windows.sums(key: id, mask: rule.flags.rawValue, window: rule.window, endingAt: second)
            let windowEnds = secondEnded && (second + 1) % Int64(rule.window) == 0
            switch keyTracks[index].step(rule, now: now, count: count, requests: requests, windowEnds: windowEnds) {
            case .firing(let startsAt):
                let cause = LiveEvaluator.dominantCause(windows, key: id, rule: rule, endingAt: second)
                keyTracks[index].cause = cause.name
                var event = AlertEvent(status: .firing, rule: rule, cluster: name, count: count, requests: requests, startsAt: startsAt, endsAt: nil)
                event.attribute(cause)
                events.append(event)
            case .resolved(let startsAt, let endsAt):
                var event = AlertEvent(status: .resolved, rule: rule, cluster: name, count: count, requests: requests, startsAt: startsAt, endsAt: endsAt)
                event.attribute(keyTracks[index].firingCause)
                keyTracks[index].cause = nil
                events.append(event)
            case nil:
                break
            }
        }
        tracks[id] = keyTracks.allSatisfy(\.isInactive) && keyTracks.allSatisfy({ $0.baseline == nil }) ? nil : keyTracks
        return events
    }

    /// The cause most of the rule's flagged records in its window have: the alert's cause.
    static func dominantCause(_ windows: LiveWindows, key id: UInt32, rule: AlertRule, endingAt second: Int64) -> FailureCause {
        let counts = windows.tagCounts(key: id, mask: rule.flags.rawValue, window: rule.window, endingAt: second)
        return FailureCause.dominant(in: counts.compactMap { tag, count in FailureCause(rawValue: tag).map { (cause: $0, count: count) } })?.cause
            ?? .unknown
    }

    /// Keys whose alerts are pending or firing, or whose baselines are learning.
    public var trackedKeys: [UInt32] { Array(tracks.keys) }

    /// Alerts pending or firing now, by key id and rule name.
    public var activeAlerts: [(key: UInt32, rule: String, state: AlertPhase)] {
        tracks.flatMap { key, keyTracks in
            keyTracks.indices.compactMap { index -> (UInt32, String, AlertPhase)? in
                switch keyTracks[index].phase {
                case .inactive: return nil
                case .pending: return (key, rules[index].name, .pending)
                case .firing: return (key, rules[index].name, .firing)
                }
            }
        }
    }

    /// Alerts firing now as firing events (their peak counts), for receivers to take over
    /// after a restart.
    public func firingEvents(naming name: (UInt32) -> String) -> [AlertEvent] {
        tracks.sorted { $0.key < $1.key }.flatMap { key, keyTracks in
            zip(rules, keyTracks).compactMap { rule, track -> AlertEvent? in
                guard case .firing(let since, _) = track.phase else { return nil }
                let count = track.peakCount
                let requests = track.peakRatio > 0 ? Int((Double(count) / track.peakRatio).rounded()) : 0
                var event = AlertEvent(status: .firing, rule: rule, cluster: name(key), count: count, requests: requests, startsAt: since, endsAt: nil)
                event.attribute(track.firingCause)
                return event
            }
        }
    }

    /// Swaps in new rules. A rule that keeps its name and definition keeps its state (an alert
    /// firing under it stays firing and is not sent again); changed or new rules start fresh.
    public mutating func replaceRules(_ newRules: [AlertRule]) {
        let kept = newRules.map { rule in rules.firstIndex(of: rule) }
        tracks = tracks.mapValues { keyTracks in kept.map { $0.map { keyTracks[$0] } ?? RuleTrack() } }
        rules = newRules
    }

    /// Rule states by key id and rule name, for checkpoints.
    public var savedTracks: [UInt32: [String: RuleTrack]] {
        tracks.mapValues { keyTracks in
            Dictionary(uniqueKeysWithValues: zip(rules, keyTracks).filter { !$0.1.isInactive || $0.1.baseline != nil }.map { ($0.0.name, $0.1) })
        }
    }

    /// Puts saved states back; states of rules that no longer exist are dropped.
    public mutating func restore(key id: UInt32, _ saved: [String: RuleTrack]) {
        let keyTracks = rules.map { saved[$0.name] ?? RuleTrack() }
        if keyTracks.contains(where: { !$0.isInactive || $0.baseline != nil }) { tracks[id] = keyTracks }
    }
}
