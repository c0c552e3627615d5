/// A text format compiled into the steps the tokenizer executes.
///
/// Fields end where the literal that follows them starts. Consecutive quoted fields
/// (`"%A%" "%B%"`) form a run that is split as a whole, so that a `"` a client put into a
/// header value lands in that value instead of shifting every later field.
public final class LinePlan: @unchecked Sendable {
    struct Step {
        /// `.fields`: unquoted fields separated by single spaces, the last one ended by the
        /// step's literal. `.startTime`: an unquoted start time, which ends where its own
        /// syntax ends. `.quotedRun`: quoted fields separated by `" "`. `.pathAfter`: a field
        /// and a path with nothing between them, ended by the step's literal and split where
        /// the path starts.
        enum Operation: UInt8 { case literal, fields, startTime, quotedRun, pathAfter }
        var operation: Operation
        /// The first field's kind.
        var kind: FieldKind
        /// The first field; the others of a run follow it.
        var slot: UInt16
        var runLength: UInt16
        /// Index within the run of the field that takes surplus quotes; `noFreeText` when
        /// none does, and a surplus means the line does not follow the format.
        var freeTextOffset: UInt16
        static let noFreeText = UInt16.max
        /// `.literal`: the bytes to match; otherwise the literal that ends the field or run
        /// (count 0 at the end of the format).
        var literalStart: UInt32
        var literalCount: UInt32
        var search: LiteralSearch = .bytes
    }

    /// How the tokenizer finds a literal: the common ones straight from the line's index of
    /// spaces and quotes.
    enum LiteralSearch: UInt8 {
        case space, quote, quoteSpace, spaceQuote, bytes

        init(_ literal: ArraySlice<UInt8>) {
            switch Array(literal) {
            case [32]: self = .space
            case [34]: self = .quote
            case [34, 32]: self = .quoteSpace
            case [32, 34]: self = .spaceQuote
            default: self = .bytes
            }
        }
    }

    /// The name reports show: a built-in name or `custom`.
    public let name: String
    public let formatString: String
    /// Field kinds by slot.
    public let fieldKinds: [FieldKind]
    let fieldKindBuffer: UnsafeMutableBufferPointer<FieldKind>
    let timeFormats: [StartTimeFormat]
    /// Time format index per slot (only meaningful for `.startTime` slots).
    let timeFormatOfSlot: [Int]
    /// Slots whose time is in Envoy's default form, parsed without touching `timeFormats`.
    let defaultTimeSlots: UnsafeMutableBufferPointer<Bool>
    let steps: UnsafeMutableBufferPointer<Step>
    let literals: UnsafeMutableBufferPointer<UInt8>
    /// The first slot holding each kind, or -1.
    let slotOfKind: [Int]
    /// Values are decoded once a line is split into fields: the first slot of each decoded
    /// kind, by kind (-1: none, or an unquoted start time, decoded while splitting)…
    let decodeSlots: UnsafeMutableBufferPointer<Int32>
    /// …then any further slots of those kinds, in slot order.
    let furtherDecodeSlots: [Int]
    /// Set for JSON logs: fields are found by key, and slot `k` holds the kind with raw value `k`.
    let jsonKeys: JSONKeys?

    public func hasField(_ kind: FieldKind) -> Bool { slotOfKind[Int(kind.rawValue)] >= 0 }
    /// Every kind the format has a field of (JSON: every kind its keys map).
    public let fields: FieldSet

    /// A plan for JSON access logs (`json_format`), one object per line, keys in any order.
    public init(name: String = "json", jsonKeys: JSONKeys) {
        self.name = name
        formatString = "json"
        self.jsonKeys = jsonKeys
        fieldKinds = FieldKind.allCases
        timeFormats = [.envoyDefault]
        timeFormatOfSlot = FieldKind.allCases.map { $0 == .startTime ? 0 : -1 }
        slotOfKind = FieldKind.allCases.map { jsonKeys.contains($0) ? Int($0.rawValue) : -1 }
        fields = FieldSet(FieldKind.allCases.filter(jsonKeys.contains))
        steps = .allocate(capacity: 0)
        literals = .allocate(capacity: 1)
        fieldKindBuffer = .allocate(capacity: fieldKinds.count)
        _ = fieldKindBuffer.initialize(from: fieldKinds)
        defaultTimeSlots = .allocate(capacity: fieldKinds.count)
        defaultTimeSlots.initialize(repeating: true)
        (decodeSlots, furtherDecodeSlots) = LinePlan.decodeOrder(kinds: [], splitTimes: [])
    }

    /// The first key of `order` this format has a field of, else the last of `order`: how an
    /// input is grouped under `--group-by cluster,authority` (the default), so that the records
    /// of a format without a cluster field (Envoy's default) are keyed by authority instead of
    /// all landing in `-` beside the cluster-less lines of formats that have one.
    public func groupKey(preferring order: [FieldKind]) -> FieldKind {
        precondition(!order.isEmpty)
        return order.first(where: hasField) ?? order[order.count - 1]
    }

    public convenience init(formatString: String) throws(FormatError) {
        try self.init(name: "custom", formatString: formatString)
    }

    public init(name: String, formatString: String) throws(FormatError) {
        var elements = try FormatStringParser.parse(formatString)
        if elements.isEmpty {
            throw FormatError(message: "the format string has no operator", format: formatString, column: 1)
        }
        self.name = name
        self.formatString = formatString
        jsonKeys = nil
        var kinds: [FieldKind] = []
        var times: [StartTimeFormat] = []
        var timeOfSlot: [Int] = []
        var literalBytes: [UInt8] = []
        var steps: [Step] = []

        // A field is quoted when the literal before it ends with `"` and the one after starts with `"`.
        func literal(at index: Int) -> [UInt8]? {
            guard index >= 0, index < elements.count, case .literal(let bytes) = elements[index] else { return nil }
            return bytes
        }
        func isQuoted(_ index: Int) -> Bool {
            literal(at: index - 1)?.last == UInt8(ascii: "\"") && literal(at: index + 1)?.first == UInt8(ascii: "\"")
        }
        /// A field followed directly by a path: the two are split as one step.
        func isFollowedByPath(_ index: Int) -> Bool {
            guard case .field = elements[safe: index], case .field(let next) = elements[safe: index + 1] else { return false }
            return next.kind == .path
        }
        let separator = Array(#"" ""#.utf8)
        // Drop a trailing `\n` typed as two characters on a command line.
        if case .literal(var bytes) = elements.last, bytes.suffix(2) == [UInt8(ascii: "\\"), UInt8(ascii: "n")] {
            bytes.removeLast(2)
            elements[elements.count - 1] = .literal(bytes)
            if bytes.isEmpty { elements.removeLast() }
        }
        // A format of only `\n` leaves no step, and the tokenizer starts at the first one.
        if elements.isEmpty {
            throw FormatError(message: "the format string has no operator", format: formatString, column: 1)
        }

        var index = 0
        while index < elements.count {
            switch elements[index] {
            case .literal(let bytes):
                steps.append(Step(operation: .literal, kind: .other, slot: 0, runLength: 0, freeTextOffset: 0,
                                  literalStart: UInt32(literalBytes.count), literalCount: UInt32(bytes.count)))
                literalBytes += bytes
                index += 1
            case .field(let op):
                var run = [op]
                let pathFollows = isFollowedByPath(index)
                if pathFollows, case .field(let path) = elements[index + 1] {
                    run.append(path)
                    index += 1
                } else if isQuoted(index) {
                    while literal(at: index + 1) == separator, case .field(let next) = elements[safe: index + 2], isQuoted(index + 2) {
                        run.append(next)
                        index += 2
                    }
                } else if op.kind != .startTime {
                    while literal(at: index + 1) == [32], case .field(let next) = elements[safe: index + 2], next.kind != .startTime,
                        !isFollowedByPath(index + 2)
                    {
                        run.append(next)
                        index += 2
                    }
                }
                let firstSlot = kinds.count
                // The tokenizer's range table has room for `maxSlots` fields; more would be
                // written past it (and past `UInt16` slot numbers for a megabyte of operators).
                if firstSlot + run.count > LineTokenizer.maxSlots {
                    throw FormatError(message: "more than \(LineTokenizer.maxSlots) operators", format: formatString,
                                      column: run[LineTokenizer.maxSlots - firstSlot].column)
                }
                for member in run {
                    kinds.append(member.kind)
                    if member.kind == .startTime {
                        let format = try LinePlan.timeFormat(of: member, in: formatString)
                        timeOfSlot.append(times.count)
                        times.append(format)
                    } else {
                        timeOfSlot.append(-1)
                    }
                }
                // The run's own separators are matched inside the run; the step records its terminator.
                let terminator = literal(at: index + 1) ?? []
                let freeText = run.firstIndex { $0.kind == .userAgent } ?? run.firstIndex { $0.kind.isFreeText }
                let operation: Step.Operation = pathFollows ? .pathAfter
                    : isQuoted(index) ? .quotedRun : run[0].kind == .startTime ? .startTime : .fields
                steps.append(Step(operation: operation, kind: run[0].kind, slot: UInt16(firstSlot),
                                  runLength: UInt16(run.count), freeTextOffset: freeText.map(UInt16.init) ?? Step.noFreeText,
                                  literalStart: UInt32(literalBytes.count), literalCount: UInt32(terminator.count)))
                literalBytes += terminator
                index += 1
            }
        }
        for i in steps.indices {
            let start = Int(steps[i].literalStart)
            steps[i].search = LiteralSearch(literalBytes[start..<start + Int(steps[i].literalCount)])
        }
        // Literal bytes are referenced by both the literal step and the field before it.
        fieldKinds = kinds
        timeFormats = times
        timeFormatOfSlot = timeOfSlot
        var slotOfKind = Array(repeating: -1, count: FieldKind.allCases.count)
        for (slot, kind) in kinds.enumerated() where slotOfKind[Int(kind.rawValue)] < 0 { slotOfKind[Int(kind.rawValue)] = slot }
        self.slotOfKind = slotOfKind
        fields = FieldSet(kinds)
        self.steps = .allocate(capacity: steps.count)
        _ = self.steps.initialize(from: steps)
        self.literals = .allocate(capacity: max(literalBytes.count, 1))
        _ = self.literals.initialize(from: literalBytes)
        fieldKindBuffer = .allocate(capacity: kinds.count)
        _ = fieldKindBuffer.initialize(from: kinds)
        defaultTimeSlots = .allocate(capacity: kinds.count)
        _ = defaultTimeSlots.initialize(from: timeOfSlot.map { $0 >= 0 && times[$0] == .envoyDefault })
        (decodeSlots, furtherDecodeSlots) = LinePlan.decodeOrder(
            kinds: kinds, splitTimes: Set(steps.filter { $0.operation == .startTime }.map { Int($0.slot) }))
    }

    private static func decodeOrder(kinds: [FieldKind], splitTimes: Set<Int>) -> (UnsafeMutableBufferPointer<Int32>, [Int]) {
        var first = Array(repeating: Int32(-1), count: Int(FieldKind.lastDecoded.rawValue) + 1)
        var further: [Int] = []
        for (slot, kind) in kinds.enumerated() where kind.isDecoded && !splitTimes.contains(slot) {
            if first[Int(kind.rawValue)] < 0 { first[Int(kind.rawValue)] = Int32(slot) } else { further.append(slot) }
        }
        let firstBuffer = UnsafeMutableBufferPointer<Int32>.allocate(capacity: first.count)
        _ = firstBuffer.initialize(from: first)
        return (firstBuffer, further)
    }

    /// Parses the time field in `slot` starting at `from`.
    @inline(__always)
    func parseTime(slot: Int, _ base: UnsafeRawPointer, from: Int, end: Int, cache: inout StartTimeFormat.MinuteCache)
        -> (micros: Int64, end: Int)?
    {
        if defaultTimeSlots[slot] { return StartTimeFormat.parseRFC3339(base, from: from, end: end, cache: &cache) }
        return timeFormats[timeFormatOfSlot[slot]].parse(base, from: from, end: end)
    }

    deinit {
        steps.deallocate()
        literals.deallocate()
        fieldKindBuffer.deallocate()
        defaultTimeSlots.deallocate()
        decodeSlots.deallocate()
    }

    static func timeFormat(of op: FormatOperator, in format: String) throws(FormatError) -> StartTimeFormat {
        guard let argument = op.argument, !argument.isEmpty else { return .envoyDefault }
        do {
            return try StartTimeFormat(strftime: argument)
        } catch {
            // Point at the column inside the whole format string.
            throw FormatError(message: error.message, format: format, column: op.column + op.name.count + 1 + error.column)
        }
    }
}

extension Array {
    subscript(safe index: Int) -> Element? { indices.contains(index) ? self[index] : nil }
}
