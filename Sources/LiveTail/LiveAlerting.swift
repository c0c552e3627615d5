import AlertRules
import FlagAggregation
import RecordCounting

/// The rules stepped live: the recent windows per key, the event clock, and the events due.
///
/// The event clock is the newest second counted; when lines stop, the wall clock moves it on
/// so that alerts resolve and `for` elapses. A key is stepped as soon as its records are
/// counted (a `for: 0` rule fires on the batch holding the breaching line), and every key
/// with recent records or an unresolved alert again as each second closes.
struct LiveAlerting {
    private(set) var windows: LiveWindows
    private(set) var evaluator: LiveEvaluator
    /// The newest second counted, or moved on by the wall clock.
    private(set) var clockSecond = Int64.min
    /// The first second the clock was set to: how long the windows have been filling.
    private(set) var firstSecond = Int64.min
    /// Seconds the windows keep whatever the rules (a live view's series).
    private let minimumHorizon: Int
    private var wallAtClock = 0.0
    private var touched: [UInt32] = []
    private var isTouched: [Bool] = []
    private var pending: [AlertEvent] = []

    init(rules: [AlertRule], minimumHorizon: Int = 60) {
        self.minimumHorizon = minimumHorizon
        windows = LiveWindows(horizon: LiveAlerting.horizon(for: rules, minimum: minimumHorizon))
        evaluator = LiveEvaluator(rules: rules)
    }

    static func horizon(for rules: [AlertRule], minimum: Int) -> Int { max(60, minimum, rules.map(\.window).max() ?? 60) }

    var hasPendingEvents: Bool { !pending.isEmpty }

    /// Counts a record of key `key` at `micros` with its cause (`CountedRecord.cause`); `wall`
    /// is when it was read.
    mutating func add(key: UInt32, micros: Int64, flags: UInt32, cause: UInt8, wall: Double, naming name: (UInt32) -> String) {
        let second = micros >= 0 ? micros / 1_000_000 : (micros - 999_999) / 1_000_000
        if second > clockSecond { advanceClock(to: second, wall: wall, naming: name) }
        // Older than every window: counted, but no rule can see it any more.
        guard second > clockSecond - Int64(windows.horizon) else { return }
        windows.add(key: key, second: second, flags: flags, tag: cause)
        if Int(key) >= isTouched.count { isTouched.append(contentsOf: repeatElement(false, count: Int(key) + 1 - isTouched.count)) }
        if !isTouched[Int(key)] {
            isTouched[Int(key)] = true
            touched.append(key)
        }
    }

    /// Steps the keys counted since the last call.
    mutating func evaluateTouched(naming name: (UInt32) -> String) {
        guard clockSecond != .min else { return }
        for id in touched {
            isTouched[Int(id)] = false
            pending += evaluator.evaluate(key: id, name: name(id), second: clockSecond, windows: windows, secondEnded: false)
        }
        touched.removeAll(keepingCapacity: true)
    }

    /// No line moved the clock for a while: let wall time `now` move it.
    mutating func followWallClock(_ now: Double, naming name: (UInt32) -> String) {
        if clockSecond != .min, now - wallAtClock >= 1 {
            advanceClock(to: clockSecond + Int64(now - wallAtClock), wall: now, naming: name)
        }
    }

    /// Moves the clock to `second`, first closing every second passed (at most a horizon's
    /// worth: older seconds have left every window).
    private mutating func advanceClock(to second: Int64, wall: Double, naming name: (UInt32) -> String) {
        if clockSecond != .min {
            var closing = max(clockSecond, second - Int64(windows.horizon))
            while closing < second {
                evaluateAll(at: closing, naming: name)
                closing += 1
            }
            // Once a horizon: flag sets outlive their counts by at most that, and sums skip stale slots.
            if second / Int64(windows.horizon) != clockSecond / Int64(windows.horizon) { windows.prune(endingAt: second) }
        }
        if clockSecond == .min { firstSecond = second }
        clockSecond = second
        wallAtClock = wall
    }

    /// Steps every key with recent records or an unresolved alert as second `second` ends.
    private mutating func evaluateAll(at second: Int64, naming name: (UInt32) -> String) {
        var keys = windows.activeKeys(endingAt: second)
        keys += evaluator.trackedKeys.filter { !windows.isActive(key: $0, endingAt: second) }
        keys.sort()
        for id in keys {
            pending += evaluator.evaluate(key: id, name: name(id), second: second, windows: windows, secondEnded: true)
        }
    }

    /// The events due since the last call, in the order they happened.
    mutating func takeEvents() -> [AlertEvent] {
        defer { pending.removeAll() }
        return pending
    }

    /// Swaps the rules without losing windows or the state of unchanged rules.
    mutating func replaceRules(_ rules: [AlertRule]) {
        let horizon = LiveAlerting.horizon(for: rules, minimum: minimumHorizon)
        if horizon != windows.horizon {
            let resized = LiveWindows(horizon: horizon)
            for id in windows.activeKeys(endingAt: clockSecond) {
                resized.restore(key: id, windows.buckets(key: id, endingAt: clockSecond))
            }
            windows = resized
        }
        evaluator.replaceRules(rules)
    }

    // MARK: - Checkpoints

    /// The windows and rule states, by key name, for a checkpoint.
    func saved(naming name: (UInt32) -> String) -> (clockSecond: Int64?, windows: [String: [LiveWindows.Bucket]], tracks: [String: [String: RuleTrack]]) {
        guard clockSecond != .min else { return (nil, [:], [:]) }
        var savedWindows: [String: [LiveWindows.Bucket]] = [:]
        for id in windows.activeKeys(endingAt: clockSecond) {
            savedWindows[name(id)] = windows.buckets(key: id, endingAt: clockSecond)
        }
        var savedTracks: [String: [String: RuleTrack]] = [:]
        for (id, tracks) in evaluator.savedTracks where !tracks.isEmpty { savedTracks[name(id)] = tracks }
        return (clockSecond, savedWindows, savedTracks)
    }

    /// Puts a checkpoint's windows and rule states back; `id` interns a key name.
    mutating func restore(clockSecond: Int64?, windows saved: [String: [LiveWindows.Bucket]], tracks: [String: [String: RuleTrack]],
                          id: (String) -> UInt32)
    {
        self.clockSecond = clockSecond ?? .min
        firstSecond = self.clockSecond
        for (name, buckets) in saved { windows.restore(key: id(name), buckets) }
        for (name, keyTracks) in tracks { evaluator.restore(key: id(name), keyTracks) }
    }

    /// Starts the wall clock's watch over the event clock.
    mutating func start(wall: Double) { wallAtClock = wall }
}
