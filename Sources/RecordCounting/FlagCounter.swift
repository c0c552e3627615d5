import AccessLogFormat
import FailureCauses

/// Requests and flag counts of one group key (a cluster, an authority…).
public struct KeyTotals: Equatable, Sendable, Codable {
    public var requests = 0
    /// Requests with at least one flag of `ResponseFlags.upstreamFailures` (a `UF,URX`
    /// request counts once here, and once under each flag).
    public var upstreamFailures = 0
    /// Count per flag code (short code, or an extension's own code); only non-zero entries.
    public var flags: [String: Int] = [:]
    /// Records with a response flag per cause name (`FailureCause.name`): each such record
    /// once, so these add up to the records with a flag. Only non-zero entries.
    public var causes: [String: Int] = [:]
    /// Per cause name, the first line counted with it.
    public var causeSamples: [String: CauseSample] = [:]

    public init(requests: Int = 0, upstreamFailures: Int = 0, flags: [String: Int] = [:], causes: [String: Int] = [:]) {
        self.requests = requests
        self.upstreamFailures = upstreamFailures
        self.flags = flags
        self.causes = causes
    }

    /// The cause most flagged records have, and how many.
    public var dominantCause: (cause: FailureCause, count: Int)? { FailureCause.dominant(byName: causes) }

    public mutating func add(_ other: KeyTotals) {
        requests += other.requests
        upstreamFailures += other.upstreamFailures
        flags.merge(other.flags, uniquingKeysWith: +)
        causes.merge(other.causes, uniquingKeysWith: +)
        causeSamples.merge(other.causeSamples) { mine, theirs in theirs.precedes(mine) ? theirs : mine }
    }

    enum CodingKeys: String, CodingKey { case requests, upstreamFailures, flags, causes, causeSamples }

    /// Tail state written before causes were counted has no `causes`: read as none.
    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        requests = try container.decode(Int.self, forKey: .requests)
        upstreamFailures = try container.decode(Int.self, forKey: .upstreamFailures)
        flags = try container.decode([String: Int].self, forKey: .flags)
        causes = try container.decodeIfPresent([String: Int].self, forKey: .causes) ?? [:]
        causeSamples = try container.decodeIfPresent([String: CauseSample].self, forKey: .causeSamples) ?? [:]
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
public struct FlagTotals: Equatable, Sendable, Codable {
    public var keys: [String: KeyTotals] = [:]

    public init(keys: [String: KeyTotals] = [:]) { self.keys = keys }

    public mutating func merge(_ other: FlagTotals) {
        for (key, totals) in other.keys { keys[key, default: KeyTotals()].add(totals) }
    }

    /// Flag counts over all keys.
    public var flags: [String: Int] {
        keys.values.reduce(into: [:]) { $0.merge($1.flags, uniquingKeysWith: +) }
    }

    /// Cause counts over all keys.
    public var causes: [String: Int] {
        keys.values.reduce(into: [:]) { $0.merge($1.causes, uniquingKeysWith: +) }
    }

    public var requests: Int { keys.values.reduce(0) { $0 + $1.requests } }
}

/// Counts records per interned key id on the hot path: dense arrays, no hashing, no
/// allocation except when a new key or a new extension code first appears.
public final class FlagCounter {
    /// Per key: one counter per flag bit, then the upstream-failure request count.
    private static let stride = 32
    private static let failureSlot = 30
    /// Per key: one counter per cause.
    private static let causeStride = FailureCause.allCases.count
    /// Counts in raw memory, reached through one pointer: no uniqueness or exclusivity
    /// checks per record.
    private struct Storage {
        var capacity = 0
        var requests = UnsafeMutablePointer<Int>.allocate(capacity: 0)
        var flagCounts = UnsafeMutablePointer<Int>.allocate(capacity: 0)
        var causeCounts = UnsafeMutablePointer<Int>.allocate(capacity: 0)
    }
    private let storage = UnsafeMutablePointer<Storage>.allocate(capacity: 1)
    /// Extension codes, interned; counts by `key << 32 | code`.
    private let extensionCodes = ByteInterner(capacity: 16)
    private var extensionCounts: [UInt64: Int] = [:]
    /// Distinct extension codes counted by name. Envoy has about 40 flags and extensions add a
    /// few; past this (a broken or hostile log) codes count under `otherExtensionCode`, so
    /// memory stays bounded.
    public static let maxExtensionCodes = 256
    public static let otherExtensionCode = "__other__"
    private let otherCode: UInt32

    public init() {
        storage.initialize(to: Storage())
        otherCode = extensionCodes.intern(FlagCounter.otherExtensionCode)
        extensionCodes.limit = FlagCounter.maxExtensionCodes + 1
    }

    deinit {
        storage.pointee.requests.deallocate()
        storage.pointee.flagCounts.deallocate()
        storage.pointee.causeCounts.deallocate()
        storage.deallocate()
    }

    /// Counts one record under key `id`, reading extension codes from `tokenizer`.
    @inline(__always)
    public func count(_ record: AccessRecord, key id: UInt32, tokenizer: LineTokenizer) {
        let index = Int(id)
        if index >= storage.pointee.capacity { grow(to: index + 1) }
        storage.pointee.requests[index] &+= 1
        var bits = record.flags.rawValue
        let flagCounts = storage.pointee.flagCounts + index &* FlagCounter.stride
        if bits & ResponseFlags.upstreamFailures.rawValue != 0 { flagCounts[FlagCounter.failureSlot] &+= 1 }
        while bits != 0 {
            flagCounts[bits.trailingZeroBitCount] &+= 1
            bits &= bits &- 1
        }
        for i in 0..<Int(record.unknownFlagCount) {
            var code = extensionCodes.intern(tokenizer.unknownFlag(i))
            if code == ByteInterner.overflow { code = otherCode }
            extensionCounts[UInt64(id) << 32 | UInt64(code), default: 0] &+= 1
        }
    }

    /// Counts one record of key `id` (already counted by `count`) under `cause`; returns whether
    /// it is the key's first record with that cause.
    @inline(__always)
    public func count(_ cause: FailureCause, key id: UInt32) -> Bool {
        // Safe: `count(_:key:tokenizer:)` grew the storage past `id` for this record.
        let counter = storage.pointee.causeCounts + (Int(id) &* FlagCounter.causeStride &+ Int(cause.rawValue))
        counter.pointee &+= 1
        return counter.pointee == 1
    }

    private func grow(to count: Int) {
        let old = storage.pointee
        let newCapacity = max(count, old.capacity * 2, 64)
        func grown(_ pointer: UnsafeMutablePointer<Int>, stride: Int) -> UnsafeMutablePointer<Int> {
            let new = UnsafeMutablePointer<Int>.allocate(capacity: newCapacity * stride)
            new.initialize(repeating: 0, count: newCapacity * stride)
            new.update(from: pointer, count: old.capacity * stride)
            pointer.deallocate()
            return new
        }
        storage.pointee = Storage(capacity: newCapacity, requests: grown(old.requests, stride: 1),
                                  flagCounts: grown(old.flagCounts, stride: FlagCounter.stride),
                                  causeCounts: grown(old.causeCounts, stride: FlagCounter.causeStride))
    }

    /// Totals by key name; `name(id)` gives the name of an interned id.
    public func totals(naming name: (UInt32) -> String) -> FlagTotals {
        var result = FlagTotals()
        let (capacity, requests, flagCounts) = (storage.pointee.capacity, storage.pointee.requests, storage.pointee.flagCounts)
        let causeCounts = storage.pointee.causeCounts
        for index in 0..<capacity where requests[index] > 0 {
            var totals = KeyTotals(requests: requests[index],
                                   upstreamFailures: flagCounts[index * FlagCounter.stride + FlagCounter.failureSlot])
            for flag in ResponseFlag.allCases {
                let n = flagCounts[index * FlagCounter.stride + flag.rawValue]
                if n > 0 { totals.flags[flag.shortCode] = n }
            }
            for cause in FailureCause.allCases {
                let n = causeCounts[index * FlagCounter.causeStride + Int(cause.rawValue)]
                if n > 0 { totals.causes[cause.name] = n }
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
