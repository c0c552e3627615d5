/// Turns a failure-detail value (`%RESPONSE_CODE_DETAILS%`, `%UPSTREAM_TRANSPORT_FAILURE_REASON%`,
/// `%CONNECTION_TERMINATION_DETAILS%`) into the form it is interned in: what varies from one
/// request to the next is replaced, so that the values of one failure share one id.
///
/// - an IPv4 address, with its port if it has one, and a bracketed IPv6 address with its port,
///   become `<addr>`;
/// - a number of four digits or more that is not part of a word becomes `<n>` (ports, byte
///   counts, OpenSSL's packed error codes, which repeat the name printed after them); errno
///   values (`_111`, `_110`) have at most three digits and are kept, since the cause is read
///   from them;
/// - a value longer than `maxLength` bytes is cut at a character boundary and ends with `…`.
///
/// Writes into a buffer the tokenizer owns, so that normalising allocates nothing.
enum FailureDetailNormalizer {
    /// Longest value kept whole, in bytes: bounds what the interned values cost.
    static let maxLength = 256
    /// Room the output needs: `maxLength` bytes and the 3 bytes of `…`.
    static let capacity = maxLength + 3

    /// Whether `value` needs rewriting: it holds a digit or a `[`, or is too long.
    @inline(__always)
    static func needsRewriting(_ base: UnsafeRawPointer, _ start: Int, _ end: Int) -> Bool {
        if end &- start > maxLength { return true }
        var i = start
        while i < end {
            let c = base.load(fromByteOffset: i, as: UInt8.self)
            if c &- 48 < 10 || c == 91 { return true }
            i &+= 1
        }
        return false
    }

    /// Writes the normalised form of `[start, end)` to `output` and returns its length.
    static func normalize(_ base: UnsafeRawPointer, _ start: Int, _ end: Int, into output: UnsafeMutablePointer<UInt8>) -> Int {
        // Safe: reads stay in [start, end); `output` holds `capacity` bytes and every write is
        // at an index below `maxLength`, but the three bytes of "…" after it.
        var count = 0
        var i = start
        @inline(__always) func byte(_ at: Int) -> UInt8 { base.load(fromByteOffset: at, as: UInt8.self) }
        @inline(__always) func emit(_ text: StaticString) {
            let bytes = UnsafeRawBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount)
            for b in bytes where count < maxLength {
                output[count] = b
                count &+= 1
            }
        }
        while i < end, count < maxLength {
            let c = byte(i)
            let startsToken = i == start || !isWordByte(byte(i &- 1))
            if c &- 48 < 10, startsToken {
                if let addressEnd = ipv4End(base, i, end) {
                    emit("<addr>")
                    i = portEnd(base, addressEnd, end)
                    continue
                }
                var digitsEnd = i
                while digitsEnd < end, byte(digitsEnd) &- 48 < 10 { digitsEnd &+= 1 }
                if digitsEnd &- i >= 4, digitsEnd == end || !isWordByte(byte(digitsEnd)) {
                    emit("<n>")
                    i = digitsEnd
                    continue
                }
                // A short number, or digits that go on into a word: kept as they are.
                while i < digitsEnd, count < maxLength {
                    output[count] = byte(i)
                    count &+= 1
                    i &+= 1
                }
                continue
            }
            if c == 91, let close = ipv6End(base, i, end) {
                emit("<addr>")
                i = portEnd(base, close, end)
                continue
            }
            output[count] = c
            count &+= 1
            i &+= 1
        }
        if i < end {
            // Cut: a character the cut splits (the next byte is a 10xxxxxx continuation) is
            // dropped whole, back to its lead byte.
            if byte(i) & 0xC0 == 0x80 {
                var steps = 0
                while count > 0, steps < 3, output[count &- 1] & 0xC0 == 0x80 {
                    count &-= 1
                    steps &+= 1
                }
                if count > 0, output[count &- 1] >= 0xC0 { count &-= 1 }
            }
            output[count] = 0xE2
            output[count &+ 1] = 0x80
            output[count &+ 2] = 0xA6
            count &+= 3
        }
        return count
    }

    @inline(__always)
    private static func isWordByte(_ c: UInt8) -> Bool {
        c &- 48 < 10 || (c | 0x20) &- 97 < 26
    }

    /// The end of a dotted quad starting at `from`, or nil.
    @inline(__always)
    private static func ipv4End(_ base: UnsafeRawPointer, _ from: Int, _ end: Int) -> Int? {
        var i = from
        for part in 0..<4 {
            let digitsStart = i
            while i < end, i &- digitsStart < 4, base.load(fromByteOffset: i, as: UInt8.self) &- 48 < 10 { i &+= 1 }
            let digits = i &- digitsStart
            guard digits >= 1, digits <= 3 else { return nil }
            if part < 3 {
                guard i < end, base.load(fromByteOffset: i, as: UInt8.self) == 46 else { return nil }
                i &+= 1
            }
        }
        if i < end, isWordByte(base.load(fromByteOffset: i, as: UInt8.self)) { return nil }
        return i
    }

    /// Just past the `]` of a bracketed IPv6 address starting at `from` (its `[`), or nil.
    @inline(__always)
    private static func ipv6End(_ base: UnsafeRawPointer, _ from: Int, _ end: Int) -> Int? {
        var i = from &+ 1
        var colons = 0
        while i < end, i &- from <= 48 {
            let c = base.load(fromByteOffset: i, as: UInt8.self)
            if c == 93 { return colons >= 2 ? i &+ 1 : nil }
            if c == 58 {
                colons &+= 1
            } else if !(c &- 48 < 10 || (c | 0x20) &- 97 < 6 || c == 46 || c == 37) {
                return nil
            }
            i &+= 1
        }
        return nil
    }

    /// Past a `:port` at `from`, or `from` when none follows.
    @inline(__always)
    private static func portEnd(_ base: UnsafeRawPointer, _ from: Int, _ end: Int) -> Int {
        guard from &+ 1 < end, base.load(fromByteOffset: from, as: UInt8.self) == 58 else { return from }
        var i = from &+ 1
        while i < end, base.load(fromByteOffset: i, as: UInt8.self) &- 48 < 10 { i &+= 1 }
        return i > from &+ 1 ? i : from
    }
}
