import FailureCauses
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
    /// Of `count`, the records per cause name (see `SpikeCauses` in LogScan).
    public var causes: [String: Int] = [:]
}

/// Replays rules over history as its buckets come, in time order, keeping per key only the
/// last buckets of the longest window: what `scan` finds spikes with, in memory bounded by
/// keys × window whatever the span of the logs.
///
/// Each (key, rule) steps its `RuleTrack` once per bucket from the key's first bucket to its
/// last plus a drain (so that an alert firing at the end resolves), except across stretches
/// where the rule is inactive and its window holds no flagged record: those are jumped over,
/// the baseline decaying by the whole windows skipped. Window ends are aligned to the key's
/// first bucket. The buckets are sums over every input, so the spikes depend neither on the
/// thread count nor on the order of the inputs.
///
/// A by-cause rule has a loop per cause the key has records of: its flagged counts come from
/// the key's cause cells (kept in a ring per cause beside the key's), its requests from the
/// key's, as `tail` sums them.
package struct HistoryEvaluator {
    package let rules: [AlertRule]
    let limits: [RuleTrack.Limits]
    let resolution: Int64
    let lanes: Int
    /// Per rule: window and drain, in buckets.
    let windows: [Int64]
    let drains: [Int64]
    let ringSize: Int
    let names: [String]
    /// Per merged key id: its index in `histories`, or -1 before its first bucket.
    private var historyOfKey: [Int32]
    private var histories: [KeyHistory] = []
    /// Every history's rule loops, each history's side by side.
    private var loops: [Loop] = []
    /// Per history, its last `ringSize` buckets: their stamps, and `lanes` counters each.
    /// Flat arrays in the value itself: the per-bucket path touches no reference counts.
    private var stamps: [Int64] = []
    private var values: [UInt32] = []
    /// Per cause ring, its history's last `ringSize` buckets of one cause, a counter per rule;
    /// a slot holds the bucket its history's stamp says.
    private var causeValues: [UInt32] = []
    private var causeRingCount = 0
    package private(set) var spikes: [Spike] = []
    package private(set) var events: [AlertEvent] = []

    /// `names`: the key names by merged key id.
    package init(rules: [AlertRule], resolutionSeconds: Int, names: [String]) {
        self.rules = rules
        limits = rules.map(RuleTrack.Limits.init)
        resolution = Int64(resolutionSeconds) * 1_000_000
        lanes = 1 + rules.count
        windows = rules.map { max(1, Int64($0.window / resolutionSeconds)) }
        drains = zip(rules, windows).map { rule, window in window + Int64(rule.keepFiringFor / resolutionSeconds) + 1 }
        ringSize = Int(windows.max() ?? 1)
        self.names = names
        historyOfKey = Array(repeating: -1, count: names.count)
    }

    /// One rule's pass over one key.
    struct Loop {
        let rule: Int
        /// A by-cause rule's loop: its cause and the cause's ring; -1 for a rule over every cause.
        var cause = -1
        var ring = -1
        /// The next bucket to step.
        var bucket: Int64
        var count = 0
        var requests = 0
        /// Where the window containing the last jump target starts (window ends are counted from it).
        var windowStart: Int64
        var track = RuleTrack()
        /// Inactive with nothing flagged in the window: waiting for the next flagged bucket.
        var parked = true
        /// Flagged records and requests since the window before the episode began.
        var episodeCount = 0
        var episodeRequests = 0
    }

    /// A key's first and last bucket, and where its loops are.
    struct KeyHistory {
        let key: Int
        let first: Int64
        var last: Int64
        var loops: [Int]
        /// The by-cause rules that apply to the key, and its causes seen so far with their rings.
        let byCauseRules: [Int]
        var causeRings: [(cause: Int, ring: Int)] = []
    }

    /// Adds key `key`'s counters of bucket `bucket` (requests, then one per rule) and, for
    /// by-cause rules, its cause cells' (`lanes` counters per cause, by `FailureCause` raw
    /// value: records of the cause, then one per rule). Buckets of a key come in ascending order.
    package mutating func add(key: Int, bucket: Int64, counts: UnsafeBufferPointer<UInt32>, causeCounts: UnsafeBufferPointer<UInt32>? = nil) {
        var history = Int(historyOfKey[key])
        if history < 0 { history = startHistory(key: key, at: bucket) }
        histories[history].last = bucket
        // A parked loop has nothing to catch up, and nothing to take from a bucket without its flags.
        for index in histories[history].loops where !loops[index].parked {
            var loop = loops[index]
            catchUp(&loop, history, to: bucket)
            loops[index] = loop
        }
        // Written after every catch-up: the slot may still hold the bucket that leaves last.
        let slot = history * ringSize + ringSlot(bucket)
        stamps[slot] = bucket
        for lane in 0..<lanes { values[slot * lanes + lane] = counts[lane] }
        if !histories[history].byCauseRules.isEmpty { addCauses(history, slot: slot - history * ringSize, counts: counts, causeCounts: causeCounts) }
        for index in histories[history].loops where !loops[index].parked || flagged(loops[index], history, bucket) > 0 {
            var loop = loops[index]
            take(&loop, history, bucket: bucket)
            loops[index] = loop
        }
    }

    /// Writes a bucket's cause counters into the key's cause rings (slot `ringSlot` of each),
    /// starting a ring and its loops for a cause seen for the first time.
    private mutating func addCauses(_ history: Int, slot ringSlot: Int, counts: UnsafeBufferPointer<UInt32>,
                                    causeCounts: UnsafeBufferPointer<UInt32>?) {
        let ruleCount = rules.count
        for (_, ring) in histories[history].causeRings {
            let base = (ring * ringSize + ringSlot) * ruleCount
            for rule in 0..<ruleCount { causeValues[base + rule] = 0 }
        }
        guard let causeCounts, histories[history].byCauseRules.contains(where: { counts[$0 + 1] > 0 }) else { return }
        for cause in 0..<HistoryEvaluator.causeCount where causeCounts[cause * lanes] > 0 {
            let ring = histories[history].causeRings.first { $0.cause == cause }?.ring ?? startCause(cause, history)
            let base = (ring * ringSize + ringSlot) * ruleCount
            for rule in 0..<ruleCount { causeValues[base + rule] = causeCounts[cause * lanes + 1 + rule] }
        }
    }

    static let causeCount = FailureCause.allCases.count

    /// A ring for `cause` in history `history`, and a loop per by-cause rule on it, parked at
    /// the key's first bucket so that their first step sums the window's earlier requests.
    private mutating func startCause(_ cause: Int, _ history: Int) -> Int {
        let ring = causeRingCount
        causeRingCount += 1
        causeValues.append(contentsOf: repeatElement(0, count: ringSize * rules.count))
        histories[history].causeRings.append((cause, ring))
        let first = histories[history].first
        for rule in histories[history].byCauseRules {
            histories[history].loops.append(loops.count)
            var loop = Loop(rule: rule, bucket: first, windowStart: first)
            loop.cause = cause
            loop.ring = ring
            loop.track = .ofCause
            loops.append(loop)
        }
        return ring
    }

    private mutating func startHistory(key: Int, at bucket: Int64) -> Int {
        let history = histories.count
        historyOfKey[key] = Int32(history)
        let name = names[key]
        let applying = rules.indices.filter { rules[$0].applies(to: name) }
        var keyLoops: [Int] = []
        for rule in applying where !rules[rule].byCause {
            keyLoops.append(loops.count)
            loops.append(Loop(rule: rule, bucket: bucket, windowStart: bucket))
        }
        histories.append(KeyHistory(key: key, first: bucket, last: bucket, loops: keyLoops, byCauseRules: applying.filter { rules[$0].byCause }))
        stamps.append(contentsOf: repeatElement(.min, count: ringSize))
        values.append(contentsOf: repeatElement(0, count: ringSize * lanes))
        return history
    }

    /// Every key's last buckets drain the windows, so that alerts still firing resolve.
    package mutating func finish() {
        for history in histories.indices {
            for index in histories[history].loops {
                var loop = loops[index]
                let end = histories[history].last + drains[loop.rule]
                while !loop.parked, loop.bucket <= end {
                    if loop.track.isInactive, loop.count == 0 { break }
                    step(&loop, history, entering: 0, enteringRequests: 0)
                }
                loops[index] = loop
            }
        }
        spikes.sort { ($0.start, $0.cluster, $0.rule, $0.causes.keys.first ?? "") < ($1.start, $1.cluster, $1.rule, $1.causes.keys.first ?? "") }
        // Event order: by time; at one instant resolutions first, then by key, rule and cause.
        events.sort {
            let a = $0.endsAt ?? $0.startsAt, b = $1.endsAt ?? $1.startsAt
            return (a, $0.status == .firing ? 1 : 0, $0.cluster, $0.rule, $0.cause ?? "") < (b, $1.status == .firing ? 1 : 0, $1.cluster, $1.rule, $1.cause ?? "")
        }
    }

    @inline(__always)
    private func ringSlot(_ bucket: Int64) -> Int { Int(bucket % Int64(ringSize) + Int64(ringSize)) % ringSize }

    @inline(__always)
    private func value(_ history: Int, _ bucket: Int64, lane: Int) -> Int {
        let slot = history * ringSize + ringSlot(bucket)
        return stamps[slot] == bucket ? Int(values[slot * lanes + lane]) : 0
    }

    /// The records of bucket `bucket` that loop `loop` counts: its rule's, of its cause if it has one.
    @inline(__always)
    private func flagged(_ loop: Loop, _ history: Int, _ bucket: Int64) -> Int {
        guard loop.ring >= 0 else { return value(history, bucket, lane: loop.rule + 1) }
        let slot = ringSlot(bucket)
        guard stamps[history * ringSize + slot] == bucket else { return 0 }
        return Int(causeValues[(loop.ring * ringSize + slot) * rules.count + loop.rule])
    }

    /// Steps the empty buckets before `bucket` while the rule has something in its window.
    private mutating func catchUp(_ loop: inout Loop, _ history: Int, to bucket: Int64) {
        while !loop.parked, loop.bucket < bucket {
            if loop.track.isInactive, loop.count == 0 {
                loop.parked = true
                return
            }
            step(&loop, history, entering: 0, enteringRequests: 0)
        }
    }

    /// Bucket `bucket`, already in the ring, for a loop that has caught up with it.
    private mutating func take(_ loop: inout Loop, _ history: Int, bucket: Int64) {
        let flagged = self.flagged(loop, history, bucket)
        if !loop.parked, loop.track.isInactive, loop.count == 0 { loop.parked = true }
        if loop.parked {
            guard flagged > 0 else { return }
            let window = windows[loop.rule]
            if bucket > loop.bucket {
                // The jump to the next flagged bucket.
                loop.track.skipQuietWindows(Int((bucket - loop.windowStart) / window))
                loop.bucket = bucket
                loop.windowStart = bucket - (bucket - histories[history].first) % window
                loop.requests = 0
                var earlier = bucket - window + 1
                while earlier < bucket {
                    loop.requests += value(history, earlier, lane: 0)
                    earlier += 1
                }
            }
            loop.parked = false
        }
        step(&loop, history, entering: flagged, enteringRequests: value(history, bucket, lane: 0))
    }

    /// One bucket of one rule: the window takes the bucket in, the track steps, the oldest
    /// bucket leaves the window.
    private mutating func step(_ loop: inout Loop, _ history: Int, entering: Int, enteringRequests: Int) {
        let window = windows[loop.rule]
        let bucket = loop.bucket
        loop.count += entering
        loop.requests += enteringRequests
        let wasInactive = loop.track.isInactive
        let now = (bucket + 1) * resolution
        let windowEnds = (bucket + 1 - loop.windowStart) % window == 0
        let transition = loop.track.step(limits[loop.rule], now: now, count: loop.count, requests: loop.requests, windowEnds: windowEnds)
        if wasInactive {
            // The episode's sums start with the window that began it.
            loop.episodeCount = loop.count
            loop.episodeRequests = loop.requests
        } else {
            loop.episodeCount += entering
            loop.episodeRequests += enteringRequests
        }
        if let transition { record(transition, of: loop, key: histories[history].key) }
        let oldest = bucket - window + 1
        loop.count -= flagged(loop, history, oldest)
        loop.requests -= value(history, oldest, lane: 0)
        loop.bucket = bucket + 1
    }

    private mutating func record(_ transition: RuleTrack.Transition, of loop: Loop, key: Int) {
        let rule = rules[loop.rule]
        // A by-cause loop names its cause; the others' are named from the cause cells afterwards (`SpikeCauses`).
        let cause = loop.cause >= 0 ? FailureCause(rawValue: UInt8(loop.cause)) : nil
        var event: AlertEvent
        switch transition {
        case .firing(let startsAt):
            event = AlertEvent(status: .firing, rule: rule, cluster: names[key], count: loop.count, requests: loop.requests,
                               startsAt: startsAt, endsAt: nil)
        case .resolved(let startsAt, let endsAt):
            var spike = Spike(rule: rule.name, cluster: names[key], flags: rule.flagCodes, start: startsAt, end: endsAt,
                              peakCount: loop.track.peakCount, peakRatio: loop.track.peakRatio,
                              count: loop.episodeCount, requests: loop.episodeRequests)
            if let cause { spike.causes = [cause.name: loop.episodeCount] }
            spikes.append(spike)
            event = AlertEvent(status: .resolved, rule: rule, cluster: names[key], count: loop.count, requests: loop.requests,
                               startsAt: startsAt, endsAt: endsAt)
        }
        if let cause { event.attribute(cause) }
        events.append(event)
    }
}
