/// The newline search of `ByteKernels` written with the standard library's SIMD types only,
/// to measure what the Builtin module's movemask is worth: a compare gives a mask of 64 lanes,
/// and without `pmovmskb` its bits are gathered by multiplication, eight lanes per word.
enum StandardLibrarySIMD {
    /// Lane i of each group of eight holds bit i.
    static let weights = SIMD64<UInt8>((0..<64).map { UInt8(1) << UInt8($0 & 7) })

    @inline(__always)
    static func bits(_ mask: SIMDMask<SIMD64<Int8>>) -> UInt64 {
        let picked = SIMD64<UInt8>(repeating: 0).replacing(with: weights, where: mask)
        // Safe: 64 bytes viewed as eight words, lane 0 lowest on a little-endian machine.
        let words = unsafeBitCast(picked, to: SIMD8<UInt64>.self)
        // The weights of a group are distinct bits: multiplying by 0x0101… sums them into the top byte.
        let sums = (words &* 0x0101_0101_0101_0101) &>> 56
        return sums[0] | sums[1] << 8 | sums[2] << 16 | sums[3] << 24 | sums[4] << 32 | sums[5] << 40 | sums[6] << 48 | sums[7] << 56
    }

    /// The first `\n` in `[from, end)`, or `end`.
    static func newline(_ base: UnsafeRawPointer, _ from: Int, _ end: Int) -> Int {
        var i = from
        while i &+ 64 <= end {
            let hits = bits(base.loadUnaligned(fromByteOffset: i, as: SIMD64<UInt8>.self) .== SIMD64<UInt8>(repeating: 10))
            if hits != 0 { return i &+ hits.trailingZeroBitCount }
            i &+= 64
        }
        while i < end, base.load(fromByteOffset: i, as: UInt8.self) != 10 { i &+= 1 }
        return i
    }
}
