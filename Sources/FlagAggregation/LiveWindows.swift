/// The last `horizon` seconds of records per key, for rules evaluated while logs are followed.
///
/// Each second holds the key's request count and a count per distinct flag set seen (`UF`,
/// `UF,URX`…), not per rule: any rule, including one loaded later by a reload, can sum "records
/// carrying any of these flags" over its window. A key sees few distinct sets, so a second is a
/// few counters; a ring of `horizon` seconds per key bounds memory whatever the log's length.
public final class LiveWindows {
    /// Seconds kept per key; the longest rule window must fit.
    public let horizon: Int

    struct FlagSetRing {
        var flags: UInt32
        var counts: [UInt32]
    }

    struct KeyRing {
        /// The second each slot holds; a slot whose stamp is not the second asked for is empty.
        var seconds: [Int64]
        var requests: [UInt32]
        var sets: [FlagSetRing] = []

        init(horizon: Int) {
            seconds = Array(repeating: .min, count: horizon)
            requests = Array(repeating: 0, count: horizon)
        }
    }

    private var rings: [KeyRing?] = []
    /// Per key id, the newest second holding a record (for `activeKeys`), and the newest
    /// holding one with a flag (a key whose flagged records have all left the windows can be
    /// passed over without a sum); `.min` for none. Apart from the rings, so that asking costs
    /// no copy of one.
    private var latestSeconds: [Int64] = []
    private var latestFlaggedSeconds: [Int64] = []

    public init(horizon: Int) {
        precondition(horizon > 0)
        self.horizon = horizon
    }

    @inline(__always)
    private func slot(_ second: Int64) -> Int { Int(second >= 0 ? second % Int64(horizon) : (second % Int64(horizon) + Int64(horizon)) % Int64(horizon)) }

    /// Counts one record of second `second` with `flags` under key `id`. The caller keeps
    /// `second` within the horizon of the newest second (older records are late).
    public func add(key id: UInt32, second: Int64, flags: UInt32, count: UInt32 = 1) {
        let index = Int(id)
        if index >= rings.count { rings.append(contentsOf: repeatElement(nil, count: index + 1 - rings.count)) }
        if rings[index] == nil {
            rings[index] = KeyRing(horizon: horizon)
            latestSeconds.append(contentsOf: repeatElement(.min, count: rings.count - latestSeconds.count))
            latestFlaggedSeconds.append(contentsOf: repeatElement(.min, count: rings.count - latestFlaggedSeconds.count))
        }
        latestSeconds[index] = max(latestSeconds[index], second)
        if flags != 0 { latestFlaggedSeconds[index] = max(latestFlaggedSeconds[index], second) }
        let slot = self.slot(second)
        rings[index]!.withClearedSlot(slot, for: second) { ring in
            ring.requests[slot] &+= count
            guard flags != 0 else { return }
            if let set = ring.sets.firstIndex(where: { $0.flags == flags }) {
                ring.sets[set].counts[slot] &+= count
            } else {
                var counts = Array(repeating: UInt32(0), count: horizon)
                counts[slot] = count
                ring.sets.append(FlagSetRing(flags: flags, counts: counts))
            }
        }
    }

    /// For each rule `r`, the records carrying any flag of `masks[r]` into `counts[r]`, and all
    /// records into `requests[r]`, of key `id` in the `windows[r]` seconds ending with second
    /// `last`: every rule of a key in one pass over its longest window (`counts` and
    /// `requests` hold one element per rule).
    public func sums(key id: UInt32, masks: [UInt32], windows: [Int], endingAt last: Int64, counts: inout [Int], requests: inout [Int]) {
        for rule in counts.indices {
            counts[rule] = 0
            requests[rule] = 0
        }
        guard Int(id) < rings.count, let ring = rings[Int(id)] else { return }
        let longest = min(windows.max() ?? 0, horizon)
        var second = last
        var slot = self.slot(last)
        for age in 0..<longest {
            if ring.seconds[slot] == second {
                let n = Int(ring.requests[slot])
                for rule in masks.indices where age < windows[rule] {
                    requests[rule] += n
                    for set in ring.sets where set.flags & masks[rule] != 0 { counts[rule] += Int(set.counts[slot]) }
                }
            }
            second -= 1
            slot = slot == 0 ? horizon - 1 : slot - 1
        }
    }

    /// The newest second holding a record of key `id` with a flag, `.min` when none did.
    public func latestFlaggedSecond(key id: UInt32) -> Int64 {
        Int(id) < latestFlaggedSeconds.count ? latestFlaggedSeconds[Int(id)] : .min
    }

    /// Whether key `id` has a record in the `horizon` seconds ending with `last`.
    public func isActive(key id: UInt32, endingAt last: Int64) -> Bool {
        Int(id) < latestSeconds.count && latestSeconds[Int(id)] > last - Int64(horizon)
    }

    /// Keys with a record in the `horizon` seconds ending with `last`.
    public func activeKeys(endingAt last: Int64) -> [UInt32] {
        latestSeconds.indices.compactMap { latestSeconds[$0] > last - Int64(horizon) ? UInt32($0) : nil }
    }

    /// Drops flag sets with no count left in the horizon, so a set seen once long ago stops
    /// costing a scan per evaluation.
    public func prune(endingAt last: Int64) {
        for index in rings.indices where rings[index] != nil {
            let ring = rings[index]!
            let live = { (slot: Int) in ring.seconds[slot] > last - Int64(self.horizon) }
            rings[index]!.sets.removeAll { set in !set.counts.indices.contains { set.counts[$0] > 0 && live($0) } }
        }
    }

    /// One second of one key, for persistence and for rebuilding with another horizon.
    public struct Bucket: Codable, Equatable, Sendable {
        public var second: Int64
        public var requests: UInt32
        /// Flag set (raw bits) → records.
        public var flagSets: [UInt32: UInt32]
    }

    /// The buckets of key `id` within the horizon ending with `last`, oldest first.
    public func buckets(key id: UInt32, endingAt last: Int64) -> [Bucket] {
        guard Int(id) < rings.count, let ring = rings[Int(id)] else { return [] }
        return (0..<horizon).compactMap { offset in
            let second = last - Int64(horizon) + 1 + Int64(offset)
            let slot = self.slot(second)
            guard ring.seconds[slot] == second else { return nil }
            var flagSets: [UInt32: UInt32] = [:]
            for set in ring.sets where set.counts[slot] > 0 { flagSets[set.flags] = set.counts[slot] }
            return Bucket(second: second, requests: ring.requests[slot], flagSets: flagSets)
        }
    }

    /// Adds saved buckets back under key `id`.
    public func restore(key id: UInt32, _ buckets: [Bucket]) {
        for bucket in buckets {
            let withFlags = bucket.flagSets.values.reduce(0, +)
            // Records without flags first, then one add per flag set: the sums come back exact.
            if bucket.requests > withFlags { add(key: id, second: bucket.second, flags: 0, count: bucket.requests - withFlags) }
            for (flags, count) in bucket.flagSets { add(key: id, second: bucket.second, flags: flags, count: count) }
        }
    }
}

extension LiveWindows.KeyRing {
    /// Runs `body` on slot `slot` after emptying it if it holds an older second.
    @inline(__always)
    mutating func withClearedSlot(_ slot: Int, for second: Int64, _ body: (inout Self) -> Void) {
        if seconds[slot] != second {
            seconds[slot] = second
            requests[slot] = 0
            for set in sets.indices { sets[set].counts[slot] = 0 }
        }
        body(&self)
    }
}
