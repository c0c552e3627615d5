/// The last `horizon` seconds of records per key, for rules evaluated while logs are followed.
///
/// Each second holds the key's request count and a count per distinct flag set seen (`UF`,
/// `UF,URX`…), not per rule: any rule, including one loaded later by a reload, can sum "records
/// carrying any of these flags" over its window. A key sees few distinct sets, so a second is a
/// few counters; a ring of `horizon` seconds per key bounds memory whatever the log's length.
/// A set is also told apart by a tag (the records' cause), so that the window's dominant tag
/// can be read when an alert fires; a cluster sees few causes, so sets stay few.
public final class LiveWindows {
    /// Seconds kept per key; the longest rule window must fit.
    public let horizon: Int

    struct FlagSetRing {
        var flags: UInt32
        var tag: UInt8
        var counts: [UInt32]
    }

    /// The tag of records whose tag is not known (restored from a checkpoint without tags).
    public static let untagged = UInt8.max

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

    /// Per key id; internal for `LiveWindows+Activity`.
    var rings: [KeyRing?] = []
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
    func slot(_ second: Int64) -> Int { Int(second >= 0 ? second % Int64(horizon) : (second % Int64(horizon) + Int64(horizon)) % Int64(horizon)) }

    /// Counts one record of second `second` with `flags` and `tag` under key `id`. The caller
    /// keeps `second` within the horizon of the newest second (older records are late).
    public func add(key id: UInt32, second: Int64, flags: UInt32, tag: UInt8 = LiveWindows.untagged, count: UInt32 = 1) {
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
            if let set = ring.sets.firstIndex(where: { $0.flags == flags && $0.tag == tag }) {
                ring.sets[set].counts[slot] &+= count
            } else {
                var counts = Array(repeating: UInt32(0), count: horizon)
                counts[slot] = count
                ring.sets.append(FlagSetRing(flags: flags, tag: tag, counts: counts))
            }
        }
    }

    /// What one rule sums over a key's last seconds: the records carrying any flag of `mask`
    /// in the `window` seconds, into one counter, or per tag (`tags` counters, one per tag
    /// below `tags`; untagged records count in none).
    public struct WindowSum: Sendable {
        public var mask: UInt32
        public var window: Int
        /// The rule's first counter.
        public var offset: Int
        /// 0: one counter for every tag.
        public var tags: Int

        public init(mask: UInt32, window: Int, offset: Int, tags: Int) {
            self.mask = mask
            self.window = window
            self.offset = offset
            self.tags = tags
        }
    }

    /// For each rule `r`, its sums (`WindowSum`) into `counts`, and all records of its window
    /// into `requests[r]`, of key `id` for the windows ending with second `last`: every rule
    /// of a key in one pass over its longest window.
    public func sums(key id: UInt32, _ rules: [WindowSum], endingAt last: Int64, counts: inout [Int], requests: inout [Int]) {
        for index in counts.indices { counts[index] = 0 }
        for rule in requests.indices { requests[rule] = 0 }
        guard Int(id) < rings.count, let ring = rings[Int(id)] else { return }
        let longest = min(rules.map(\.window).max() ?? 0, horizon)
        var second = last
        var slot = self.slot(last)
        for age in 0..<longest {
            if ring.seconds[slot] == second {
                let n = Int(ring.requests[slot])
                for (index, rule) in rules.enumerated() where age < rule.window {
                    requests[index] += n
                    for set in ring.sets where set.flags & rule.mask != 0 {
                        if rule.tags == 0 {
                            counts[rule.offset] += Int(set.counts[slot])
                        } else if Int(set.tag) < rule.tags {
                            counts[rule.offset + Int(set.tag)] += Int(set.counts[slot])
                        }
                    }
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

    /// Records carrying any flag of `mask` per tag (untagged ones left out), of key `id` in the
    /// `window` seconds ending with second `last`.
    public func tagCounts(key id: UInt32, mask: UInt32, window: Int, endingAt last: Int64) -> [UInt8: Int] {
        guard Int(id) < rings.count, let ring = rings[Int(id)] else { return [:] }
        var counts: [UInt8: Int] = [:]
        var second = last - Int64(min(window, horizon)) + 1
        while second <= last {
            let slot = self.slot(second)
            if ring.seconds[slot] == second {
                for set in ring.sets where set.flags & mask != 0 && set.tag != LiveWindows.untagged && set.counts[slot] > 0 {
                    counts[set.tag, default: 0] += Int(set.counts[slot])
                }
            }
            second += 1
        }
        return counts
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
        /// Flag set (raw bits) → records, over every tag.
        public var flagSets: [UInt32: UInt32]
        /// The same records by flag set and tag; nil in checkpoints written before tags.
        public var tagged: [Tagged]?
    }

    public struct Tagged: Codable, Equatable, Sendable {
        public var flags: UInt32
        public var tag: UInt8
        public var count: UInt32
    }

    /// The buckets of key `id` within the horizon ending with `last`, oldest first.
    public func buckets(key id: UInt32, endingAt last: Int64) -> [Bucket] {
        guard Int(id) < rings.count, let ring = rings[Int(id)] else { return [] }
        return (0..<horizon).compactMap { offset in
            let second = last - Int64(horizon) + 1 + Int64(offset)
            let slot = self.slot(second)
            guard ring.seconds[slot] == second else { return nil }
            var flagSets: [UInt32: UInt32] = [:]
            var tagged: [Tagged] = []
            for set in ring.sets where set.counts[slot] > 0 {
                flagSets[set.flags, default: 0] += set.counts[slot]
                tagged.append(Tagged(flags: set.flags, tag: set.tag, count: set.counts[slot]))
            }
            return Bucket(second: second, requests: ring.requests[slot], flagSets: flagSets, tagged: tagged)
        }
    }

    /// Adds saved buckets back under key `id`.
    public func restore(key id: UInt32, _ buckets: [Bucket]) {
        for bucket in buckets {
            let withFlags = bucket.flagSets.values.reduce(0, +)
            // Records without flags first, then one add per flag set: the sums come back exact.
            if bucket.requests > withFlags {
                add(key: id, second: bucket.second, flags: 0, tag: LiveWindows.untagged, count: bucket.requests - withFlags)
            }
            let tagged = bucket.tagged ?? bucket.flagSets.map { Tagged(flags: $0.key, tag: LiveWindows.untagged, count: $0.value) }
            for set in tagged { add(key: id, second: bucket.second, flags: set.flags, tag: set.tag, count: set.count) }
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
