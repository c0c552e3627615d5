import AccessLogFormat

#if REAL_FLAG_COUNTER
import FlagAggregation

/// The real counter: the main package exports FlagAggregation.
typealias BenchCounter = FlagCounter
let counterKind = "FlagAggregation.FlagCounter"

extension FlagCounter {
    /// Requests and flag counts per key name, for checking against the generator's truth.
    func verificationTotals(naming name: (UInt32) -> String) -> [String: (requests: Int, flags: [String: Int])] {
        totals(naming: name).keys.mapValues { ($0.requests, $0.flags) }
    }
}
#else

/// A line-for-line copy of `FlagCounter`'s per-record path (Sources/FlagAggregation/FlagCounter.swift),
/// used while the main package does not export FlagAggregation as a library product: dense
/// arrays indexed by interned key id, one increment per set flag bit plus one in the
/// upstream-failure slot, extension codes interned.
///
/// Keep it in step with FlagCounter.count(_:key:tokenizer:) and grow(to:).
typealias BenchCounter = MirrorFlagCounter
let counterKind = "mirror of FlagCounter (FlagAggregation is not a library product)"

final class MirrorFlagCounter {
    private static let stride = 32
    private static let failureSlot = 30
    /// A copy of `ResponseFlags.upstreamFailures` (declared in FlagAggregation).
    private static let upstreamFailures: UInt32 = [
        ResponseFlag.UH, .UT, .UR, .UF, .UC, .UO, .URX, .NC, .DF, .UPE, .UMSDR, .DO, .UDO,
    ].reduce(0) { $0 | ResponseFlags($1).rawValue }
    private struct Storage {
        var capacity = 0
        var requests = UnsafeMutablePointer<Int>.allocate(capacity: 0)
        var flagCounts = UnsafeMutablePointer<Int>.allocate(capacity: 0)
    }
    private let storage = UnsafeMutablePointer<Storage>.allocate(capacity: 1)
    private let extensionCodes = ByteInterner(capacity: 16)
    private var extensionCounts: [UInt64: Int] = [:]

    init() { storage.initialize(to: Storage()) }

    deinit {
        storage.pointee.requests.deallocate()
        storage.pointee.flagCounts.deallocate()
        storage.deallocate()
    }

    @inline(__always)
    func count(_ record: AccessRecord, key id: UInt32, tokenizer: LineTokenizer) {
        let index = Int(id)
        if index >= storage.pointee.capacity { grow(to: index + 1) }
        storage.pointee.requests[index] &+= 1
        var bits = record.flags.rawValue
        let flagCounts = storage.pointee.flagCounts + index &* MirrorFlagCounter.stride
        if bits & MirrorFlagCounter.upstreamFailures != 0 { flagCounts[MirrorFlagCounter.failureSlot] &+= 1 }
        while bits != 0 {
            flagCounts[bits.trailingZeroBitCount] &+= 1
            bits &= bits &- 1
        }
        for i in 0..<Int(record.unknownFlagCount) {
            let code = extensionCodes.intern(tokenizer.unknownFlag(i))
            extensionCounts[UInt64(id) << 32 | UInt64(code), default: 0] &+= 1
        }
    }

    private func grow(to count: Int) {
        let (capacity, requests, flagCounts) = (storage.pointee.capacity, storage.pointee.requests, storage.pointee.flagCounts)
        let newCapacity = max(count, capacity * 2, 64)
        let newRequests = UnsafeMutablePointer<Int>.allocate(capacity: newCapacity)
        newRequests.initialize(repeating: 0, count: newCapacity)
        newRequests.update(from: requests, count: capacity)
        let newFlags = UnsafeMutablePointer<Int>.allocate(capacity: newCapacity * MirrorFlagCounter.stride)
        newFlags.initialize(repeating: 0, count: newCapacity * MirrorFlagCounter.stride)
        newFlags.update(from: flagCounts, count: capacity * MirrorFlagCounter.stride)
        requests.deallocate()
        flagCounts.deallocate()
        storage.pointee = Storage(capacity: newCapacity, requests: newRequests, flagCounts: newFlags)
    }

    /// Requests and flag counts per key name, for checking against the generator's truth.
    func verificationTotals(naming name: (UInt32) -> String) -> [String: (requests: Int, flags: [String: Int])] {
        var result: [String: (requests: Int, flags: [String: Int])] = [:]
        let (capacity, requests, flagCounts) = (storage.pointee.capacity, storage.pointee.requests, storage.pointee.flagCounts)
        for index in 0..<capacity where requests[index] > 0 {
            var flags: [String: Int] = [:]
            for flag in ResponseFlag.allCases {
                let n = flagCounts[index * MirrorFlagCounter.stride + flag.rawValue]
                if n > 0 { flags[flag.shortCode] = n }
            }
            let key = name(UInt32(index))
            var entry = result[key] ?? (0, [:])
            entry.requests += requests[index]
            entry.flags.merge(flags, uniquingKeysWith: +)
            result[key] = entry
        }
        for (packed, n) in extensionCounts {
            let key = name(UInt32(packed >> 32))
            let code = extensionCodes.string(for: UInt32(truncatingIfNeeded: packed))
            result[key, default: (0, [:])].flags[code, default: 0] += n
        }
        return result
    }
}
#endif
