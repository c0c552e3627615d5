import Builtin

// This one file is compiled three times, into ByteKernelsSSE2, ByteKernelsAVX2 and
// ByteKernelsAVX512 (the other two folders hold a symbolic link to it), each with its own
// instruction set enabled in Package.swift. The 64-byte vectors below are legalized by the
// compiler into four SSE2 compares, two AVX2 compares, or one AVX-512BW compare into a mask
// register; `AccessLogFormat.InstructionSet` picks the variant the CPU runs, at run time.
// Only this module's functions see the wider instruction set: they are `@inline(never)`, so
// no caller compiled for the baseline ever inlines their bodies.

/// Byte classification for the structural index and the newline search, 64 bytes per step.
package enum ByteKernels {
    /// Sets bit `i % 64` of `spaces[i / 64]` (and of `quotes[…]`) when byte `i` of
    /// `[0, count)` is a space (a `"`); bits at or past `count` are 0. Reads no byte past
    /// `count`; writes `(count + 63) / 64` words to each array.
    @inline(never)
    package static func index(
        _ base: UnsafeRawPointer, count: Int,
        spaces: UnsafeMutablePointer<UInt64>, quotes: UnsafeMutablePointer<UInt64>
    ) {
        let whole = count >> 6
        var word = 0
        while word < whole {
            let bytes = base.loadUnaligned(fromByteOffset: word << 6, as: SIMD64<UInt8>.self)
            spaces[word] = bits(bytes .== SIMD64<UInt8>(repeating: 32))
            quotes[word] = bits(bytes .== SIMD64<UInt8>(repeating: 34))
            word &+= 1
        }
        let rest = count & 63
        guard rest > 0 else { return }
        let bytes: SIMD64<UInt8>
        let shift: UInt64
        if whole > 0 {
            // The last 64 bytes, overlapping the block before: their high bits are the rest's.
            bytes = base.loadUnaligned(fromByteOffset: count &- 64, as: SIMD64<UInt8>.self)
            shift = UInt64(64 &- rest)
        } else {
            // Shorter than a block: zero-padded to one (a zero byte is neither space nor quote).
            var block = SIMD64<UInt8>.zero
            // Safe: `block` is 64 bytes and `rest` < 64 are copied from inside `[0, count)`.
            withUnsafeMutableBytes(of: &block) { $0.baseAddress!.copyMemory(from: base, byteCount: rest) }
            bytes = block
            shift = 0
        }
        spaces[whole] = bits(bytes .== SIMD64<UInt8>(repeating: 32)) >> shift
        quotes[whole] = bits(bytes .== SIMD64<UInt8>(repeating: 34)) >> shift
    }

    /// The first `\n` in `[from, end)`, or `end`; `end - from` must be at least 64 (shorter
    /// ranges are the caller's, so that no byte outside the range is read).
    @inline(never)
    package static func newline(in base: UnsafeRawPointer, from: Int, end: Int) -> Int {
        precondition(end &- from >= 64, "ByteKernels.newline needs 64 bytes")
        var i = from
        while i &+ 64 <= end {
            let hits = bits(base.loadUnaligned(fromByteOffset: i, as: SIMD64<UInt8>.self) .== SIMD64<UInt8>(repeating: 10))
            if hits != 0 { return i &+ hits.trailingZeroBitCount }
            i &+= 64
        }
        guard i < end else { return end }
        // The last 64 bytes, overlapping those searched: only the bits of bytes from `i` count.
        let hits = bits(base.loadUnaligned(fromByteOffset: end &- 64, as: SIMD64<UInt8>.self) .== SIMD64<UInt8>(repeating: 10))
            >> UInt64(i &- (end &- 64))
        return hits != 0 ? i &+ hits.trailingZeroBitCount : end
    }

    /// One bit per lane, lane 0 lowest: `pmovmskb` (SSE2, AVX2) or `kmovq` (AVX-512BW). The
    /// standard library has no name for it; see Benchmarks/README.md for what the
    /// alternatives built from its SIMD types cost.
    @inline(__always)
    static func bits(_ mask: SIMDMask<SIMD64<Int8>>) -> UInt64 {
        // Safe: a mask of 64 `Int8` lanes (0 or -1) has the layout of `Builtin.Vec64xInt8`.
        let lanes = unsafeBitCast(mask, to: Builtin.Vec64xInt8.self)
        return UInt64(Builtin.bitcast_Vec64xInt1_Int64(Builtin.cmp_slt_Vec64xInt8(lanes, Builtin.zeroInitializer())))
    }
}
