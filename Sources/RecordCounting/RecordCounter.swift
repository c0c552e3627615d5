import AccessLogFormat
import FailureCauses

/// A record the counter took, as the windows need it.
public struct CountedRecord: Sendable {
    /// The key's id (see `RecordCounter.keys`).
    public var key: UInt32
    /// The time the windows bucket it at: its start time, or the read time under
    /// `TimeSource.processing`; `Int64.min` for a record without a start time (event time).
    public var micros: Int64
    public var flags: UInt32
    /// `FailureCause.rawValue` of a record with a response flag, else `noCause`.
    public var cause: UInt8

    public static let noCause = UInt8.max
}

/// One input's pass through the counter: its parser (formats are detected per input), the
/// field it is grouped by (decided with its format), its counts, and the watermark that
/// decides lateness.
public struct InputTally {
    public let parser: LineParser
    public var summary: InputSummary
    /// Physical lines, blank ones included: where the input's next line is, for samples.
    public var physicalLines = 0
    /// Where this input stands among the driver's inputs, for `CauseSample.inputOrder`.
    public var order = 0
    var formatChosen: Bool
    /// The keys of the field it is grouped by; nil until `prepare`.
    var keyLookup: KeyLookup?
    /// The fields a record of this input is looked at for (`MissingFields`).
    var countedFields = MissingFields.always
    /// The newest start time counted in this input.
    var latestStart = Int64.min

    /// Records per format name parsed in this input so far.
    public var recordsByFormat: [String: Int] {
        var byFormat: [String: Int] = [:]
        for (index, plan) in parser.plans.enumerated() where parser.recordsByPlan[index] > 0 {
            byFormat[plan.name, default: 0] += parser.recordsByPlan[index]
        }
        return byFormat
    }

    /// The counts since the last call, leaving zeros: for a driver that keeps its own totals
    /// per input (tail keeps them across runs).
    public mutating func takeSummary() -> InputSummary {
        defer {
            summary.bytes = 0
            summary.lines = 0
            summary.records = 0
            summary.malformed = 0
            summary.missingFields = MissingFields()
        }
        return summary
    }
}

/// The counting core: line → record → key → counters, the same for every driver.
///
/// One counter per thread. It owns the tokenizer and the flag counter, checks the line's
/// length, parses it with the input's parser, counts malformed lines by reason (keeping
/// samples), applies `--since`/`--until`, interns the key of the input's group field within
/// `maxKeys`, counts the fields its records lacked and the flags and, for a record with a flag,
/// its cause (the classifier runs on flagged records only), tracks lateness against the input's
/// watermark, and hands each counted record back to its driver, whose windows take it from
/// there. Nothing is allocated per line but a key's first line of a cause, kept as its sample.
public final class RecordCounter {
    public let configuration: ReadingConfiguration
    public let tokenizer = LineTokenizer(internedKeys: [])
    public let flagCounter = FlagCounter()
    public let classifier: FailureClassifier
    public let plans: [LinePlan]
    /// The keys of every field the inputs were grouped by.
    public let keys: GroupKeys
    /// Time given to records under `TimeSource.processing`: the driver sets it from its clock,
    /// once per chunk or batch rather than once per line.
    public var processingMicros: Int64 = 0

    public private(set) var malformedByReason = Array(repeating: 0, count: MalformedReason.allCases.count)
    public private(set) var outsideTimeRange = 0
    public private(set) var late = 0
    public private(set) var keysOverflowed = 0
    public private(set) var untimed = 0
    /// Records per format of the inputs already closed.
    public private(set) var recordsByFormat: [String: Int] = [:]
    private var samples: [MalformedSample] = []
    /// The first line of each (key, cause), by `key << 8 | cause`: at most keys × causes.
    private var causeSamples: [UInt64: CauseSample] = [:]
    private let since: Int64
    private let until: Int64
    private let allowedLatenessMicros: Int64
    private let processingTime: Bool

    public init(configuration: ReadingConfiguration) {
        self.configuration = configuration
        classifier = FailureClassifier(tokenizer: tokenizer)
        plans = configuration.plans
        since = configuration.since ?? .min
        until = configuration.until ?? .max
        allowedLatenessMicros = Int64(configuration.allowedLateness) * 1_000_000
        processingTime = configuration.timeSource == .processing
        keys = GroupKeys(tokenizer: tokenizer, maxKeys: configuration.maxKeys, primary: configuration.primaryGroupKey)
    }

    /// A new input (a file, a part of one, a followed file, a stream).
    public func makeInput(path: String) -> InputTally {
        let parser: LineParser
        switch configuration.format {
        case .automatic: parser = LineParser(choosingAmong: plans, tokenizer: tokenizer)
        case .fixed(let plan): parser = LineParser(plan: plan, tokenizer: tokenizer)
        }
        return InputTally(parser: parser, summary: InputSummary(path: path), formatChosen: !parser.isAutomatic)
    }

    /// A new input whose records all have `plan`'s shape: pushed records (`count(fields:_:)`)
    /// or lines of one sender whose format is known. Prepared already.
    public func makeInput(path: String, plan: LinePlan) -> InputTally {
        var input = InputTally(parser: LineParser(plan: plan, tokenizer: tokenizer), summary: InputSummary(path: path), formatChosen: true)
        prepare(&input, head: UnsafeRawBufferPointer(start: nil, count: 0))
        return input
    }

    /// Chooses the input's format from its first bytes (whole lines), and its group field with
    /// it: the first of the group order the format has. `atEnd`: no more bytes will come, so
    /// this is the choice. The field stays when the format changes midway; records of the new
    /// format that lack it are counted as missing it.
    public func prepare(_ input: inout InputTally, head: UnsafeRawBufferPointer, atEnd: Bool = false) {
        guard !input.formatChosen || input.keyLookup == nil else { return }
        if !input.formatChosen { input.formatChosen = input.parser.chooseFormat(from: head) || atEnd }
        let field = keys.field(input.parser.currentPlan.groupKey(preferring: configuration.groupOrder))
        input.keyLookup = field
        input.countedFields = MissingFields.always.union(field.interned)
        input.summary.groupBy = field.key.kind
    }

    /// Counts one line (without its `\n`); returns the record when it was counted, nil for a
    /// blank, malformed or out-of-range line. Call `prepare` first.
    @inline(__always)
    public func count(_ line: UnsafeRawBufferPointer, _ input: inout InputTally) -> CountedRecord? {
        input.physicalLines &+= 1
        let length = line.count
        if length == 0 || (length == 1 && line[0] == 13) { return nil }
        if length > configuration.maxLineLength {
            malformed(.lineTooLong, line, &input)
            return nil
        }
        let field = input.keyLookup.unsafelyUnwrapped
        tokenizer.internOnly(field.interned)
        if let reason = input.parser.parse(line) {
            malformed(reason, line, &input)
            return nil
        }
        return counted(&input, field, source: line, isFields: false)
    }

    /// Counts one record of `FieldRecordWriter` fields (a pushed record) of an input made by
    /// `makeInput(path:plan:)`; as `count(_:_:)` does a line.
    public func count(fields: UnsafeRawBufferPointer, _ input: inout InputTally) -> CountedRecord? {
        input.physicalLines &+= 1
        let field = input.keyLookup.unsafelyUnwrapped
        tokenizer.internOnly(field.interned)
        if let reason = input.parser.parse(fields: fields) {
            malformed(reason, Array(FieldRecords.describe(fields).utf8.prefix(200)), &input)
            return nil
        }
        return counted(&input, field, source: fields, isFields: true)
    }

    /// What a parsed record counts for; `source` is its line, or its fields.
    @inline(__always)
    private func counted(_ input: inout InputTally, _ field: KeyLookup, source: UnsafeRawBufferPointer, isFields: Bool) -> CountedRecord? {
        let record = tokenizer.record
        if record.startMicros < since || record.startMicros >= until {
            outsideTimeRange &+= 1
            return nil
        }
        input.summary.records &+= 1
        input.summary.lines &+= 1
        let missing = input.countedFields.subtracting(tokenizer.presentFields)
        if !missing.isEmpty { input.summary.missingFields.count(missing) }
        if input.summary.envelope == nil, let envelope = tokenizer.envelope { input.summary.envelope = envelope }
        let local = field.key.id(of: record, overflowed: &keysOverflowed)
        let id = field.mapped(local) ?? keys.map(local, in: field)
        flagCounter.count(record, key: id, tokenizer: tokenizer)
        var cause = CountedRecord.noCause
        if record.flags.rawValue != 0 || record.unknownFlagCount != 0 {
            cause = countCause(record, key: id, source, isFields: isFields, &input)
        }
        var micros = record.startMicros
        if processingTime {
            micros = processingMicros
        } else if micros == .min {
            untimed &+= 1
        } else if micros > input.latestStart {
            input.latestStart = micros
        } else if micros < input.latestStart &- allowedLatenessMicros {
            late &+= 1
        }
        return CountedRecord(key: id, micros: micros, flags: record.flags.rawValue, cause: cause)
    }

    /// Classifies a record with a flag and counts its cause; out of line, as few records have one.
    @inline(never)
    private func countCause(_ record: AccessRecord, key id: UInt32, _ source: UnsafeRawBufferPointer, isFields: Bool,
                            _ input: inout InputTally) -> UInt8 {
        let cluster = tokenizer.value(of: .upstreamCluster).map(ClusterKind.init(name:)) ?? .none
        let cause = classifier.classify(record, cluster: cluster) ?? .unknown
        if flagCounter.count(cause, key: id) {
            let shown = isFields ? FieldRecords.describe(source)
                : String(decoding: UnsafeRawBufferPointer(rebasing: source.prefix(CauseSample.maxLength)), as: UTF8.self)
            causeSamples[UInt64(id) << 8 | UInt64(cause.rawValue)] = CauseSample(
                line: String(shown.prefix(CauseSample.maxLength)), file: input.summary.path, lineNumber: input.physicalLines,
                inputOrder: input.order)
        }
        return cause.rawValue
    }

    /// A line longer than the limit whose end was skipped unread: counted once, as malformed;
    /// `head` is what was seen of it.
    public func countTooLong(_ head: UnsafeRawBufferPointer, _ input: inout InputTally) {
        input.physicalLines &+= 1
        malformed(.lineTooLong, head, &input)
    }

    /// The input is done: its records per format join the counter's.
    public func close(_ input: InputTally) {
        recordsByFormat.merge(input.recordsByFormat, uniquingKeysWith: +)
    }

    private func malformed(_ reason: MalformedReason, _ line: some Collection<UInt8>, _ input: inout InputTally) {
        malformedByReason[Int(reason.rawValue)] += 1
        input.summary.malformed += 1
        input.summary.lines += 1
        guard samples.count < configuration.malformedSampleLimit else { return }
        let shown = line.prefix(200)
        samples.append(MalformedSample(path: input.summary.path, line: input.physicalLines, reason: reason,
                                       text: String(decoding: shown, as: UTF8.self)))
    }

    /// Takes the samples gathered since the last call; their line numbers are the inputs'.
    public func takeSamples() -> [MalformedSample] {
        defer { samples.removeAll() }
        return samples
    }

    /// Malformed lines by reason, over every input.
    public var malformedCounts: [MalformedReason: Int] {
        var counts: [MalformedReason: Int] = [:]
        for reason in MalformedReason.allCases where malformedByReason[Int(reason.rawValue)] > 0 {
            counts[reason] = malformedByReason[Int(reason.rawValue)]
        }
        return counts
    }

    /// The name of key id `id`.
    public func keyName(_ id: UInt32) -> String { keys.name(of: id) }

    /// Totals by key name, with the cause samples.
    public func totals() -> FlagTotals {
        var totals = flagCounter.totals(naming: keys.name(of:))
        for (packed, sample) in causeSamples {
            let cause = FailureCause(rawValue: UInt8(truncatingIfNeeded: packed))!
            totals.keys[keyName(UInt32(packed >> 8)), default: KeyTotals()].causeSamples[cause.name] = sample
        }
        return totals
    }

    /// Adds everything this counter counted (but inputs, which drivers sum themselves) to `summary`.
    public func add(to summary: inout CountSummary) {
        summary.totals.merge(totals())
        summary.recordsByFormat.merge(recordsByFormat, uniquingKeysWith: +)
        summary.outsideTimeRange += outsideTimeRange
        summary.late += late
        summary.keysOverflowed += keysOverflowed
        summary.untimed += untimed
        summary.malformedByReason.merge(malformedCounts, uniquingKeysWith: +)
    }
}
