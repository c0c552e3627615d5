/// Byte search over raw memory, eight bytes per step (SWAR).
///
/// The standard library has no `memchr`, and a per-byte loop with a branch runs at about
/// 1 GB/s here; comparing whole words finds a byte 3–5× faster in pure Swift.
@usableFromInline
enum ByteSearch {
    @usableFromInline static let ones: UInt64 = 0x0101_0101_0101_0101
    @usableFromInline static let highs: UInt64 = 0x8080_8080_8080_8080

    /// Bit 7 of each byte of the result is set where `word`'s byte is zero; exact for the
    /// lowest zero byte, which is all a forward search needs.
    @inline(__always) @usableFromInline
    static func zeroBytes(_ word: UInt64) -> UInt64 { (word &- ones) & ~word & highs }

    /// Index of the first `byte` in `[from, end)`, or `end` when there is none.
    @inline(__always) @usableFromInline
    static func first(_ byte: UInt8, in base: UnsafeRawPointer, from: Int, end: Int) -> Int {
        var i = from
        let pattern = ones &* UInt64(byte)
        while i &+ 8 <= end {
            let word = UInt64(littleEndian: base.loadUnaligned(fromByteOffset: i, as: UInt64.self))
            let hits = zeroBytes(word ^ pattern)
            if hits != 0 { return i &+ hits.trailingZeroBitCount >> 3 }
            i &+= 8
        }
        while i < end {
            if base.load(fromByteOffset: i, as: UInt8.self) == byte { return i }
            i &+= 1
        }
        return end
    }

    /// Index of the first `a` or `b` in `[from, end)`, or `end` when there is neither.
    @inline(__always) @usableFromInline
    static func first(_ a: UInt8, or b: UInt8, in base: UnsafeRawPointer, from: Int, end: Int) -> Int {
        var i = from
        let patternA = ones &* UInt64(a)
        let patternB = ones &* UInt64(b)
        while i &+ 8 <= end {
            let word = UInt64(littleEndian: base.loadUnaligned(fromByteOffset: i, as: UInt64.self))
            let hits = zeroBytes(word ^ patternA) | zeroBytes(word ^ patternB)
            if hits != 0 { return i &+ hits.trailingZeroBitCount >> 3 }
            i &+= 8
        }
        while i < end {
            let c = base.load(fromByteOffset: i, as: UInt8.self)
            if c == a || c == b { return i }
            i &+= 1
        }
        return end
    }
}

/// Newline search over large buffers, 32 bytes per step.
public enum LineSplitter {
    /// Index of the first `\n` in `[from, end)`, or `end`.
    @inline(__always)
    public static func newline(in base: UnsafeRawPointer, from: Int, end: Int) -> Int {
        var i = from
        let newline = SIMD32<UInt8>(repeating: 10)
        while i &+ 32 <= end {
            let chunk = base.loadUnaligned(fromByteOffset: i, as: SIMD32<UInt8>.self)
            if any(chunk .== newline) { return ByteSearch.first(10, in: base, from: i, end: i &+ 32) }
            i &+= 32
        }
        return ByteSearch.first(10, in: base, from: i, end: end)
    }
}
