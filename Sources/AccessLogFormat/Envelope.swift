/// The JSON documents log shippers wrap an access-log line in, by the key that holds it.
///
/// Docker's json-file driver (and Fluent Bit, Fluentd) write `{"log":"[2024-…] …\n",
/// "stream":"stdout","time":"…"}`; Filebeat and Elastic documents, and CloudWatch Logs events
/// (`{"timestamp":…,"message":"…"}`), hold it in `message`; Loki's exports (`logcli --output
/// jsonl`) in `line`. The line inside may itself be JSON (Istio's JSON encoding).
public enum Envelope: UInt8, CaseIterable, Sendable {
    case log, message, line

    /// The name reports show.
    public var name: String {
        switch self {
        case .log: return "docker-json"
        case .message: return "message"
        case .line: return "loki"
        }
    }

    var key: StaticString {
        switch self {
        case .log: return "log"
        case .message: return "message"
        case .line: return "line"
        }
    }

    /// The envelope whose key is the `count` bytes at `start`, or nil.
    @inline(__always)
    static func named(_ base: UnsafeRawPointer, _ start: Int, _ count: Int) -> Envelope? {
        for envelope in Envelope.allCases {
            let key = envelope.key
            if key.utf8CodeUnitCount == count, memoryEqual(UnsafeRawPointer(key.utf8Start), base + start, count) { return envelope }
        }
        return nil
    }
}

extension LineTokenizer {
    /// Reads `line` as an envelope: nil when it is none, else the envelope and what reading
    /// the line inside gave (kept in `record` as for any line).
    @inline(never)
    func tokenizeEnvelope(_ line: UnsafeRawBufferPointer, plan: LinePlan) -> (Envelope, MalformedReason?)? {
        guard let base = line.baseAddress, let (envelope, start, end) = envelopeValue(base, count: line.count) else { return nil }
        if unwrapped.count < end - start {
            unwrapped.deallocate()
            unwrapped = .allocate(byteCount: max(end - start, 2 * unwrapped.count), alignment: 64)
        }
        var count = JSONString.unescape(base, from: start, end: end, into: unwrapped.baseAddress!)
        // Docker and Fluent Bit keep the line's own newline.
        while count > 0, unwrapped[count - 1] == 10 || unwrapped[count - 1] == 13 { count -= 1 }
        // The line inside is not unwrapped again: one envelope a line.
        return (envelope, tokenizeLine(UnsafeRawBufferPointer(start: unwrapped.baseAddress, count: count), plan: plan))
    }

    /// The envelope key's string value in a JSON object line: its content's range.
    private func envelopeValue(_ base: UnsafeRawPointer, count end: Int) -> (Envelope, Int, Int)? {
        var p = skipSpace(base, 0, end)
        guard p < end, base.load(fromByteOffset: p, as: UInt8.self) == UInt8(ascii: "{") else { return nil }
        p += 1
        while true {
            p = skipSpace(base, p, end)
            guard p < end, base.load(fromByteOffset: p, as: UInt8.self) == UInt8(ascii: "\""), let keyEnd = stringEnd(base, p + 1, end)
            else { return nil }
            let keyStart = p + 1
            p = skipSpace(base, keyEnd + 1, end)
            guard p < end, base.load(fromByteOffset: p, as: UInt8.self) == UInt8(ascii: ":") else { return nil }
            p = skipSpace(base, p + 1, end)
            guard p < end else { return nil }
            let first = base.load(fromByteOffset: p, as: UInt8.self)
            if first == UInt8(ascii: "\"") {
                guard let close = stringEnd(base, p + 1, end) else { return nil }
                if let envelope = Envelope.named(base, keyStart, keyEnd - keyStart) { return (envelope, p + 1, close) }
                p = close + 1
            } else if first == UInt8(ascii: "{") || first == UInt8(ascii: "[") {
                guard let close = skipNested(base, p, end) else { return nil }
                p = close
            } else {
                while p < end, base.load(fromByteOffset: p, as: UInt8.self) != UInt8(ascii: ","),
                    base.load(fromByteOffset: p, as: UInt8.self) != UInt8(ascii: "}")
                {
                    p += 1
                }
            }
            p = skipSpace(base, p, end)
            guard p < end, base.load(fromByteOffset: p, as: UInt8.self) == UInt8(ascii: ",") else { return nil }
            p += 1
        }
    }
}

/// JSON string contents.
enum JSONString {
    /// Writes the unescaped content of `[from, end)` (a JSON string without its quotes) to
    /// `out` and returns its length, never more than `end - from`. Invalid escapes are copied
    /// as they are: the line inside is read, not validated.
    static func unescape(_ base: UnsafeRawPointer, from: Int, end: Int, into out: UnsafeMutableRawPointer) -> Int {
        var p = from
        var n = 0
        func put(_ byte: UInt8) {
            out.storeBytes(of: byte, toByteOffset: n, as: UInt8.self)
            n += 1
        }
        while p < end {
            let backslash = ByteSearch.first(UInt8(ascii: "\\"), in: base, from: p, end: end)
            // Safe: `out` holds at least `end - from` bytes and `n` never passes `p - from`.
            (out + n).copyMemory(from: base + p, byteCount: backslash - p)
            n += backslash - p
            p = backslash
            guard p + 1 < end else {
                if p < end { put(UInt8(ascii: "\\")) }
                break
            }
            let escaped = base.load(fromByteOffset: p + 1, as: UInt8.self)
            p += 2
            switch escaped {
            case UInt8(ascii: "n"): put(10)
            case UInt8(ascii: "t"): put(9)
            case UInt8(ascii: "r"): put(13)
            case UInt8(ascii: "b"): put(8)
            case UInt8(ascii: "f"): put(12)
            case UInt8(ascii: "u"):
                guard var scalar = hex4(base, p, end) else {
                    put(UInt8(ascii: "\\"))
                    put(escaped)
                    continue
                }
                p += 4
                // A surrogate pair is one scalar in two escapes.
                if (0xD800..<0xDC00).contains(scalar), p + 6 <= end, base.load(fromByteOffset: p, as: UInt8.self) == UInt8(ascii: "\\"),
                    base.load(fromByteOffset: p + 1, as: UInt8.self) == UInt8(ascii: "u"), let low = hex4(base, p + 2, end),
                    (0xDC00..<0xE000).contains(low)
                {
                    scalar = 0x10000 + (scalar - 0xD800) << 10 + (low - 0xDC00)
                    p += 6
                }
                for byte in UTF8.encode(Unicode.Scalar(scalar) ?? "\u{FFFD}")! { put(byte) }
            default: put(escaped)  // `"`, `\`, `/`
            }
        }
        return n
    }

    private static func hex4(_ base: UnsafeRawPointer, _ from: Int, _ end: Int) -> UInt32? {
        guard from + 4 <= end else { return nil }
        var value: UInt32 = 0
        for i in from..<from + 4 {
            let c = base.load(fromByteOffset: i, as: UInt8.self)
            let digit: UInt8
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = c - UInt8(ascii: "A") + 10
            default: return nil
            }
            value = value << 4 | UInt32(digit)
        }
        return value
    }
}
