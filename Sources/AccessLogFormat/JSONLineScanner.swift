/// JSON access logs: one object per line, read by scanning keys over the raw bytes.
///
/// No object is built: each top-level key is looked up in the plan's key table, the value's
/// extent is found (strings with escapes, nested objects and arrays skipped without
/// recursion, so depth costs nothing), and only wanted values are decoded.
extension LineTokenizer {
    @inline(__always)
    func executeJSON(_ plan: LinePlan, _ keys: JSONKeys, _ base: UnsafeRawPointer, end: Int, internMask: UInt32,
                     _ record: inout AccessRecord, _ prefixLength: inout Int, _ kindsPresent: inout UInt32) -> MalformedReason?
    {
        // Collectors may put a prefix before the object, as with text lines (at most 512 bytes).
        // The search returns its own end when there is no `{`: on a longer line that is inside
        // the line, and must not be taken for the object's start.
        let searchEnd = min(end, 512)
        let open = ByteSearch.first(UInt8(ascii: "{"), in: base, from: 0, end: searchEnd)
        guard open < searchEnd else { return .invalidJSON }
        prefixLength = open
        var p = open + 1
        var sawAccessField = false
        while true {
            p = skipSpace(base, p, end)
            guard p < end else { return .invalidJSON }
            if base.load(fromByteOffset: p, as: UInt8.self) == UInt8(ascii: "}") { break }
            guard base.load(fromByteOffset: p, as: UInt8.self) == UInt8(ascii: "\""),
                let keyEnd = stringEnd(base, p + 1, end)
            else { return .invalidJSON }
            let keyStart = p + 1
            p = skipSpace(base, keyEnd + 1, end)
            guard p < end, base.load(fromByteOffset: p, as: UInt8.self) == UInt8(ascii: ":") else { return .invalidJSON }
            p = skipSpace(base, p + 1, end)
            guard p < end else { return .invalidJSON }
            let first = base.load(fromByteOffset: p, as: UInt8.self)
            var valueStart = p
            var valueEnd: Int
            var isNull = false
            switch first {
            case UInt8(ascii: "\""):
                guard let close = stringEnd(base, p + 1, end) else { return .invalidJSON }
                valueStart = p + 1
                valueEnd = close
                p = close + 1
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                guard let close = skipNested(base, p, end) else { return .invalidJSON }
                valueEnd = close
                p = close
            default:
                valueEnd = p
                while valueEnd < end {
                    let c = base.load(fromByteOffset: valueEnd, as: UInt8.self)
                    if c == UInt8(ascii: ",") || c == UInt8(ascii: "}") || c == 32 || c == 9 { break }
                    valueEnd += 1
                }
                guard valueEnd > p else { return .invalidJSON }
                isNull = valueEnd - p == 4 && first == UInt8(ascii: "n")
                p = valueEnd
            }
            if !isNull, let kind = keys.lookup(base, keyStart, keyEnd - keyStart) {
                if FieldSet.countedBy.contains(kind) { sawAccessField = true }
                ranges[Int(kind.rawValue)] = (Int32(truncatingIfNeeded: valueStart), Int32(truncatingIfNeeded: valueEnd))
                if let failure = decode(kind, slot: Int(kind.rawValue), base, start: valueStart, end: valueEnd, plan: plan,
                                        internMask: internMask, into: &record)
                {
                    return failure
                }
                kindsPresent |= 1 << kind.rawValue
            }
            p = skipSpace(base, p, end)
            guard p < end else { return .invalidJSON }
            let separator = base.load(fromByteOffset: p, as: UInt8.self)
            if separator == UInt8(ascii: "}") { break }
            guard separator == UInt8(ascii: ",") else { return .invalidJSON }
            p += 1
        }
        // An object without any field records are counted by is some other JSON log line; one
        // with only some of them is a record whose other fields are absent.
        return sawAccessField ? nil : .missingFields
    }

    @inline(__always)
    func skipSpace(_ base: UnsafeRawPointer, _ from: Int, _ end: Int) -> Int {
        var p = from
        while p < end {
            let c = base.load(fromByteOffset: p, as: UInt8.self)
            guard c == 32 || c == 9 || c == 13 else { break }
            p += 1
        }
        return p
    }

    /// The closing quote of a string whose content starts at `from`, or nil.
    @inline(__always)
    func stringEnd(_ base: UnsafeRawPointer, _ from: Int, _ end: Int) -> Int? {
        var q = from
        while true {
            q = ByteSearch.first(UInt8(ascii: "\""), in: base, from: q, end: end)
            guard q < end else { return nil }
            var backslashes = 0
            while q - backslashes - 1 >= from, base.load(fromByteOffset: q - backslashes - 1, as: UInt8.self) == UInt8(ascii: "\\") {
                backslashes += 1
            }
            if backslashes % 2 == 0 { return q }
            q += 1
        }
    }

    /// Just past the object or array starting at `from`, or nil when the line ends first.
    func skipNested(_ base: UnsafeRawPointer, _ from: Int, _ end: Int) -> Int? {
        var depth = 0
        var p = from
        while p < end {
            let c = base.load(fromByteOffset: p, as: UInt8.self)
            if c == UInt8(ascii: "\"") {
                guard let close = stringEnd(base, p + 1, end) else { return nil }
                p = close
            } else if c == UInt8(ascii: "{") || c == UInt8(ascii: "[") {
                depth += 1
            } else if c == UInt8(ascii: "}") || c == UInt8(ascii: "]") {
                depth -= 1
                if depth == 0 { return p + 1 }
            }
            p += 1
        }
        return nil
    }
}
