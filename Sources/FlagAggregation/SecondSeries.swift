import AccessLogFormat

/// Per-key counts in event-time buckets: requests, and per watched flag set the records
/// that carry any of its flags. What rules evaluate, for history (`scan`) and live (`tail`).
///
/// Buckets live in pages of 256 buckets allocated on first use, so a quiet stretch of history
/// costs nothing and a record's bucket is found with a shift and a cached page pointer.
public final class SecondSeries {
    public static let pageShift = 8
    public static let pageSize = 1 << pageShift

    /// Flag masks counted besides requests (one per rule); bucket `b` of a page holds
    /// `lanes` counters: requests first, then one per mask.
    public let masks: [UInt32]
    public let lanes: Int
    /// Bucket length in microseconds.
    public let resolution: Int64

    private struct KeyPages {
        var pages: [Int64: UnsafeMutablePointer<UInt32>] = [:]
        var cachedPage: Int64 = .min
        var cachedPointer: UnsafeMutablePointer<UInt32>?
    }

    // Pointer-held so the per-record path has no exclusivity checks.
    private struct Keys {
        var pages = UnsafeMutablePointer<KeyPages>.allocate(capacity: 0)
        var capacity = 0
    }
    private let table = UnsafeMutablePointer<Keys>.allocate(capacity: 1)
    private var keys: UnsafeMutablePointer<KeyPages> { table.pointee.pages }
    private var keyCapacity: Int { table.pointee.capacity }
    private let masksPointer: UnsafeMutablePointer<UInt32>
    private let maskCount: Int

    public init(masks: [UInt32], resolutionSeconds: Int = 1) {
        self.masks = masks
        lanes = 1 + masks.count
        resolution = Int64(resolutionSeconds) * 1_000_000
        masksPointer = .allocate(capacity: max(masks.count, 1))
        masksPointer.initialize(from: masks, count: masks.count)
        maskCount = masks.count
        table.initialize(to: Keys())
    }

    deinit {
        for k in 0..<keyCapacity {
            for page in keys[k].pages.values { page.deallocate() }
        }
        keys.deinitialize(count: keyCapacity)
        keys.deallocate()
        table.deallocate()
        masksPointer.deallocate()
    }

    /// The bucket index of a time in microseconds.
    @inline(__always)
    public func bucket(of micros: Int64) -> Int64 {
        // One-second buckets (the default) divide by a constant: a multiply, not a division.
        if resolution == 1_000_000 { return micros >= 0 ? micros / 1_000_000 : (micros - 999_999) / 1_000_000 }
        return micros >= 0 ? micros / resolution : (micros - resolution + 1) / resolution
    }

    /// Counts one record with start time `micros` and `flags` under key `id`.
    @inline(__always)
    public func add(key id: UInt32, micros: Int64, flags: UInt32) {
        let index = Int(id)
        if index >= keyCapacity { grow(to: index + 1) }
        let bucket = self.bucket(of: micros)
        let pageNumber = bucket >> Int64(SecondSeries.pageShift)
        let page: UnsafeMutablePointer<UInt32>
        if keys[index].cachedPage == pageNumber, let cached = keys[index].cachedPointer {
            page = cached
        } else {
            page = self.page(key: index, number: pageNumber)
        }
        let slot = page + Int(bucket & Int64(SecondSeries.pageSize - 1)) &* lanes
        slot[0] &+= 1
        if flags != 0 {
            for lane in 0..<maskCount where flags & masksPointer[lane] != 0 { slot[1 &+ lane] &+= 1 }
        }
    }

    private func page(key index: Int, number: Int64) -> UnsafeMutablePointer<UInt32> {
        let page: UnsafeMutablePointer<UInt32>
        if let existing = keys[index].pages[number] {
            page = existing
        } else {
            page = .allocate(capacity: SecondSeries.pageSize * lanes)
            page.initialize(repeating: 0, count: SecondSeries.pageSize * lanes)
            keys[index].pages[number] = page
        }
        keys[index].cachedPage = number
        keys[index].cachedPointer = page
        return page
    }

    private func grow(to count: Int) {
        let capacity = max(count, keyCapacity * 2, 64)
        let grown = UnsafeMutablePointer<KeyPages>.allocate(capacity: capacity)
        grown.moveInitialize(from: keys, count: keyCapacity)
        (grown + keyCapacity).initialize(repeating: KeyPages(), count: capacity - keyCapacity)
        keys.deallocate()
        table.pointee = Keys(pages: grown, capacity: capacity)
    }

    /// Moves the counts of every key, by key name, into `series`, freeing this recorder's
    /// pages as it goes so that a merge never holds two full copies.
    public func drain(naming name: (UInt32) -> String, into series: inout [String: KeySeries]) {
        for k in 0..<keyCapacity where !keys[k].pages.isEmpty {
            let key = name(UInt32(k))
            var target = series[key] ?? KeySeries(lanes: lanes)
            for (number, page) in keys[k].pages {
                target.add(page: number, UnsafeBufferPointer(start: page, count: SecondSeries.pageSize * lanes))
                page.deallocate()
            }
            keys[k] = KeyPages()
            series[key] = target
        }
    }
}

/// One key's buckets after merging workers: sparse pages of `lanes` counters per bucket.
public struct KeySeries: Sendable, Equatable {
    public let lanes: Int
    public private(set) var pages: [Int64: [UInt32]] = [:]

    public init(lanes: Int) { self.lanes = lanes }

    mutating func add(page number: Int64, _ counts: UnsafeBufferPointer<UInt32>) {
        if var existing = pages[number] {
            for i in existing.indices { existing[i] &+= counts[i] }
            pages[number] = existing
        } else {
            pages[number] = Array(counts)
        }
    }

    /// Adds another key's buckets to these.
    public mutating func merge(_ other: KeySeries) {
        for (number, counts) in other.pages { counts.withUnsafeBufferPointer { add(page: number, $0) } }
    }

    /// Counter `lane` of bucket `bucket` (0 for buckets never written).
    @inline(__always)
    public func count(_ bucket: Int64, lane: Int) -> UInt32 {
        guard let page = pages[bucket >> Int64(SecondSeries.pageShift)] else { return 0 }
        return page[Int(bucket & Int64(SecondSeries.pageSize - 1)) * lanes + lane]
    }

    /// Reads buckets in mostly ascending order, looking a page up only when it changes.
    public struct Cursor {
        let series: KeySeries
        var pageNumber = Int64.min
        var page: [UInt32]?

        public init(_ series: KeySeries) { self.series = series }

        @inline(__always)
        public mutating func count(_ bucket: Int64, lane: Int) -> UInt32 {
            let number = bucket >> Int64(SecondSeries.pageShift)
            if number != pageNumber {
                pageNumber = number
                page = series.pages[number]
            }
            guard let page else { return 0 }
            return page[Int(bucket & Int64(SecondSeries.pageSize - 1)) * series.lanes + lane]
        }
    }

    /// First and last bucket holding any request, or nil when empty.
    public var bucketRange: ClosedRange<Int64>? {
        guard let low = pages.keys.min(), let high = pages.keys.max() else { return nil }
        let size = Int64(SecondSeries.pageSize)
        var first = low * size, last = high * size + size - 1
        while first <= last, count(first, lane: 0) == 0 { first += 1 }
        while last >= first, count(last, lane: 0) == 0 { last -= 1 }
        return first <= last ? first...last : nil
    }

    /// The next bucket at or after `from` whose counter `lane` is non-zero, if any.
    public func nextNonZero(from: Int64, lane: Int, through end: Int64) -> Int64? {
        var bucket = from
        while bucket <= end {
            let number = bucket >> Int64(SecondSeries.pageShift)
            guard let page = pages[number] else {
                // Jump to the next allocated page.
                guard let next = pages.keys.filter({ $0 > number }).min() else { return nil }
                bucket = next << Int64(SecondSeries.pageShift)
                continue
            }
            let base = number << Int64(SecondSeries.pageShift)
            var offset = Int(bucket - base)
            while offset < SecondSeries.pageSize {
                if page[offset * lanes + lane] != 0 { return base + Int64(offset) <= end ? base + Int64(offset) : nil }
                offset += 1
            }
            bucket = base + Int64(SecondSeries.pageSize)
        }
        return nil
    }
}
