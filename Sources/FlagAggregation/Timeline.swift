/// Equal time bins over a range: `count` bins of `step` seconds from `start`.
public struct BinGrid: Sendable, Equatable {
    public var start: Int64
    public var step: Int64
    public var count: Int
    public var end: Int64 { start + step * Int64(count) }

    /// Lengths people read at a glance, seconds.
    static let roundSteps: [Int64] = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200,
                                      86400, 2 * 86400, 7 * 86400, 14 * 86400, 28 * 86400]

    /// The smallest round bin length that is a multiple of `resolution` (seconds) and covers
    /// `[low, high)` in at most `maxBins` bins; bins are aligned to multiples of their length.
    public init(from low: Int64, to high: Int64, resolution: Int64, maxBins: Int) {
        var candidates = BinGrid.roundSteps.filter { $0 >= resolution && $0 % resolution == 0 }
        candidates += [1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1200, 3600].map { $0 * resolution }
        candidates = Array(Set(candidates)).sorted()
        let span = max(high - low, 1)
        var chosen: Int64?
        for step in candidates where (high - BinGrid.floorDiv(low, step) * step + step - 1) / step <= Int64(maxBins) {
            chosen = step
            break
        }
        // Past every round length (years of data): whole days.
        let step = chosen ?? ((span / Int64(maxBins - 1)) / 86400 + 1) * 86400
        start = BinGrid.floorDiv(low, step) * step
        count = Int(max(1, (high - start + step - 1) / step))
        self.step = step
    }

    /// The bin holding second `second` (may be outside `0..<count`).
    @inline(__always)
    public func bin(of second: Int64) -> Int { Int(BinGrid.floorDiv(second - start, step)) }

    public static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 { a >= 0 ? a / b : -((-a + b - 1) / b) }
}

/// What a scan's report draws: counts per time bin over the whole range, at most `maxBins`
/// bins whatever the span, each bin exact (a sum of whole buckets).
///
/// Requests are kept per bin over every key; the counters of every lane (requests, then one
/// per rule) only for the keys the report charts, so memory is bounded by the bins and the
/// chart cap, not by the history.
public struct Timeline: Sendable, Equatable {
    public static let maxBins = 1200
    public let grid: BinGrid
    public let lanes: Int
    /// First and last second holding a record.
    public let firstSecond: Int64
    public let lastSecond: Int64
    /// Requests per bin, every key.
    public private(set) var requests: [Int]
    /// Per charted key: `lanes` counters per bin, bin after bin.
    public private(set) var keys: [String: [UInt32]] = [:]

    /// A timeline for buckets `buckets` of `resolutionSeconds` each, in at most `maxBins` bins
    /// whose length is a multiple of `binMultiple` seconds too.
    public init(buckets: ClosedRange<Int64>, resolutionSeconds: Int, lanes: Int, maxBins: Int = Timeline.maxBins, binMultiple: Int64 = 1) {
        let resolution = Int64(resolutionSeconds)
        firstSecond = buckets.lowerBound * resolution
        lastSecond = (buckets.upperBound + 1) * resolution - 1
        var multiple = resolution
        while multiple % binMultiple != 0 { multiple += resolution }
        grid = BinGrid(from: firstSecond, to: lastSecond + 1, resolution: multiple, maxBins: maxBins)
        self.lanes = lanes
        requests = Array(repeating: 0, count: grid.count)
    }

    /// Adds `count` requests at second `second`.
    public mutating func addRequests(_ count: Int, at second: Int64) {
        requests[grid.bin(of: second)] += count
    }

    /// Starts keeping every lane of `key`.
    public mutating func chart(_ key: String) {
        if keys[key] == nil { keys[key] = Array(repeating: 0, count: grid.count * lanes) }
    }

    /// Whether second `second` falls in a bin.
    public func covers(_ second: Int64) -> Bool { second >= grid.start && second < grid.end }

    /// Adds a charted key's counters at second `second` (in a bin).
    public mutating func add(_ counts: UnsafeBufferPointer<UInt32>, key: String, at second: Int64) {
        let base = grid.bin(of: second) * lanes
        keys[key]!.withUnsafeMutableBufferPointer { bins in
            for lane in 0..<lanes { bins[base + lane] &+= counts[lane] }
        }
    }

    /// Counter `lane` of bin `bin` of a charted key (0 for others).
    public func count(_ key: String, bin: Int, lane: Int) -> Int {
        guard let bins = keys[key], bin >= 0, bin < grid.count else { return 0 }
        return Int(bins[bin * lanes + lane])
    }

    /// Requests per bin re-binned onto `coarser` (whose step is a multiple of this one's).
    public func requests(on coarser: BinGrid) -> [Int] {
        var out = Array(repeating: 0, count: coarser.count)
        for (bin, n) in requests.enumerated() where n > 0 {
            let target = coarser.bin(of: grid.start + Int64(bin) * grid.step)
            if target >= 0, target < coarser.count { out[target] += n }
        }
        return out
    }

    /// Counter `lane` of a charted key re-binned onto `coarser`.
    public func counts(_ key: String, lane: Int, on coarser: BinGrid) -> [Int] {
        var out = Array(repeating: 0, count: coarser.count)
        guard let bins = keys[key] else { return out }
        for bin in 0..<grid.count {
            let n = bins[bin * lanes + lane]
            guard n > 0 else { continue }
            let target = coarser.bin(of: grid.start + Int64(bin) * grid.step)
            if target >= 0, target < coarser.count { out[target] += Int(n) }
        }
        return out
    }
}
