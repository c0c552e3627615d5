import AccessLogFormat
import AlertRules
import FlagAggregation
import Foundation
import LogFollow
import LogScan
import Synchronization

/// Everything that shapes `tail`; the CLI fills it from flags.
public struct TailOptions: Sendable {
    public var follow: Follower.Options
    public var format: FormatChoice = .automatic
    /// nil: the cluster when the format has one, else `:authority` (as `scan`).
    public var groupBy: FieldKind?
    public var rules: [AlertRule] = AlertRule.defaults
    public var maxKeys = 10_000
    /// Records starting this many seconds before the newest start time are counted as late.
    public var allowedLateness = 30
    public var timeSource = TimeSource.event
    /// Where checkpoints live; nil keeps no state (every run starts afresh).
    public var stateDirectory: String?
    /// Start over: read files per `follow.startAtEnd` and reset the counts.
    public var ignoreCheckpoints = false
    /// Seconds between checkpoints while lines are being counted.
    public var checkpointInterval = 1.0
    /// Seconds between checkpoints that are also flushed to the disk.
    public var syncInterval = 10.0
    /// Seconds between snapshots published for other threads (the metrics endpoint); nil
    /// publishes none.
    public var snapshotInterval: Double?

    public init(follow: Follower.Options) { self.follow = follow }
}

/// A look at a running `tail`: its counters and each open file's position.
public struct TailStatistics: Sendable {
    public struct File: Sendable {
        public var path: String
        public var offset: Int64
        public var size: Int64
        public var bytesBehind: Int64

        public init(path: String, offset: Int64, size: Int64, bytesBehind: Int64) {
            self.path = path
            self.offset = offset
            self.size = size
            self.bytesBehind = bytesBehind
        }
    }

    public var counters: TailCounters
    public var files: [File] = []

    public init(counters: TailCounters, files: [File] = []) {
        self.counters = counters
        self.files = files
    }
}

/// Everything another thread may show about a running `tail`, taken at one instant.
public struct TailSnapshot: Sendable {
    public struct Alert: Sendable {
        public var rule: String
        public var cluster: String
        public var state: LiveEvaluator.AlertState

        public init(rule: String, cluster: String, state: LiveEvaluator.AlertState) {
            self.rule = rule
            self.cluster = cluster
            self.state = state
        }
    }

    public var statistics: TailStatistics
    /// Per key, over every run.
    public var totals: FlagTotals
    public var alerts: [Alert]
    /// Flag codes the rules watch: exported for every key, zeros included, so that a rate
    /// over them starts from 0 rather than from a series that appears mid-incident.
    public var watchedFlags: [String]
    /// Wall-clock seconds when it was taken: how alive the follow loop is.
    public var takenAt: Double

    public init(statistics: TailStatistics, totals: FlagTotals, alerts: [Alert], watchedFlags: [String], takenAt: Double) {
        self.statistics = statistics
        self.totals = totals
        self.alerts = alerts
        self.watchedFlags = watchedFlags
        self.takenAt = takenAt
    }
}

/// Where the follow loop leaves its latest snapshot for other threads; nil until the first
/// pass is done.
public final class SnapshotBoard: Sendable {
    public let latest = Mutex<TailSnapshot?>(nil)

    public init() {}
}

/// What `tail` reports while it runs, on its own thread.
public enum TailOutput {
    /// Alerts starting or ending, in the order they happened.
    case alerts([AlertEvent])
    /// Alerts firing, and sent, before a restart (restored from the checkpoint): not new.
    case resumed([AlertEvent])
    /// A problem that does not stop following (diagnostics, to stderr).
    case warning(String)
}

/// The daemon loop: follow files, count their lines, keep windows, step the rules, emit alerts,
/// checkpoint. One thread does all of it; the work per line is the scanner's.
public final class TailEngine: FollowerDelegate {
    public private(set) var options: TailOptions
    private let output: (TailOutput) -> Void
    private let follower: Follower
    private let store: StateStore?
    private let tokenizer = LineTokenizer(internedKeys: [])
    private let plans: [LinePlan]
    private var groupKey: GroupKey?
    private let counter = FlagCounter()
    private var windows: LiveWindows
    private var evaluator: LiveEvaluator

    /// The latest snapshot, for other threads.
    public let published = SnapshotBoard()
    private var lastPublished = 0.0

    /// Counts over every run (seeded from the state), and the totals of earlier runs.
    public private(set) var counters = TailCounters()
    private var earlierTotals = FlagTotals()
    private var inputs: [String: InputCounts] = [:]
    private var contexts: [Int: FileContext] = [:]

    /// The event clock: the newest second counted, moved on by the wall clock when lines stop.
    private var clockSecond = Int64.min
    private var wallAtClock = 0.0
    private var latestStart = Int64.min
    private var touched: [UInt32] = []
    private var isTouched: [Bool] = []
    private var pendingEvents: [AlertEvent] = []
    private var dirty = false
    private var lastCheckpoint = 0.0
    private var lastSync = 0.0
    private var checkpointFailing = false
    private var savedWindows: [String: [LiveWindows.Bucket]] = [:]
    private var savedTracks: [String: [String: RuleTrack]] = [:]
    /// Counts of earlier runs and of files already closed.
    private var earlierRotations = 0
    private var earlierTruncations = 0
    private var finishedRecordsByFormat: [String: Int] = [:]

    /// Per open file: its parser (formats are detected per file) and split-line joiner.
    final class FileContext {
        let parser: LineParser
        var joiner: ContainerLineJoiner
        var formatChosen: Bool

        init(parser: LineParser, maxLineLength: Int) {
            self.parser = parser
            joiner = ContainerLineJoiner(maxLength: maxLineLength)
            formatChosen = !parser.isAutomatic
        }

        func addRecordsByFormat(to byFormat: [String: Int]) -> [String: Int] {
            var byFormat = byFormat
            for (index, plan) in parser.plans.enumerated() where parser.recordsByPlan[index] > 0 {
                byFormat[plan.name, default: 0] += parser.recordsByPlan[index]
            }
            return byFormat
        }
    }

    public init(options: TailOptions, output: @escaping (TailOutput) -> Void) throws {
        self.options = options
        self.output = output
        switch options.format {
        case .automatic: plans = BuiltinFormat.allCases.map(\.plan)
        case .fixed(let plan): plans = [plan]
        }
        windows = LiveWindows(horizon: TailEngine.horizon(for: options.rules))
        evaluator = LiveEvaluator(rules: options.rules)
        store = try options.stateDirectory.map { try StateStore(directory: $0) }
        let state = options.ignoreCheckpoints ? nil : try store?.load()
        follower = Follower(options: options.follow, checkpoints: state?.files ?? [])
        follower.delegate = self
        if let state { try restore(state) }
        if let groupBy = options.groupBy ?? (plans.count == 1 ? plans[0].defaultGroupKey : nil), groupKey == nil {
            setGroupKey(groupBy)
        }
    }

    static func horizon(for rules: [AlertRule]) -> Int { max(60, rules.map(\.window).max() ?? 60) }

    private func setGroupKey(_ kind: FieldKind) {
        let key = GroupKey(kind: kind, tokenizer: tokenizer, maxKeys: options.maxKeys)
        groupKey = key
        for (name, buckets) in savedWindows { windows.restore(key: key.interner.intern(name), buckets) }
        for (name, tracks) in savedTracks { evaluator.restore(key: key.interner.intern(name), tracks) }
        savedWindows = [:]
        savedTracks = [:]
    }

    private func restore(_ state: TailState) throws {
        guard let kind = FieldKind(groupName: state.groupBy) else { throw TailError("state: unknown grouping '\(state.groupBy)'") }
        if let groupBy = options.groupBy, groupBy != kind {
            throw TailError("the state directory counts by \(state.groupBy), not \(groupBy.groupName); use another --state-dir or --ignore-checkpoints")
        }
        options.groupBy = kind
        counters = state.counters
        earlierRotations = counters.rotations
        earlierTruncations = counters.truncations
        finishedRecordsByFormat = counters.recordsByFormat
        earlierTotals = state.totals
        inputs = state.inputs
        clockSecond = state.clockSecond ?? .min
        savedWindows = state.windows
        savedTracks = state.tracks
        setGroupKey(kind)
    }

    // MARK: - Running

    /// Follows until `afterEachPass` returns false. It is called after every pass: when a file
    /// changed, when `wake` (a descriptor written to on a signal) became readable, and at least
    /// once a second. Standard input followed alone also ends the run when it ends.
    public func run(wake: Int32, afterEachPass: () -> Bool) {
        wallAtClock = TailEngine.wallSeconds()
        if let groupKey {
            let firing = evaluator.firingEvents { groupKey.interner.string(for: $0) }
            if !firing.isEmpty { output(.resumed(firing)) }
        }
        while true {
            let now = TailEngine.wallSeconds()
            follower.pass(now: now)
            afterPass(now: now)
            if !afterEachPass() || !follower.isFollowing { break }
            _ = follower.wait(timeout: 1 - (now - now.rounded(.down)), extra: wake)
        }
        evaluateTouched()
        flushEvents()
        checkpoint(durable: true)
    }

    private func afterPass(now: Double) {
        evaluateTouched()
        // No line moved the clock for a while: let wall time move it, so alerts resolve when
        // traffic stops.
        if clockSecond != .min, now - wallAtClock >= 1 {
            advanceClock(to: clockSecond + Int64(now - wallAtClock), wall: now)
        }
        counters.rotations = earlierRotations + follower.rotations
        counters.truncations = earlierTruncations + follower.truncations
        let hadEvents = !pendingEvents.isEmpty
        flushEvents()
        if hadEvents || (dirty && now - lastCheckpoint >= options.checkpointInterval) {
            checkpoint(durable: now - lastSync >= options.syncInterval)
        }
        if let interval = options.snapshotInterval, now - lastPublished >= interval {
            lastPublished = now
            let snapshot = self.snapshot(at: now)
            published.latest.withLock { $0 = snapshot }
        }
    }

    private func flushEvents() {
        guard !pendingEvents.isEmpty else { return }
        for event in pendingEvents {
            if event.status == .firing { counters.alertsFired += 1 } else { counters.alertsResolved += 1 }
        }
        output(.alerts(pendingEvents))
        pendingEvents.removeAll()
        dirty = true
    }

    /// Swaps the rules without losing windows or the state of unchanged rules.
    public func replaceRules(_ rules: [AlertRule]) {
        options.rules = rules
        let horizon = TailEngine.horizon(for: rules)
        if horizon != windows.horizon {
            let resized = LiveWindows(horizon: horizon)
            for id in windows.activeKeys(endingAt: clockSecond) {
                resized.restore(key: id, windows.buckets(key: id, endingAt: clockSecond))
            }
            windows = resized
        }
        evaluator.replaceRules(rules)
        dirty = true
    }

    // MARK: - Lines

    public func follower(read lines: UnsafeMutableRawBufferPointer, from file: FollowedFile) {
        let context = self.context(for: file)
        guard let base = lines.baseAddress else { return }
        if !context.formatChosen {
            context.formatChosen = context.parser.chooseFormat(from: UnsafeRawBufferPointer(lines))
        }
        if groupKey == nil { setGroupKey(context.parser.currentPlan.defaultGroupKey) }
        let key = groupKey!
        var inputCounts = inputs[file.path] ?? InputCounts()
        inputCounts.bytes += Int64(lines.count)
        counters.bytes += Int64(lines.count)
        var start = 0
        while start < lines.count {
            let newline = LineSplitter.newline(in: base, from: start, end: lines.count)
            let line = UnsafeRawBufferPointer(start: base + start, count: newline - start)
            start = newline + 1
            switch context.joiner.take(line, emit: { handle($0, context.parser, key, &inputCounts) }) {
            case .passed, .held: break
            case .tooLong: malformed(.lineTooLong, &inputCounts)
            }
        }
        inputs[file.path] = inputCounts
        dirty = true
    }

    public func follower(skippedLongLineIn file: FollowedFile) {
        malformed(.lineTooLong, &inputs[file.path, default: InputCounts()])
    }

    public func follower(truncated file: FollowedFile) {
        contexts[file.id]?.joiner.reset()
        output(.warning("\(file.path): truncated; reading it again from the start"))
    }

    public func follower(finished file: FollowedFile) {
        if let context = contexts.removeValue(forKey: file.id) { finishedRecordsByFormat = context.addRecordsByFormat(to: finishedRecordsByFormat) }
        dirty = true
    }

    public func follower(warning: String) { output(.warning(warning)) }

    private func context(for file: FollowedFile) -> FileContext {
        if let context = contexts[file.id] { return context }
        let parser: LineParser
        switch options.format {
        case .automatic: parser = LineParser(choosingAmong: plans, tokenizer: tokenizer)
        case .fixed(let plan): parser = LineParser(plan: plan, tokenizer: tokenizer)
        }
        let context = FileContext(parser: parser, maxLineLength: options.follow.maxLineLength)
        contexts[file.id] = context
        return context
    }

    private func handle(_ line: UnsafeRawBufferPointer, _ parser: LineParser, _ key: GroupKey, _ inputCounts: inout InputCounts) {
        let length = line.count
        if length == 0 || (length == 1 && line[0] == 13) { return }
        if length > options.follow.maxLineLength {
            malformed(.lineTooLong, &inputCounts)
            return
        }
        if let reason = parser.parse(line) {
            malformed(reason, &inputCounts)
            return
        }
        let record = tokenizer.record
        counters.records += 1
        inputCounts.records += 1
        let id = key.id(of: record, overflowed: &counters.keysOverflowed)
        counter.count(record, key: id, tokenizer: tokenizer)
        var micros = record.startMicros
        if options.timeSource == .processing || micros == .min {
            if micros == .min { counters.untimed += 1 }
            micros = Int64(TailEngine.wallSeconds() * 1_000_000)
        } else if micros > latestStart {
            latestStart = micros
        } else if micros < latestStart - Int64(options.allowedLateness) * 1_000_000 {
            counters.late += 1
        }
        let second = micros >= 0 ? micros / 1_000_000 : (micros - 999_999) / 1_000_000
        if second > clockSecond { advanceClock(to: second, wall: TailEngine.wallSeconds()) }
        // Older than every window: counted, but no rule can see it any more.
        guard second > clockSecond - Int64(windows.horizon) else { return }
        windows.add(key: id, second: second, flags: record.flags.rawValue)
        if Int(id) >= isTouched.count { isTouched.append(contentsOf: repeatElement(false, count: Int(id) + 1 - isTouched.count)) }
        if !isTouched[Int(id)] {
            isTouched[Int(id)] = true
            touched.append(id)
        }
    }

    private func malformed(_ reason: MalformedReason, _ inputCounts: inout InputCounts) {
        counters.malformedByReason[reason.name, default: 0] += 1
        inputCounts.malformed += 1
    }

    // MARK: - Rules

    /// Moves the clock to `second`, first closing every second passed (at most a horizon's
    /// worth: older seconds have left every window).
    private func advanceClock(to second: Int64, wall: Double) {
        if clockSecond != .min {
            var closing = max(clockSecond, second - Int64(windows.horizon))
            while closing < second {
                evaluateAll(at: closing)
                closing += 1
            }
            windows.prune(endingAt: second)
        }
        clockSecond = second
        wallAtClock = wall
    }

    /// Steps the keys counted since the last pass: a `for: 0` rule fires on the batch that
    /// holds the breaching line, not a second later.
    private func evaluateTouched() {
        guard let groupKey, clockSecond != .min else { return }
        for id in touched {
            isTouched[Int(id)] = false
            pendingEvents += evaluator.evaluate(key: id, name: groupKey.interner.string(for: id), second: clockSecond,
                                                windows: windows, secondEnded: false)
        }
        touched.removeAll(keepingCapacity: true)
    }

    /// Steps every key with recent records or an unresolved alert as second `second` ends.
    private func evaluateAll(at second: Int64) {
        guard let groupKey else { return }
        let keys = Set(windows.activeKeys(endingAt: second)).union(evaluator.trackedKeys)
        for id in keys.sorted() {
            pendingEvents += evaluator.evaluate(key: id, name: groupKey.interner.string(for: id), second: second,
                                                windows: windows, secondEnded: true)
        }
    }

    // MARK: - State

    /// Totals of every run, by key name.
    public var totals: FlagTotals {
        var totals = earlierTotals
        if let groupKey { totals.merge(counter.totals { groupKey.interner.string(for: $0) }) }
        return totals
    }

    private func checkpoint(durable: Bool) {
        guard let store else { return }
        let now = TailEngine.wallSeconds()
        lastCheckpoint = now
        if durable { lastSync = now }
        var state = TailState(groupBy: (groupKey?.kind ?? options.groupBy ?? .upstreamCluster).groupName)
        state.files = follower.positions.map { $0.checkpoint(holding: contexts[$0.id]?.joiner.heldBytes ?? 0) }
        state.counters = counters
        state.counters.recordsByFormat = recordsByFormat
        state.totals = totals
        state.inputs = inputs
        if clockSecond != .min, let groupKey {
            state.clockSecond = clockSecond
            for id in windows.activeKeys(endingAt: clockSecond) {
                state.windows[groupKey.interner.string(for: id)] = windows.buckets(key: id, endingAt: clockSecond)
            }
            for (id, tracks) in evaluator.savedTracks where !tracks.isEmpty {
                state.tracks[groupKey.interner.string(for: id)] = tracks
            }
        }
        do {
            try store.save(state, durable: durable)
            if checkpointFailing { output(.warning("checkpoints are written again")) }
            checkpointFailing = false
            dirty = false
        } catch {
            // Keep counting; the previous checkpoint stays whole and the next try may succeed.
            if !checkpointFailing { output(.warning("cannot write checkpoint: \(error); counting goes on")) }
            checkpointFailing = true
        }
    }

    /// Records per format over every run.
    private var recordsByFormat: [String: Int] {
        contexts.values.reduce(finishedRecordsByFormat) { $1.addRecordsByFormat(to: $0) }
    }

    /// Counters and how far behind each file reading is.
    public var statistics: TailStatistics {
        var statistics = TailStatistics(counters: counters)
        statistics.counters.recordsByFormat = recordsByFormat
        statistics.files = follower.files.map {
            TailStatistics.File(path: $0.path, offset: $0.readOffset, size: $0.size, bytesBehind: $0.bytesBehind)
        }
        return statistics
    }

    private func snapshot(at now: Double) -> TailSnapshot {
        let alerts = evaluator.activeAlerts.compactMap { alert in
            groupKey.map { TailSnapshot.Alert(rule: alert.rule, cluster: $0.interner.string(for: alert.key), state: alert.state) }
        }
        let watched = Set(options.rules.flatMap(\.flagCodes)).sorted()
        return TailSnapshot(statistics: statistics, totals: totals, alerts: alerts, watchedFlags: watched, takenAt: now)
    }

    /// The counts of every run, shaped as a scan's result for the JSON report.
    public func scanResult() -> ScanResult {
        var result = ScanResult(groupBy: groupKey?.kind ?? options.groupBy ?? .upstreamCluster)
        result.recordsByFormat = recordsByFormat
        result.records = counters.records
        result.malformed = counters.malformed
        for reason in MalformedReason.allCases {
            if let count = counters.malformedByReason[reason.name] { result.malformedByReason[reason] = count }
        }
        result.totals = totals
        result.late = counters.late
        result.keysOverflowed = counters.keysOverflowed
        result.untimed = counters.untimed
        result.inputs = inputs.sorted { $0.key < $1.key }.map {
            InputSummary(path: $0.key, bytes: Int($0.value.bytes), records: $0.value.records, malformed: $0.value.malformed)
        }
        return result
    }

    static func wallSeconds() -> Double {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
    }
}
