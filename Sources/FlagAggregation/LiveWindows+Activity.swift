/// What a live view shows of one key: its recent seconds, read off the same rings the rules sum.
extension LiveWindows {
    public struct Activity: Sendable, Equatable {
        /// Requests per second, oldest first, the last being the second asked for.
        public var requests: [UInt32]
        /// Records per second carrying a flag of the mask asked for.
        public var flagged: [UInt32]
        /// Over the window: records per distinct flag set and tag (every set with a flag).
        public var sets: [Tagged]
    }

    /// Key `id`'s `seconds` seconds ending with `last` (at most the horizon), and its flag sets
    /// over the `window` newest of them; nil for a key never counted. One pass over the ring.
    public func activity(key id: UInt32, mask: UInt32, seconds: Int, window: Int, endingAt last: Int64) -> Activity? {
        guard Int(id) < rings.count, let ring = rings[Int(id)] else { return nil }
        let seconds = min(seconds, horizon)
        var activity = Activity(requests: Array(repeating: 0, count: seconds), flagged: Array(repeating: 0, count: seconds), sets: [])
        var setCounts = Array(repeating: UInt32(0), count: ring.sets.count)
        for offset in 0..<seconds {
            let second = last - Int64(seconds - 1 - offset)
            let slot = self.slot(second)
            guard ring.seconds[slot] == second else { continue }
            activity.requests[offset] = ring.requests[slot]
            let inWindow = offset >= seconds - window
            for (index, set) in ring.sets.enumerated() {
                let n = set.counts[slot]
                if set.flags & mask != 0 { activity.flagged[offset] &+= n }
                if inWindow { setCounts[index] &+= n }
            }
        }
        for (index, set) in ring.sets.enumerated() where setCounts[index] > 0 {
            activity.sets.append(Tagged(flags: set.flags, tag: set.tag, count: setCounts[index]))
        }
        return activity
    }
}
