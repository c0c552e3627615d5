import AccessLogFormat
import AlertRules
import FlagAggregation
import LogFollow
import RecordCounting

/// What `tail` reports while it runs, on its own thread.
public enum TailOutput {
    /// Alerts starting or ending, in the order they happened.
    case alerts([AlertEvent])
    /// Alerts firing, and sent, before a restart (restored from the checkpoint): not new.
    case resumed([AlertEvent])
    /// A problem that does not stop following (diagnostics, to stderr).
    case warning(String)
}

/// The follow loop: files are followed, their lines counted by the counting core, the
/// records handed to the live rules, the events emitted; checkpoints and snapshots are taken
/// between passes (`TailEngine+Checkpoint`, `TailEngine+Snapshot`). One thread does all of it.
public final class TailEngine: FollowerDelegate {
    public private(set) var options: TailOptions
    let output: (TailOutput) -> Void
    let clock: TailClock
    let follower: Follower
    let store: StateStore?
    let counter: RecordCounter
    var alerting: LiveAlerting

    /// The latest snapshot, for other threads.
    public let published = SnapshotBoard()
    var lastPublished = 0.0

    /// Counts of earlier runs (from the state) and of this one.
    var earlier = LiveCounters()
    var earlierTotals = FlagTotals()
    /// `InputTally.order` of this run's inputs: past every earlier run's, so that a cause's
    /// sample stays the first line ever counted with it, not this run's first.
    var runOrder = 0
    var thisRun = LiveCounters()
    /// Per input path, over every run.
    var inputs: [String: InputCounts] = [:]
    var contexts: [Int: FileContext] = [:]
    /// Per pushed stream (and shape of its records).
    var pushed: [String: FileContext] = [:]
    var fieldPlans: [String: LinePlan] = [:]

    var dirty = false
    var lastCheckpoint = 0.0
    var lastSync = 0.0
    var checkpointFailing = false

    /// Per open file: its input tally (formats are detected per file) and split-line joiner.
    final class FileContext {
        var input: InputTally
        var joiner: ContainerLineJoiner

        init(input: InputTally, maxLineLength: Int) {
            self.input = input
            joiner = ContainerLineJoiner(maxLength: maxLineLength)
        }
    }

    public init(options: TailOptions, clock: TailClock = WallClock(), output: @escaping (TailOutput) -> Void) throws {
        var options = options
        options.follow.maxLineLength = options.reading.maxLineLength
        store = try options.stateDirectory.map { try StateStore(directory: $0) }
        let state = options.ignoreCheckpoints ? nil : try store?.load()
        if let state {
            // A state written before group orders existed grouped every input by its one field.
            let names = [state.groupBy] + (state.groupOrder ?? [state.groupBy])
            let kinds = names.compactMap(FieldKind.init(groupName:))
            guard kinds.count == names.count else { throw TailError("state: unknown grouping '\(names.joined(separator: ","))'") }
            let order = Array(kinds.dropFirst())
            if let groupBy = options.reading.groupBy, groupBy != order {
                throw TailError("the state directory counts by \(order.groupNames), not \(groupBy.groupNames); use another --state-dir or --ignore-checkpoints")
            }
            options.reading.groupBy = order
            options.reading.primaryGroupKey = kinds[0]
        }
        if options.reading.primaryGroupKey == nil, options.reading.plans.count == 1 {
            options.reading.primaryGroupKey = options.reading.plans[0].groupKey(preferring: options.reading.groupOrder)
        }
        self.options = options
        self.output = output
        self.clock = clock
        counter = RecordCounter(configuration: options.reading)
        alerting = LiveAlerting(rules: options.rules, minimumHorizon: options.activity?.seconds ?? 60)
        follower = Follower(options: options.follow, checkpoints: state?.files ?? [])
        follower.delegate = self
        if let state { restore(state) }
    }

    // MARK: - Running

    /// Follows until `afterEachPass` returns false. It is called after every pass: when a file
    /// changed, when `wake` (a descriptor written to on a signal) became readable, and at least
    /// once a second. Standard input followed alone also ends the run when it ends.
    public func run(wake: Int32, afterEachPass: () -> Bool) {
        start()
        while true {
            let now = pass()
            if !afterEachPass() || !follower.isFollowing { break }
            // Snapshots come on time while nothing is read, as well as once a second.
            let untilSnapshot = options.snapshotInterval.map { max(0, lastPublished + $0 - now) } ?? 1
            _ = follower.wait(timeout: follower.hasBacklog ? 0 : min(1 - (now - now.rounded(.down)), untilSnapshot),
                              extra: [wake] + (options.inbox.map { [$0.wakeDescriptor] } ?? []))
        }
        stop()
    }

    /// Resumes the alerts a checkpoint says are firing, and starts the clocks.
    public func start() {
        alerting.start(wall: clock.now())
        let firing = alerting.evaluator.firingEvents(naming: counter.keyName)
        if !firing.isEmpty { output(.resumed(firing)) }
    }

    /// One pass at the clock's time: what the files gained is counted, the rules stepped, the
    /// events emitted, and a checkpoint and a snapshot taken when due. Returns the time.
    @discardableResult
    public func pass() -> Double {
        let now = clock.now()
        follower.pass(now: now)
        countPushed()
        alerting.evaluateTouched(naming: counter.keyName)
        alerting.followWallClock(now, naming: counter.keyName)
        let hadEvents = alerting.hasPendingEvents
        flushEvents()
        if hadEvents || (dirty && now - lastCheckpoint >= options.checkpointInterval) {
            checkpoint(durable: now - lastSync >= options.syncInterval)
        }
        if let interval = options.snapshotInterval, now - lastPublished >= interval {
            publishSnapshot(at: now)
        }
        return now
    }

    /// The last events and a durable checkpoint.
    public func stop() {
        while let inbox = options.inbox, inbox.queuedBytes > 0 { countPushed() }
        alerting.evaluateTouched(naming: counter.keyName)
        flushEvents()
        checkpoint(durable: true)
    }

    private func flushEvents() {
        let events = alerting.takeEvents()
        guard !events.isEmpty else { return }
        for event in events {
            if event.status == .firing { thisRun.alertsFired += 1 } else { thisRun.alertsResolved += 1 }
        }
        output(.alerts(events))
        dirty = true
    }

    /// Swaps the rules without losing windows or the state of unchanged rules.
    public func replaceRules(_ rules: [AlertRule]) {
        options.rules = rules
        alerting.replaceRules(rules)
        dirty = true
    }

    // MARK: - Lines

    public func follower(read lines: UnsafeMutableRawBufferPointer, from file: FollowedFile) {
        count(lines: UnsafeRawBufferPointer(lines), in: context(for: file), path: file.path)
    }

    /// Counts whole lines of one input and hands the records to the rules.
    private func count(lines: UnsafeRawBufferPointer, in context: FileContext, path: String) {
        guard let base = lines.baseAddress else { return }
        counter.prepare(&context.input, head: lines)
        let wall = clock.now()
        let wallMicros = Int64(wall * 1_000_000)
        counter.processingMicros = wallMicros
        context.input.summary.bytes += lines.count
        var start = 0
        while start < lines.count {
            let newline = LineSplitter.newline(in: base, from: start, end: lines.count)
            let line = UnsafeRawBufferPointer(start: base + start, count: newline - start)
            start = newline + 1
            let taken = context.joiner.take(line) { line in
                guard let record = counter.count(line, &context.input) else { return }
                add(record, wall: wall, wallMicros: wallMicros)
            }
            if case .tooLong = taken { counter.countTooLong(UnsafeRawBufferPointer(start: nil, count: 0), &context.input) }
        }
        take(context, path: path)
    }

    @inline(__always)
    private func add(_ record: CountedRecord, wall: Double, wallMicros: Int64) {
        // A record without a start time is windowed at the time it was read.
        let micros = record.micros == .min ? wallMicros : record.micros
        alerting.add(key: record.key, micros: micros, flags: record.flags, cause: record.cause, wall: wall, naming: counter.keyName)
    }

    // MARK: - Pushed records

    /// Counts what receivers pushed since the last pass, up to the pass budget.
    private func countPushed() {
        guard let inbox = options.inbox else { return }
        for batch in inbox.take(maxBytes: TailEngine.pushedPassBudget) {
            switch batch.records {
            case .lines(let bytes):
                let context = pushedContext(batch.input, format: nil)
                bytes.withUnsafeBytes { count(lines: $0, in: context, path: context.input.summary.path) }
            case .fields(let writer, let format):
                let context = pushedContext(batch.input, format: format)
                let wall = clock.now()
                let wallMicros = Int64(wall * 1_000_000)
                counter.processingMicros = wallMicros
                context.input.summary.bytes += writer.bytes.count
                writer.bytes.withUnsafeBytes { batch in
                    FieldRecords.forEach(in: batch) { fields in
                        guard let record = counter.count(fields: fields, &context.input) else { return }
                        add(record, wall: wall, wallMicros: wallMicros)
                    }
                }
                take(context, path: context.input.summary.path)
            }
        }
    }

    /// The input of a pushed stream: its lines' format is detected per stream, as a file's is.
    /// Senders name streams, so at most `maxPushedInputs` are told apart; the rest are one.
    private func pushedContext(_ name: String, format: String?) -> FileContext {
        let key = (format ?? "") + "\u{0}" + name
        if let context = pushed[key] { return context }
        guard pushed.count < TailEngine.maxPushedInputs else {
            return pushedContext("other", format: format)
        }
        var input = format.map { counter.makeInput(path: name, plan: fieldPlan(named: $0)) } ?? counter.makeInput(path: name)
        input.order = runOrder
        let context = FileContext(input: input, maxLineLength: options.reading.maxLineLength)
        pushed[key] = context
        return context
    }

    static let maxPushedInputs = 1024
    /// Bytes of pushed records counted per pass: as much as a pass reads of files.
    static let pushedPassBudget = 16 << 20

    /// Plans of pushed fields, by the format name they are reported by (`envoy-als`…).
    private func fieldPlan(named name: String) -> LinePlan {
        if let plan = fieldPlans[name] { return plan }
        let plan = LinePlan(name: name, jsonKeys: .standard)
        fieldPlans[name] = plan
        return plan
    }

    public func follower(skippedLongLineIn file: FollowedFile) {
        let context = self.context(for: file)
        counter.countTooLong(UnsafeRawBufferPointer(start: nil, count: 0), &context.input)
        take(context, path: file.path)
    }

    /// Moves a file's new counts into the per-path totals kept across runs.
    private func take(_ context: FileContext, path: String) {
        let batch = context.input.takeSummary()
        inputs[path, default: InputCounts()].add(batch)
        thisRun.records += batch.records
        thisRun.bytes += Int64(batch.bytes)
        dirty = true
    }

    public func follower(truncated file: FollowedFile) {
        contexts[file.id]?.joiner.reset()
        output(.warning("\(file.path): truncated; reading it again from the start"))
    }

    public func follower(finished file: FollowedFile) {
        if let context = contexts.removeValue(forKey: file.id) { counter.close(context.input) }
        dirty = true
    }

    public func follower(warning: String) { output(.warning(warning)) }

    private func context(for file: FollowedFile) -> FileContext {
        if let context = contexts[file.id] { return context }
        var input = counter.makeInput(path: file.path)
        input.order = runOrder
        let context = FileContext(input: input, maxLineLength: options.reading.maxLineLength)
        contexts[file.id] = context
        return context
    }

    // MARK: - Counts

    /// Totals of every run, by key name.
    public var totals: FlagTotals {
        var totals = earlierTotals
        totals.merge(counter.totals())
        return totals
    }

    /// Counts over every run.
    public var counters: LiveCounters {
        var counters = earlier
        counters.records += thisRun.records
        counters.bytes += thisRun.bytes
        counters.alertsFired += thisRun.alertsFired
        counters.alertsResolved += thisRun.alertsResolved
        counters.rotations += follower.rotations
        counters.truncations += follower.truncations
        counters.late += counter.late
        counters.untimed += counter.untimed
        counters.keysOverflowed += counter.keysOverflowed
        for (reason, count) in counter.malformedCounts { counters.malformedByReason[reason.name, default: 0] += count }
        var byFormat = counter.recordsByFormat
        for context in contexts.values { byFormat.merge(context.input.recordsByFormat, uniquingKeysWith: +) }
        for context in pushed.values { byFormat.merge(context.input.recordsByFormat, uniquingKeysWith: +) }
        counters.recordsByFormat.merge(byFormat, uniquingKeysWith: +)
        return counters
    }

    /// Counters and how far behind each file reading is.
    public var statistics: LiveStatistics {
        LiveStatistics(counters: counters, inputs: follower.files.map {
            LiveStatistics.Input(path: $0.path, offset: $0.readOffset, size: $0.size, bytesBehind: $0.bytesBehind)
        })
    }

    /// The counts of every run, in the shape of a scan's, for the JSON report.
    public func summary() -> CountSummary {
        let counters = self.counters
        var summary = CountSummary(groupBy: primaryGroupKey)
        summary.recordsByFormat = counters.recordsByFormat
        summary.records = counters.records
        summary.malformed = counters.malformed
        for reason in MalformedReason.allCases {
            if let count = counters.malformedByReason[reason.name] { summary.malformedByReason[reason] = count }
        }
        summary.totals = totals
        summary.late = counters.late
        summary.keysOverflowed = counters.keysOverflowed
        summary.untimed = counters.untimed
        summary.inputs = inputs.sorted { $0.key < $1.key }.map { $0.value.summary(path: $0.key) }
        return summary
    }

    /// The field whose keys keep plain names: the first input's, or the order's first before any.
    var primaryGroupKey: FieldKind { counter.keys.primary ?? options.reading.groupOrder[0] }
}

extension InputCounts {
    mutating func add(_ summary: InputSummary) {
        bytes += Int64(summary.bytes)
        records += summary.records
        malformed += summary.malformed
        groupBy = summary.groupBy?.groupName ?? groupBy
        envelope = summary.envelope?.name ?? envelope
        if !summary.missingFields.isEmpty {
            var merged = missingFields ?? MissingFields()
            merged.add(summary.missingFields)
            missingFields = merged
        }
    }

    func summary(path: String) -> InputSummary {
        var summary = InputSummary(path: path, bytes: Int(bytes), records: records, malformed: malformed)
        summary.groupBy = groupBy.flatMap(FieldKind.init(groupName:))
        summary.envelope = Envelope.allCases.first { $0.name == envelope }
        summary.missingFields = missingFields ?? MissingFields()
        return summary
    }
}

extension [FieldKind] {
    /// `cluster,authority`: as `--group-by` takes it.
    var groupNames: String { map(\.groupName).joined(separator: ",") }
}
