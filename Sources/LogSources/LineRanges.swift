#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Splits bytes [0, size) of a plain file into at most `parts` ranges for `FileRangeSource`,
/// each holding whole lines: every split point moves forward to just after the next newline.
/// Ranges are contiguous, non-empty and cover every byte once; only the last one may end
/// without a newline (a file whose last line is unterminated).
public func newlineAlignedRanges(path: String, size: Int64, parts: Int) throws -> [Range<Int64>] {
    precondition(parts > 0, "parts must be positive")
    guard size > 0 else { return [] }
    let descriptor = open(path, O_RDONLY | O_CLOEXEC)
    guard descriptor >= 0 else { throw SourceError.system(path, "cannot open") }
    defer { close(descriptor) }

    var scratch = [UInt8](repeating: 0, count: 64 << 10)
    var ranges: [Range<Int64>] = []
    var start: Int64 = 0
    for part in 1..<parts {
        let nominal = size / Int64(parts) * Int64(part) + size % Int64(parts) * Int64(part) / Int64(parts)
        guard nominal > start else { continue }
        // A split at `nominal` is on a line start when the byte before it is a newline.
        var split = size
        var offset = nominal - 1
        search: while offset < size {
            let wanted = Int(min(Int64(scratch.count), size - offset))
            let count = scratch.withUnsafeMutableBytes { bytes in
                retryingInterrupted { pread(descriptor, bytes.baseAddress, wanted, off_t(offset)) }
            }
            guard count >= 0 else { throw SourceError.system(path, "read failed") }
            guard count > 0 else { break search }
            // memchr: a split point inside a long (or hostile, 100 MB) line is searched to its end.
            let newline = scratch.withUnsafeBytes { bytes in
                memchr(bytes.baseAddress!, Int32(UInt8(ascii: "\n")), count).map { $0 - UnsafeMutableRawPointer(mutating: bytes.baseAddress!) }
            }
            if let newline {
                split = offset + Int64(newline) + 1
                break search
            }
            offset += Int64(count)
        }
        if split == size { break }
        ranges.append(start..<split)
        start = split
    }
    ranges.append(start..<size)
    return ranges
}
