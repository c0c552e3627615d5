import AccessLogFormat

/// Requests and flag counts of one group key (a cluster, an authority…).
public struct KeyTotals: Equatable, Sendable {
    public var requests = 0
    /// Count per flag code (short code, or an extension's own code); only non-zero entries.
    public var flags: [String: Int] = [:]

    public init(requests: Int = 0, flags: [String: Int] = [:]) {
        self.requests = requests
        self.flags = flags
    }

    public mutating func add(_ other: KeyTotals) {
        requests += other.requests
        flags.merge(other.flags, uniquingKeysWith: +)
    }

    /// Requests that carried at least one upstream-failure flag are not known after merging,
    /// so "failures" is the sum of the upstream-failure flag counts.
    public var upstreamFailures: Int {
        flags.reduce(0) { total, entry in
            ResponseFlag(code: entry.key).map { ResponseFlags.upstreamFailures.contains($0) } == true ? total + entry.value : total
        }
    }
}

extension ResponseFlags {
    /// Flags that say the upstream side failed: what flagwatch exists to spot.
    public static let upstreamFailures: ResponseFlags = [
        .init(.UH), .init(.UT), .init(.UR), .init(.UF), .init(.UC), .init(.UO), .init(.URX), .init(.NC),
        .init(.DF), .init(.UPE), .init(.UMSDR), .init(.DO), .init(.UDO),
    ]
}

/// Totals per group key, by key name; what workers produce and what reports print.
public struct FlagTotals: Equatable, Sendable {
    public var keys: [String: KeyTotals] = [:]

    public init(keys: [String: KeyTotals] = [:]) { self.keys = keys }

    public mutating func merge(_ other: FlagTotals) {
        for (key, totals) in other.keys { keys[key, default: KeyTotals()].add(totals) }
    }

    /// Flag counts over all keys.
    public var flags: [String: Int] {
        keys.values.reduce(into: [:]) { $0.merge($1.flags, uniquingKeysWith: +) }
    }

    public var requests: Int { keys.values.reduce(0) { $0 + $1.requests } }
}

/// Counts records per interned key id on the hot path: dense arrays, no hashing, no
/// allocation except when a new key or a new extension code first appears.
public final class FlagCounter {
    private static let stride = 32
    private var requests: [Int] = []
    private var flagCounts: [Int] = []
    /// Extension codes, interned; counts by `key << 32 | code`.
    private let extensionCodes = ByteInterner(capacity: 16)
    private var extensionCounts: [UInt64: Int] = [:]

    public init() {}

    /// Counts one record under key `id`, reading extension codes from `tokenizer`.
    @inline(__always)
    public func count(_ record: AccessRecord, key id: UInt32, tokenizer: LineTokenizer) {
        let index = Int(id)
        if index >= requests.count { grow(to: index + 1) }
        requests[index] &+= 1
        var bits = record.flags.rawValue
        let base = index &* FlagCounter.stride
        while bits != 0 {
            flagCounts[base &+ bits.trailingZeroBitCount] &+= 1
            bits &= bits &- 1
        }
        for i in 0..<Int(record.unknownFlagCount) {
            let code = extensionCodes.intern(tokenizer.unknownFlag(i))
            extensionCounts[UInt64(id) << 32 | UInt64(code), default: 0] &+= 1
        }
    }

    private func grow(to count: Int) {
        let capacity = max(count, requests.count * 2, 64)
        requests += Array(repeating: 0, count: capacity - requests.count)
        flagCounts += Array(repeating: 0, count: capacity * FlagCounter.stride - flagCounts.count)
    }

    /// Totals by key name; `name(id)` gives the name of an interned id.
    public func totals(naming name: (UInt32) -> String) -> FlagTotals {
        var result = FlagTotals()
        for index in requests.indices where requests[index] > 0 {
            var totals = KeyTotals(requests: requests[index])
            for flag in ResponseFlag.allCases {
                let n = flagCounts[index * FlagCounter.stride + flag.rawValue]
                if n > 0 { totals.flags[flag.shortCode] = n }
            }
            result.keys[name(UInt32(index)), default: KeyTotals()].add(totals)
        }
        for (packed, n) in extensionCounts {
            let key = name(UInt32(packed >> 32))
            let code = extensionCodes.string(for: UInt32(truncatingIfNeeded: packed))
            result.keys[key, default: KeyTotals()].flags[code, default: 0] += n
        }
        return result
    }
}
