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
    public private(set) var rules: [AlertRule] {
        didSet { describeRules() }
    }
    /// Per key id, one track per rule (same order as `rules`).
    private var tracks: [UInt32: [RuleTrack]] = [:]
    /// Per key id, the indexes of the rules that apply to it (nil until its first evaluation):
    /// matched once, not once a second.
    private var applicable: [[Int]?] = []
    /// Per rule: its flags, its window and its limits, and the window sums of the key being evaluated.
    private var masks: [UInt32] = []
    private var windowLengths: [Int] = []
    private var limits: [RuleTrack.Limits] = []
    private var counts: [Int] = []
    private var requests: [Int] = []
    /// Every rule needs a flagged record to hold (`minCount` ≥ 1): then a key whose windows
    /// hold none and whose alerts are all inactive only changes at a window end.
    private var quietKeysWait = true

    public init(rules: [AlertRule]) {
        self.rules = rules
        describeRules()
    }

    private mutating func describeRules() {
        masks = rules.map(\.flags.rawValue)
        windowLengths = rules.map(\.window)
        limits = rules.map(RuleTrack.Limits.init)
        counts = Array(repeating: 0, count: rules.count)
        requests = counts
        applicable = []
        quietKeysWait = rules.allSatisfy { $0.minCount >= 1 }
    }

    /// Whether stepping key `id` at second `second` would change nothing: no flagged record in
    /// any window, every alert inactive, and no window ending (when the baseline learns).
    private func wouldStandStill(key id: UInt32, second: Int64, windows: LiveWindows, secondEnded: Bool) -> Bool {
        guard quietKeysWait, windows.latestFlaggedSecond(key: id) <= second - Int64(windowLengths.max() ?? 0) else { return false }
        if secondEnded, windowLengths.contains(where: { (second + 1) % Int64($0) == 0 }) { return false }
        return tracks[id]?.allSatisfy(\.isInactive) ?? true
    }

    /// The longest rule window, seconds: how much history the windows must keep.
    public var longestWindow: Int { rules.map(\.window).max() ?? 60 }

    /// Steps key `id` (named `name`, asked only when needed) at second `second`.
    /// `secondEnded`: the second is over and this is the pass that closes it.
    public mutating func evaluate(key id: UInt32, name: @autoclosure () -> String, second: Int64, windows: LiveWindows,
                                  secondEnded: Bool) -> [AlertEvent] {
        var known: String?
        func keyName() -> String {
            if let known { return known }
            known = name()
            return known!
        }
        if wouldStandStill(key: id, second: second, windows: windows, secondEnded: secondEnded) { return [] }
        let index = Int(id)
        if index >= applicable.count { applicable.append(contentsOf: repeatElement(nil, count: index + 1 - applicable.count)) }
        if applicable[index] == nil {
            let key = keyName()
            applicable[index] = rules.indices.filter { rules[$0].applies(to: key) }
        }
        let ruleIndexes = applicable[index]!
        var keyTracks = tracks[id] ?? Array(repeating: RuleTrack(), count: rules.count)
        var events: [AlertEvent] = []
        let now = (second + 1) * 1_000_000
        windows.sums(key: id, masks: masks, windows: windowLengths, endingAt: second, counts: &counts, requests: &requests)
        for rule in ruleIndexes {
            let count = counts[rule], requests = self.requests[rule]
            let windowEnds = secondEnded && (second + 1) % Int64(windowLengths[rule]) == 0
            switch keyTracks[rule].step(limits[rule], now: now, count: count, requests: requests, windowEnds: windowEnds) {
            case .firing(let startsAt):
                let cause = LiveEvaluator.dominantCause(windows, key: id, rule: rules[rule], endingAt: second)
                keyTracks[rule].cause = cause.name
                var event = AlertEvent(status: .firing, rule: rules[rule], cluster: keyName(), count: count, requests: requests,
                                       startsAt: startsAt, endsAt: nil)
                event.attribute(cause)
                events.append(event)
            case .resolved(let startsAt, let endsAt):
                var event = AlertEvent(status: .resolved, rule: rules[rule], cluster: keyName(), count: count, requests: requests,
                                       startsAt: startsAt, endsAt: endsAt)
                event.attribute(keyTracks[rule].firingCause)
                keyTracks[rule].cause = nil
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
