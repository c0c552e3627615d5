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
    /// Per key id, its tracks: one per rule, or one per cause for a by-cause rule, the rule's
    /// from `trackOffsets[rule]` (same order as `rules`).
    private var tracks: [UInt32: [RuleTrack]] = [:]
    /// Per key id, the indexes of the rules that apply to it (nil until its first evaluation):
    /// matched once, not once a second.
    private var applicable: [[Int]?] = []
    /// Per rule: what it sums of the windows, where its tracks start (one more: the count of
    /// tracks), its limits; and the window sums of the key being evaluated, per track and per rule.
    private var windowSums: [LiveWindows.WindowSum] = []
    private var trackOffsets: [Int] = []
    private var limits: [RuleTrack.Limits] = []
    private var counts: [Int] = []
    private var requests: [Int] = []
    /// Every rule needs a flagged record to hold (`minCount` ≥ 1): then a key whose windows
    /// hold none and whose alerts are all inactive only changes at a window end.
    private var quietKeysWait = true

    static let causeCount = FailureCause.allCases.count

    public init(rules: [AlertRule]) {
        self.rules = rules
        describeRules()
    }

    private mutating func describeRules() {
        windowSums = []
        trackOffsets = []
        var offset = 0
        for rule in rules {
            let tags = rule.byCause ? LiveEvaluator.causeCount : 0
            windowSums.append(LiveWindows.WindowSum(mask: rule.flags.rawValue, window: rule.window, offset: offset, tags: tags))
            trackOffsets.append(offset)
            offset += max(tags, 1)
        }
        trackOffsets.append(offset)
        limits = rules.map(RuleTrack.Limits.init)
        counts = Array(repeating: 0, count: offset)
        requests = Array(repeating: 0, count: rules.count)
        applicable = []
        quietKeysWait = rules.allSatisfy { $0.minCount >= 1 }
    }

    /// A key's tracks before its first alert.
    private var newTracks: [RuleTrack] {
        rules.flatMap { $0.byCause ? Array(repeating: RuleTrack.ofCause, count: LiveEvaluator.causeCount) : [RuleTrack()] }
    }

    /// Rule `rule`'s tracks among a key's.
    private func trackRange(_ rule: Int) -> Range<Int> { trackOffsets[rule]..<trackOffsets[rule + 1] }

    /// The cause of the alert under track `index` of rule `rule`: its own for a by-cause rule,
    /// else the one it fired with.
    private func cause(ofTrack index: Int, _ track: RuleTrack, rule: Int) -> FailureCause {
        rules[rule].byCause ? causeOfSlot(index, rule: rule) : track.firingCause
    }

    /// The cause whose track is track `index` of by-cause rule `rule`.
    private func causeOfSlot(_ index: Int, rule: Int) -> FailureCause {
        FailureCause(rawValue: UInt8(index - trackOffsets[rule]))!
    }

    /// Whether track `index` holds nothing a new one would not: it need not be kept.
    private func isFresh(_ track: RuleTrack, rule: Int) -> Bool {
        rules[rule].byCause ? track.isAtRest : track.isInactive && track.baseline == nil
    }

    /// Whether stepping key `id` at second `second` would change nothing: no flagged record in
    /// any window, every alert inactive, and no window ending (when the baseline learns).
    private func wouldStandStill(key id: UInt32, second: Int64, windows: LiveWindows, secondEnded: Bool) -> Bool {
        guard quietKeysWait, windows.latestFlaggedSecond(key: id) <= second - Int64(longestWindow) else { return false }
        if secondEnded, rules.contains(where: { (second + 1) % Int64($0.window) == 0 }) { return false }
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
        var keyTracks = tracks[id] ?? newTracks
        var events: [AlertEvent] = []
        let now = (second + 1) * 1_000_000
        windows.sums(key: id, windowSums, endingAt: second, counts: &counts, requests: &requests)
        for rule in ruleIndexes {
            let requests = self.requests[rule]
            let windowEnds = secondEnded && (second + 1) % Int64(rules[rule].window) == 0
            for track in trackRange(rule) {
                let count = counts[track]
                // A cause with no record in the window and nothing learnt stays as it is.
                if rules[rule].byCause, count == 0, keyTracks[track].isAtRest { continue }
                switch keyTracks[track].step(limits[rule], now: now, count: count, requests: requests, windowEnds: windowEnds) {
                case .firing(let startsAt):
                    let cause = rules[rule].byCause
                        ? self.cause(ofTrack: track, keyTracks[track], rule: rule)
                        : LiveEvaluator.dominantCause(windows, key: id, rule: rules[rule], endingAt: second)
                    keyTracks[track].cause = cause
                    var event = AlertEvent(status: .firing, rule: rules[rule], cluster: keyName(), count: count, requests: requests,
                                           startsAt: startsAt, endsAt: nil)
                    event.attribute(cause)
                    events.append(event)
                case .resolved(let startsAt, let endsAt):
                    var event = AlertEvent(status: .resolved, rule: rules[rule], cluster: keyName(), count: count, requests: requests,
                                           startsAt: startsAt, endsAt: endsAt)
                    event.attribute(self.cause(ofTrack: track, keyTracks[track], rule: rule))
                    keyTracks[track].cause = nil
                    events.append(event)
                case nil:
                    break
                }
            }
        }
        let keep = rules.indices.contains { rule in trackRange(rule).contains { !isFresh(keyTracks[$0], rule: rule) } }
        tracks[id] = keep ? keyTracks : nil
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

    /// One alert pending or firing now. `cause`: the cause it fires with, or of a by-cause
    /// rule's track; nil for a pending alert of a rule over every cause.
    public struct ActiveAlert: Sendable, Equatable {
        public var key: UInt32
        public var rule: String
        public var cause: String?
        public var state: AlertPhase
        /// Microseconds since 1970: when the condition began to hold.
        public var since: Int64
    }

    /// Alerts pending or firing now.
    public var activeAlerts: [ActiveAlert] {
        tracks.flatMap { key, keyTracks in
            rules.indices.flatMap { rule in
                trackRange(rule).compactMap { index -> ActiveAlert? in
                    let track = keyTracks[index]
                    let cause = rules[rule].byCause ? self.cause(ofTrack: index, track, rule: rule).name : track.cause?.name
                    switch track.phase {
                    case .inactive: return nil
                    case .pending(let since): return ActiveAlert(key: key, rule: rules[rule].name, cause: cause, state: .pending, since: since)
                    case .firing(let since, _): return ActiveAlert(key: key, rule: rules[rule].name, cause: cause, state: .firing, since: since)
                    }
                }
            }
        }
    }

    /// Alerts firing now as firing events (their peak counts), for receivers to take over
    /// after a restart.
    public func firingEvents(naming name: (UInt32) -> String) -> [AlertEvent] {
        tracks.sorted { $0.key < $1.key }.flatMap { key, keyTracks in
            rules.indices.flatMap { rule in
                trackRange(rule).compactMap { index -> AlertEvent? in
                    let track = keyTracks[index]
                    guard case .firing(let since, _) = track.phase else { return nil }
                    let count = track.peakCount
                    let requests = track.peakRatio > 0 ? Int((Double(count) / track.peakRatio).rounded()) : 0
                    var event = AlertEvent(status: .firing, rule: rules[rule], cluster: name(key), count: count, requests: requests,
                                           startsAt: since, endsAt: nil)
                    event.attribute(cause(ofTrack: index, track, rule: rule))
                    return event
                }
            }
        }
    }

    /// Swaps in new rules. A rule that keeps its name and definition keeps its state (an alert
    /// firing under it stays firing and is not sent again); changed or new rules start fresh.
    public mutating func replaceRules(_ newRules: [AlertRule]) {
        let kept = newRules.map { rule in rules.firstIndex(of: rule).map(trackRange) }
        rules = newRules
        let fresh = newTracks
        tracks = tracks.mapValues { keyTracks in
            var replaced = fresh
            for (rule, old) in kept.enumerated() {
                if let old { replaced[trackRange(rule)] = keyTracks[old] }
            }
            return replaced
        }
    }

    /// The name a track is saved under: the rule's, and for a by-cause rule `/` and the cause.
    private func savedName(rule: Int, track index: Int) -> String {
        rules[rule].byCause ? "\(rules[rule].name)/\(causeOfSlot(index, rule: rule).name)" : rules[rule].name
    }

    /// Rule states by key id and saved name (`savedName`), for checkpoints.
    public var savedTracks: [UInt32: [String: RuleTrack]] {
        tracks.mapValues { keyTracks in
            var saved: [String: RuleTrack] = [:]
            for rule in rules.indices {
                for index in trackRange(rule) where !isFresh(keyTracks[index], rule: rule) {
                    saved[savedName(rule: rule, track: index)] = keyTracks[index]
                }
            }
            return saved
        }
    }

    /// Puts saved states back; states of rules that no longer exist are dropped. A by-cause
    /// rule takes a state saved under its plain name (before causes had tracks of their own)
    /// into the track of the cause it fired with.
    public mutating func restore(key id: UInt32, _ saved: [String: RuleTrack]) {
        var keyTracks = newTracks
        for rule in rules.indices {
            for index in trackRange(rule) {
                if let track = saved[savedName(rule: rule, track: index)] { keyTracks[index] = track }
            }
            if rules[rule].byCause, let plain = saved[rules[rule].name], case .firing = plain.phase {
                keyTracks[trackOffsets[rule] + Int(plain.firingCause.rawValue)] = plain
            }
        }
        if rules.indices.contains(where: { rule in trackRange(rule).contains { !isFresh(keyTracks[$0], rule: rule) } }) {
            tracks[id] = keyTracks
        }
    }
}
