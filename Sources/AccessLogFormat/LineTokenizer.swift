/// Why a line was not counted as a record. Malformed lines are data: they are counted by
/// reason and never stop a scan.
public enum MalformedReason: UInt8, CaseIterable, Sendable {
    case unexpectedText, missingFields, badStartTime, badResponseCode, badResponseFlags, badNumber
    case unbalancedQuotes, lineTooLong, invalidJSON

    /// The name used in reports.
    public var name: String {
        switch self {
        case .unexpectedText: return "unexpected-text"
        case .missingFields: return "missing-fields"
        case .badStartTime: return "bad-start-time"
        case .badResponseCode: return "bad-response-code"
        case .badResponseFlags: return "bad-response-flags"
        case .badNumber: return "bad-number"
        case .unbalancedQuotes: return "unbalanced-quotes"
        case .lineTooLong: return "line-too-long"
        case .invalidJSON: return "invalid-json"
        }
    }
}

/// The fixed-size result of tokenizing one line.
public struct AccessRecord: Equatable, Sendable {
    /// Interned key id for a field the format lacks or the tokenizer was not asked to intern.
    public static let noKey = UInt32.max
    /// Value of a numeric field printed as `-` or absent from the format.
    public static let missing: Int64 = -1

    /// Request start, microseconds since 1970 UTC; `Int64.min` when the format has no time.
    public var startMicros: Int64 = .min
    /// 0 when no response was sent (TCP lines, resets).
    public var responseCode: UInt16 = 0
    public var flags: ResponseFlags = []
    /// Extension flag codes on this line; their bytes are in `LineTokenizer.unknownFlag(_:)`.
    public var unknownFlagCount: UInt8 = 0
    public var bytesReceived: Int64 = missing
    public var bytesSent: Int64 = missing
    public var durationMillis: Int64 = missing
    public var upstreamServiceMillis: Int64 = missing
    public var cluster: UInt32 = noKey
    public var authority: UInt32 = noKey
    public var upstreamHost: UInt32 = noKey
    public var route: UInt32 = noKey
    /// Failure details, as ids in `LineTokenizer.failureDetails` (normalised; `noKey` when
    /// the format lacks the field or it printed `-`; `ByteInterner.overflow` past the cap).
    public var responseCodeDetails: UInt32 = noKey
    public var upstreamTransportFailureReason: UInt32 = noKey
    public var connectionTerminationDetails: UInt32 = noKey
    /// The line names the upstream host Envoy picked (its upstream host field is not `-`).
    public var upstreamHostChosen = false

    public init() {}

    /// The interned id of `kind`, one of the four key fields.
    public func key(_ kind: FieldKind) -> UInt32 {
        switch kind {
        case .upstreamCluster: return cluster
        case .authority: return authority
        case .upstreamHost: return upstreamHost
        case .route: return route
        default: return AccessRecord.noKey
        }
    }
}

/// Turns one line of bytes into an `AccessRecord` by executing a `LinePlan`.
///
/// One tokenizer per thread: it owns scratch space and interners and never allocates per
/// line (only a new distinct key grows an interner). Field byte ranges stay valid until the
/// next call, as long as the caller keeps the line's memory.
public final class LineTokenizer {
    /// What the last call produced, with the settings the hot path reads. It lives in raw
    /// memory so that the per-line reads and writes need no dynamic exclusivity checks.
    private struct LineState {
        var record = AccessRecord()
        var hadExtraFields = false
        var prefixLength = 0
        var line = UnsafeRawBufferPointer(start: nil, count: 0)
        /// The caller keeps the plan alive while it reads the line's fields.
        var plan: Unmanaged<LinePlan>?
        var internMask: UInt32 = 0
        /// The kinds (bit `rawValue`) the last line held: its format's for a text line; for a
        /// JSON line the keys it held. A JSON line need not hold every key of the plan, and an
        /// absent key's slot keeps an earlier line's range (or none at all), which
        /// `value(of:)` must not hand out. Kept per line so that reading it is one load.
        var presentKinds: UInt32 = 0
        var envelope: Envelope?
    }
    private let state = UnsafeMutablePointer<LineState>.allocate(capacity: 1)
    private let minuteCache = UnsafeMutablePointer<StartTimeFormat.MinuteCache>.allocate(capacity: 1)
    private let structure = UnsafeMutablePointer<StructuralIndex>.allocate(capacity: 1)

    /// The last line's record.
    public var record: AccessRecord { state.pointee.record }
    /// The fields the last line held: those of its format for text lines; for JSON lines the
    /// keys present and not `null`. A record's value of a field not in it is absent, not `-`;
    /// `FieldSet.countedBy.subtracting(presentFields)` is what the record lacks.
    public var presentFields: FieldSet { FieldSet(rawValue: state.pointee.presentKinds) }
    /// The last line had text after the format's last field (tolerated, ignored).
    public var hadExtraFields: Bool { state.pointee.hadExtraFields }
    /// Bytes before the format's first literal: a collector's prefix (`pod container `, `ACCESS `…).
    public var prefixLength: Int { state.pointee.prefixLength }

    public let clusters = ByteInterner()
    public let authorities = ByteInterner()
    public let upstreamHosts = ByteInterner()
    public let routes = ByteInterner()
    /// The three failure-detail fields' values, normalised (`FailureDetailNormalizer`). At most
    /// `failureDetailLimit` distinct values are kept; a line with a value beyond them gets
    /// `ByteInterner.overflow` ("other"), counted by `failureDetails.overflowCount`.
    public let failureDetails: ByteInterner = {
        let interner = ByteInterner(capacity: 64)
        interner.limit = LineTokenizer.failureDetailLimit
        return interner
    }()
    public static let failureDetailLimit = 512
    /// Where a failure detail is normalised before it is interned.
    private let detailScratch = UnsafeMutablePointer<UInt8>.allocate(capacity: FailureDetailNormalizer.capacity)
    /// Which of the key fields get interned ids.
    public var internedKeys: Set<FieldKind> {
        didSet { state.pointee.internMask = internedKeys.reduce(0) { $0 | 1 << $1.rawValue } }
    }

    /// Interns only `keys` from the next line on, leaving `internedKeys` as it was: one store,
    /// for a counter whose inputs are grouped by different fields and that switches per line.
    @inline(__always)
    package func internOnly(_ keys: FieldSet) { state.pointee.internMask = keys.rawValue }

    /// Most fields a format may have: the tokenizer keeps one range per field in a fixed array.
    static let maxSlots = 256
    private static let maxSeparators = 64
    private static let maxUnknownFlags = 8
    let ranges = UnsafeMutableBufferPointer<(start: Int32, end: Int32)>.allocate(capacity: maxSlots)
    private let separators = UnsafeMutableBufferPointer<Int>.allocate(capacity: maxSeparators)
    private let unknownFlags = UnsafeMutableBufferPointer<(start: Int32, end: Int32)>.allocate(capacity: maxUnknownFlags)
    /// The line an envelope holds, unescaped; grown to the longest such line (never shorter
    /// than its escaped form), so not per line.
    var unwrapped = UnsafeMutableRawBufferPointer.allocate(byteCount: 4096, alignment: 64)

    public init(internedKeys: Set<FieldKind> = [.upstreamCluster]) {
        self.internedKeys = internedKeys
        state.initialize(to: LineState(internMask: internedKeys.reduce(0) { $0 | 1 << $1.rawValue }))
        minuteCache.initialize(to: StartTimeFormat.MinuteCache())
        structure.initialize(to: StructuralIndex())
    }

    deinit {
        state.deinitialize(count: 1)
        state.deallocate()
        minuteCache.deallocate()
        structure.pointee.deallocate()
        structure.deallocate()
        ranges.deallocate()
        separators.deallocate()
        unknownFlags.deallocate()
        unwrapped.deallocate()
        detailScratch.deallocate()
    }

    /// The text of a failure-detail id: nil for `noKey`, `other` for the values past the cap.
    public func failureDetail(_ id: UInt32) -> String? {
        switch id {
        case AccessRecord.noKey: return nil
        case ByteInterner.overflow: return "other"
        default: return failureDetails.string(for: id)
        }
    }

    /// The interner holding ids of `kind`, one of the four key fields.
    public func interner(for kind: FieldKind) -> ByteInterner? {
        switch kind {
        case .upstreamCluster: return clusters
        case .authority: return authorities
        case .upstreamHost: return upstreamHosts
        case .route: return routes
        default: return nil
        }
    }

    /// The bytes of the last line's first field of `kind` (quotes excluded), or nil when the
    /// format has no such field (for JSON: when the line has no such key, or `null`).
    public func value(of kind: FieldKind) -> UnsafeRawBufferPointer? {
        guard let plan = state.pointee.plan?.takeUnretainedValue(), let base = state.pointee.line.baseAddress else { return nil }
        let slot = plan.slotOfKind[Int(kind.rawValue)]
        guard slot >= 0 else { return nil }
        if state.pointee.presentKinds & (1 << kind.rawValue) == 0 { return nil }
        let range = ranges[slot]
        return UnsafeRawBufferPointer(start: base + Int(range.start), count: Int(range.end - range.start))
    }

    /// The bytes of the last line's `index`th extension flag code.
    public func unknownFlag(_ index: Int) -> UnsafeRawBufferPointer {
        let range = unknownFlags[index]
        return UnsafeRawBufferPointer(start: state.pointee.line.baseAddress! + Int(range.start), count: Int(range.end - range.start))
    }

    /// Tokenizes one line (without its `\n`; a trailing `\r` is ignored). Returns nil and
    /// fills `record`, or returns why the line does not follow `plan`.
    ///
    /// A line that does not, and is a shipper's JSON envelope (`{"log":"…"}` and the others of
    /// `Envelope`), is read by the line it holds, unescaped into scratch memory; `envelope`
    /// says so, and field ranges then refer to that memory.
    @inline(__always)
    public func tokenize(_ line: UnsafeRawBufferPointer, plan: LinePlan) -> MalformedReason? {
        state.pointee.envelope = nil
        guard let failure = tokenizeLine(line, plan: plan) else { return nil }
        guard failure != .lineTooLong, let (envelope, innerFailure) = tokenizeEnvelope(line, plan: plan) else { return failure }
        if innerFailure == nil { state.pointee.envelope = envelope }
        return innerFailure
    }

    /// The mask `internOnly` set, for tokenizers of other shapes (`tokenize(fields:plan:)`).
    var internMask: UInt32 { state.pointee.internMask }

    /// Makes `record` the last line's, read from `line` with `plan` and holding `present`.
    func setLastRecord(_ record: AccessRecord, line: UnsafeRawBufferPointer, plan: LinePlan, present: UInt32) {
        state.pointee = LineState(record: record, line: line, plan: .passUnretained(plan), internMask: state.pointee.internMask,
                                  presentKinds: present)
    }

    /// The envelope the last line came in, or nil for a line read as it is.
    public var envelope: Envelope? { state.pointee.envelope }
    /// The bytes the last line was read as: the line itself, or the line inside its envelope.
    /// Field ranges and `prefixLength` refer to them.
    public var recordLine: UnsafeRawBufferPointer { state.pointee.line }

    func tokenizeLine(_ line: UnsafeRawBufferPointer, plan: LinePlan) -> MalformedReason? {
        let state = self.state
        var record = AccessRecord()
        var prefixLength = 0
        var hadExtraFields = false
        defer {
            state.pointee.record = record
            state.pointee.prefixLength = prefixLength
            state.pointee.hadExtraFields = hadExtraFields
            state.pointee.line = line
            state.pointee.plan = Unmanaged.passUnretained(plan)
        }
        let internMask = state.pointee.internMask
        state.pointee.presentKinds = 0
        guard let base = line.baseAddress, line.count > 0 else { return .missingFields }
        // Field ranges are 32-bit.
        guard line.count <= Int32.max else { return .lineTooLong }
        var end = line.count
        if base.load(fromByteOffset: end - 1, as: UInt8.self) == 13 { end -= 1 }
        if let keys = plan.jsonKeys {
            return executeJSON(plan, keys, base, end: end, internMask: internMask, &record, &prefixLength,
                               &state.pointee.presentKinds)
        }
        state.pointee.presentKinds = plan.fields.rawValue
        structure.pointee.build(base, count: end)
        let index = structure.pointee
        let literals = UnsafeRawPointer(plan.literals.baseAddress!)
        let first = plan.steps[0]
        guard first.operation == .literal else {
            return execute(plan, base, index, from: 0, end: end, internMask: internMask, &record, &hadExtraFields)
        }
        // Collectors put their own text before the record, which starts at the format's first
        // literal; that literal may occur in the prefix too (`[pod/name/container] [2024-…`).
        let limit = min(end, 512 + Int(first.literalCount))
        var start = matches(literals, first, base, at: 0, end: end) ? 0 : findLiteral(literals, first, base, index, from: 0, end: limit)
        var failure = MalformedReason.unexpectedText
        for _ in 0..<4 where start < limit {
            record = AccessRecord()
            guard let reason = execute(plan, base, index, from: start, end: end, internMask: internMask, &record, &hadExtraFields) else {
                prefixLength = start
                return nil
            }
            failure = reason
            start = findLiteral(literals, first, base, index, from: start + 1, end: limit)
        }
        return failure
    }

    /// Runs the plan's steps over `[from, end)`.
    @inline(never)
    private func execute(_ plan: LinePlan, _ base: UnsafeRawPointer, _ index: StructuralIndex, from start: Int, end: Int,
                         internMask: UInt32, _ record: inout AccessRecord, _ hadExtraFields: inout Bool) -> MalformedReason?
    {
        let steps = plan.steps
        let literals = UnsafeRawPointer(plan.literals.baseAddress!)
        let ranges = self.ranges
        var p = start
        var stepIndex = 0
        while stepIndex < steps.count {
            let step = steps[stepIndex]
            stepIndex &+= 1
            switch step.operation {
            case .literal:
                guard matches(literals, step, base, at: p, end: end) else {
                    return p >= end ? .missingFields : .unexpectedText
                }
                p &+= Int(step.literalCount)
            case .fields:
                // Each field but the last ends at the next space; the last at the step's literal.
                var slot = Int(step.slot)
                let last = slot &+ Int(step.runLength) &- 1
                var spaces = StructuralIndex.SpaceCursor(index, from: p)
                while slot < last {
                    let space = spaces.next(end: end)
                    if space >= end { return .missingFields }
                    ranges[slot] = (Int32(truncatingIfNeeded: p), Int32(truncatingIfNeeded: space))
                    p = space &+ 1
                    slot &+= 1
                }
                let fieldEnd: Int
                if step.literalCount == 0 {
                    fieldEnd = index.nextSpace(from: p, end: end)
                } else {
                    fieldEnd = findLiteral(literals, step, base, index, from: p, end: end)
                    if fieldEnd >= end { return .missingFields }
                    // The terminator was found whole: its literal step is done too.
                    stepIndex &+= 1
                }
                ranges[last] = (Int32(truncatingIfNeeded: p), Int32(truncatingIfNeeded: fieldEnd))
                p = fieldEnd &+ Int(step.literalCount)
            case .startTime:
                // Self-delimiting: the literal after it is matched by its own step.
                guard let (micros, timeEnd) = plan.parseTime(slot: Int(step.slot), base, from: p, end: end, cache: &minuteCache.pointee)
                else { return .badStartTime }
                record.startMicros = micros
                ranges[Int(step.slot)] = (Int32(truncatingIfNeeded: p), Int32(truncatingIfNeeded: timeEnd))
                p = timeEnd
            case .pathAfter:
                guard let fieldsEnd = splitPathAfter(step, literals, base, index, from: p, end: end) else { return .missingFields }
                if step.literalCount != 0 { stepIndex &+= 1 }
                p = fieldsEnd &+ Int(step.literalCount)
            case .quotedRun:
                let isLast = stepIndex &+ 1 >= steps.count
                guard let runEnd = splitRun(plan, step, literals, base, index, from: p, end: end, atFormatEnd: isLast) else {
                    return .unbalancedQuotes
                }
                p = runEnd &+ Int(step.literalCount)
                stepIndex &+= 1
            }
        }
        hadExtraFields = p < end
        return decodeValues(plan, base, internMask: internMask, &record)
    }

    /// Decodes the values a record holds from a split line. Once a line has the format's
    /// shape, its values are checked in a fixed order, each kind's code written out (no jump
    /// on the kind per field, which the branch predictor does not learn well).
    @inline(__always)
    private func decodeValues(_ plan: LinePlan, _ base: UnsafeRawPointer, internMask: UInt32,
                              _ record: inout AccessRecord) -> MalformedReason?
    {
        let ranges = self.ranges
        let slots = plan.decodeSlots
        @inline(__always)
        func decodeFirst(_ kind: FieldKind) -> MalformedReason? {
            let slot = Int(slots[Int(kind.rawValue)])
            guard slot >= 0 else { return nil }
            let range = ranges[slot]
            return decode(kind, slot: slot, base, start: Int(range.start), end: Int(range.end), plan: plan,
                          internMask: internMask, into: &record)
        }
        if let failure = decodeFirst(.startTime) ?? decodeFirst(.responseCode) ?? decodeFirst(.responseFlags)
            ?? decodeFirst(.bytesReceived) ?? decodeFirst(.bytesSent) ?? decodeFirst(.duration)
            ?? decodeFirst(.upstreamServiceTime)
        {
            return failure
        }
        _ = decodeFirst(.upstreamCluster)
        _ = decodeFirst(.authority)
        _ = decodeFirst(.upstreamHost)
        _ = decodeFirst(.route)
        _ = decodeFirst(.responseCodeDetails)
        _ = decodeFirst(.upstreamTransportFailureReason)
        _ = decodeFirst(.connectionTerminationDetails)
        for slot in plan.furtherDecodeSlots {
            let range = ranges[slot]
            if let failure = decode(plan.fieldKindBuffer[slot], slot: slot, base, start: Int(range.start), end: Int(range.end),
                                    plan: plan, internMask: internMask, into: &record)
            {
                return failure
            }
        }
        return nil
    }

    @inline(__always)
    private func matches(_ literals: UnsafeRawPointer, _ step: LinePlan.Step, _ base: UnsafeRawPointer, at p: Int, end: Int) -> Bool {
        let count = Int(step.literalCount)
        guard p &+ count <= end else { return false }
        let literal = literals + Int(step.literalStart)
        for i in 0..<count where literal.load(fromByteOffset: i, as: UInt8.self) != base.load(fromByteOffset: p &+ i, as: UInt8.self) {
            return false
        }
        return true
    }

    /// First position at or after `from` where the step's literal occurs, or `end`.
    @inline(__always)
    private func findLiteral(_ literals: UnsafeRawPointer, _ step: LinePlan.Step, _ base: UnsafeRawPointer,
                             _ index: StructuralIndex, from: Int, end: Int) -> Int
    {
        switch step.search {
        case .space: return index.nextSpace(from: from, end: end)
        case .quote: return index.nextQuote(from: from, end: end)
        case .quoteSpace: return index.nextQuoteSpace(from: from, end: end)
        case .spaceQuote: return index.nextSpaceQuote(from: from, end: end)
        case .bytes: return findBytes(literals, step, base, index, from: from, end: end)
        }
    }

    /// Any other literal: its first byte, then the rest compared.
    @inline(never)
    private func findBytes(_ literals: UnsafeRawPointer, _ step: LinePlan.Step, _ base: UnsafeRawPointer,
                           _ index: StructuralIndex, from: Int, end: Int) -> Int
    {
        let first = literals.load(fromByteOffset: Int(step.literalStart), as: UInt8.self)
        var q = find(first, base, index, from: from, end: end)
        while q < end, !matches(literals, step, base, at: q, end: end) {
            q = find(first, base, index, from: q &+ 1, end: end)
        }
        return q
    }

    /// First `byte` in `[from, end)`, or `end`: from the index for the bytes it holds.
    @inline(__always)
    private func find(_ byte: UInt8, _ base: UnsafeRawPointer, _ index: StructuralIndex, from: Int, end: Int) -> Int {
        switch byte {
        case 32: return index.nextSpace(from: from, end: end)
        case 34: return index.nextQuote(from: from, end: end)
        default: return ByteSearch.first(byte, in: base, from: from, end: end)
        }
    }

    /// Splits a field and the path written right after it (`host/a/b`, `host-` for a missing
    /// path, `-/a` for a missing host), ending at the step's terminator; records both ranges
    /// and returns where the terminator starts, or nil when the line ends first.
    @inline(never)
    private func splitPathAfter(_ step: LinePlan.Step, _ literals: UnsafeRawPointer, _ base: UnsafeRawPointer,
                                _ index: StructuralIndex, from start: Int, end: Int) -> Int?
    {
        let fieldsEnd = step.literalCount == 0 ? index.nextSpace(from: start, end: end)
            : findLiteral(literals, step, base, index, from: start, end: end)
        if step.literalCount != 0, fieldsEnd >= end { return nil }
        // A path starts with `/`; a missing one is printed `-`, the last byte.
        var pathStart = ByteSearch.first(UInt8(ascii: "/"), in: base, from: start, end: fieldsEnd)
        if pathStart == fieldsEnd, fieldsEnd > start, base.load(fromByteOffset: fieldsEnd &- 1, as: UInt8.self) == UInt8(ascii: "-") {
            pathStart = fieldsEnd &- 1
        }
        let slot = Int(step.slot)
        ranges[slot] = (Int32(truncatingIfNeeded: start), Int32(truncatingIfNeeded: pathStart))
        ranges[slot &+ 1] = (Int32(truncatingIfNeeded: pathStart), Int32(truncatingIfNeeded: fieldsEnd))
        return fieldsEnd
    }

    /// Splits a run of quoted fields `a" "b" "c` ending at the run's terminator; records the
    /// ranges of its fields and returns where the terminator starts.
    ///
    /// The run ends at the first `"` that is followed by the terminator, is not the start of
    /// another quoted field, and comes after enough `" "` separators. Extra separators (quotes
    /// written by a client) are given to the run's free-text field, the user agent first.
    @inline(__always)
    private func splitRun(_ plan: LinePlan, _ step: LinePlan.Step, _ literals: UnsafeRawPointer, _ base: UnsafeRawPointer,
                          _ index: StructuralIndex, from start: Int, end: Int, atFormatEnd: Bool) -> Int?
    {
        let fieldCount = Int(step.runLength)
        let terminatorCount = Int(step.literalCount)
        var separatorCount = 0
        var q = start
        var runEnd = -1
        // A line that ends in a quote ends the format's last run there: extra fields are then
        // less likely than a client's quotes in the user agent.
        let endsAtLineEnd = atFormatEnd && end > start && base.load(fromByteOffset: end &- 1, as: UInt8.self) == 34
        while true {
            q = index.nextQuote(from: q, end: end)
            if q >= end { return nil }
            let isSeparator = q &+ 2 < end && base.load(fromByteOffset: q &+ 1, as: UInt8.self) == 32
                && base.load(fromByteOffset: q &+ 2, as: UInt8.self) == 34
            if separatorCount >= fieldCount &- 1, matches(literals, step, base, at: q, end: end) {
                let after = q &+ terminatorCount
                let endsHere = atFormatEnd
                    ? (after == end || (!endsAtLineEnd && base.load(fromByteOffset: after, as: UInt8.self) == 32))
                    : (after < end && base.load(fromByteOffset: after, as: UInt8.self) != 34)
                if endsHere {
                    runEnd = q
                    break
                }
            }
            if isSeparator {
                let isSurplus = separatorCount >= fieldCount &- 1
                if separatorCount == LineTokenizer.maxSeparators || (isSurplus && step.freeTextOffset == LinePlan.Step.noFreeText) {
                    return nil
                }
                separators[separatorCount] = q
                separatorCount &+= 1
                q &+= 3
            } else {
                q &+= 1
            }
        }
        let surplus = separatorCount - (fieldCount - 1)
        let freeText = Int(step.freeTextOffset)
        func separator(_ j: Int) -> Int { separators[j < freeText ? j : j &+ surplus] }
        for i in 0..<fieldCount {
            let fieldStart = i == 0 ? start : separator(i - 1) &+ 3
            let fieldEnd = i == fieldCount - 1 ? runEnd : separator(i)
            ranges[Int(step.slot) &+ i] = (Int32(truncatingIfNeeded: fieldStart), Int32(truncatingIfNeeded: fieldEnd))
        }
        return runEnd
    }

    /// Decodes the values a record holds; the field's range is recorded already.
    @inline(__always)
    func decode(_ kind: FieldKind, slot: Int, _ base: UnsafeRawPointer, start: Int, end: Int,
                        plan: LinePlan, internMask: UInt32, into record: inout AccessRecord) -> MalformedReason?
    {
        switch kind {
        case .responseCode:
            guard let code = LineTokenizer.decimal(base, start, end), code < 1000 else { return .badResponseCode }
            record.responseCode = UInt16(truncatingIfNeeded: code)
        case .responseFlags:
            if end &- start == 1, base.load(fromByteOffset: start, as: UInt8.self) == 45 { return nil }
            return parseFlags(base, start: start, end: end, into: &record)
        case .bytesReceived, .bytesSent, .duration:
            guard let value = LineTokenizer.count(base, start, end) else { return .badNumber }
            switch kind {
            case .bytesReceived: record.bytesReceived = value
            case .bytesSent: record.bytesSent = value
            default: record.durationMillis = value
            }
        case .upstreamServiceTime:
            // A response header: whatever the upstream sent, so never a reason to reject the line.
            record.upstreamServiceMillis = LineTokenizer.count(base, start, end) ?? AccessRecord.missing
        case .startTime:
            guard let (micros, timeEnd) = plan.parseTime(slot: slot, base, from: start, end: end, cache: &minuteCache.pointee), timeEnd == end
            else { return .badStartTime }
            record.startMicros = micros
        case .upstreamCluster, .authority, .upstreamHost, .route:
            if kind == .upstreamHost {
                record.upstreamHostChosen = end > start && !(end &- start == 1 && base.load(fromByteOffset: start, as: UInt8.self) == 45)
            }
            if internMask & (1 << kind.rawValue) != 0 { internKey(kind, slot: slot, base, start: start, end: end, into: &record) }
        case .responseCodeDetails, .upstreamTransportFailureReason, .connectionTerminationDetails:
            // `-` and an empty value (omit_empty_values) are no detail.
            guard end > start, !(end &- start == 1 && base.load(fromByteOffset: start, as: UInt8.self) == 45) else { return nil }
            let id = internDetail(base, start: start, end: end)
            switch kind {
            case .responseCodeDetails: record.responseCodeDetails = id
            case .upstreamTransportFailureReason: record.upstreamTransportFailureReason = id
            default: record.connectionTerminationDetails = id
            }
        default:
            break
        }
        return nil
    }

    /// Interns a key field. A trailing `;` on a cluster is dropped from its range and id:
    /// alt_stat_name leaks one into some Istio versions' logs (istio/istio#54219). An empty
    /// value is what `omit_empty_values` prints for a missing one: it keeps `noKey`, so that it
    /// is counted under the same `-` key as a missing value printed `-`.
    @inline(never)
    private func internKey(_ kind: FieldKind, slot: Int, _ base: UnsafeRawPointer, start: Int, end: Int,
                           into record: inout AccessRecord)
    {
        var end = end
        if kind == .upstreamCluster, end > start, base.load(fromByteOffset: end &- 1, as: UInt8.self) == 59 {
            end &-= 1
            ranges[slot].end = Int32(truncatingIfNeeded: end)
        }
        guard end > start else { return }
        let key = UnsafeRawBufferPointer(start: base + start, count: end &- start)
        switch kind {
        case .upstreamCluster: record.cluster = clusters.intern(key)
        case .authority: record.authority = authorities.intern(key)
        case .upstreamHost: record.upstreamHost = upstreamHosts.intern(key)
        default: record.route = routes.intern(key)
        }
    }

    /// The id of a failure detail, normalised first when it holds what varies per request.
    @inline(__always)
    private func internDetail(_ base: UnsafeRawPointer, start: Int, end: Int) -> UInt32 {
        guard FailureDetailNormalizer.needsRewriting(base, start, end) else {
            return failureDetails.intern(UnsafeRawBufferPointer(start: base + start, count: end &- start))
        }
        // Safe: the scratch buffer has the normaliser's `capacity`, and [start, end) is inside the line.
        let count = FailureDetailNormalizer.normalize(base, start, end, into: detailScratch)
        return failureDetails.intern(UnsafeRawBufferPointer(start: detailScratch, count: count))
    }

    /// A comma-separated set of flag codes (`-` is handled by the caller).
    @inline(never)
    private func parseFlags(_ base: UnsafeRawPointer, start: Int, end: Int, into record: inout AccessRecord) -> MalformedReason? {
        var codeStart = start
        while codeStart < end {
            let codeEnd = ByteSearch.first(44, in: base, from: codeStart, end: end)
            let code = UnsafeRawBufferPointer(start: base + codeStart, count: codeEnd &- codeStart)
            if let flag = FlagCodeTable.lookup(code) {
                record.flags.insert(ResponseFlags(flag))
            } else if FlagCodeTable.isExtensionCode(code) {
                if Int(record.unknownFlagCount) < LineTokenizer.maxUnknownFlags {
                    unknownFlags[Int(record.unknownFlagCount)] = (Int32(truncatingIfNeeded: codeStart), Int32(truncatingIfNeeded: codeEnd))
                    record.unknownFlagCount &+= 1
                }
            } else {
                return .badResponseFlags
            }
            codeStart = codeEnd &+ 1
        }
        return end > start ? nil : .badResponseFlags
    }

    /// An unsigned decimal of up to 18 digits.
    @inline(__always)
    static func decimal(_ base: UnsafeRawPointer, _ start: Int, _ end: Int) -> Int64? {
        guard end > start, end &- start <= 18 else { return nil }
        var value: Int64 = 0
        for i in start..<end {
            let digit = base.load(fromByteOffset: i, as: UInt8.self) &- 48
            guard digit < 10 else { return nil }
            value = value &* 10 &+ Int64(digit)
        }
        return value
    }

    /// A decimal, or `-` for a value Envoy did not have.
    @inline(__always)
    static func count(_ base: UnsafeRawPointer, _ start: Int, _ end: Int) -> Int64? {
        if end &- start == 1, base.load(fromByteOffset: start, as: UInt8.self) == 45 { return AccessRecord.missing }
        return decimal(base, start, end)
    }
}
