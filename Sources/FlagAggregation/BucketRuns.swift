#if canImport(Glibc)
import Glibc
#endif

/// One worker's counts per (key, time bucket), as sorted runs: what `scan` merges across
/// workers to replay the rules over history in time order.
///
/// A cell holds a bucket, a key id and `lanes` counters (requests, then one per watched flag
/// mask). Records of a key in the bucket it saw last go into the same cell; the others start
/// a new one. When the cells outgrow the memory budget they are sorted and combined, and
/// when that does not free half of it they are written out as a sorted run to a temporary
/// file, read back at merge time. So memory stays within the budget whatever the span of
/// the logs: a month of sparse history costs disk, not memory.
package final class BucketRuns {
    package let lanes: Int
    /// Bucket length in microseconds.
    package let resolution: Int64
    let stride: Int
    private let masks: UnsafeMutablePointer<UInt32>
    private let maskCount: Int
    private var cells: UnsafeMutablePointer<UInt32>
    private var count = 0
    private let capacity: Int
    /// Per key id: the bucket and cell it was counted in last.
    private var lastBucket: UnsafeMutablePointer<Int64>
    private var lastCell: UnsafeMutablePointer<Int>
    private var keyCapacity = 0
    private(set) var spilled: [BucketRun] = []

    /// `memoryBudget`: bytes of cells held in memory.
    package init(masks: [UInt32], resolutionSeconds: Int, memoryBudget: Int = 32 << 20) {
        lanes = 1 + masks.count
        stride = 3 + lanes
        resolution = Int64(resolutionSeconds) * 1_000_000
        maskCount = masks.count
        self.masks = .allocate(capacity: max(1, masks.count))
        self.masks.initialize(from: masks, count: masks.count)
        capacity = max(1024, memoryBudget / (4 * stride))
        cells = .allocate(capacity: capacity * stride)
        lastBucket = .allocate(capacity: 0)
        lastCell = .allocate(capacity: 0)
    }

    deinit {
        masks.deallocate()
        cells.deallocate()
        lastBucket.deallocate()
        lastCell.deallocate()
    }

    /// The bucket index of a time in microseconds.
    @inline(__always)
    package func bucket(of micros: Int64) -> Int64 {
        // One-second buckets (the default) divide by a constant: a multiply, not a division.
        if resolution == 1_000_000 { return micros >= 0 ? micros / 1_000_000 : (micros - 999_999) / 1_000_000 }
        return micros >= 0 ? micros / resolution : (micros - resolution + 1) / resolution
    }

    /// Counts one record with time `micros` and `flags` under key `id`.
    @inline(__always)
    package func add(key id: UInt32, micros: Int64, flags: UInt32) {
        let key = Int(id)
        if key >= keyCapacity { growKeys(to: key + 1) }
        let bucket = self.bucket(of: micros)
        let cell: UnsafeMutablePointer<UInt32>
        if lastBucket[key] == bucket {
            cell = cells + lastCell[key] &* stride
        } else {
            if count == capacity { makeRoom() }
            cell = cells + count &* stride
            cell[0] = UInt32(truncatingIfNeeded: bucket)
            cell[1] = UInt32(truncatingIfNeeded: bucket >> 32)
            cell[2] = id
            (cell + 3).initialize(repeating: 0, count: lanes)
            lastBucket[key] = bucket
            lastCell[key] = count
            count &+= 1
        }
        cell[3] &+= 1
        if flags != 0 {
            for lane in 0..<maskCount where flags & masks[lane] != 0 { cell[4 &+ lane] &+= 1 }
        }
    }

    private func growKeys(to needed: Int) {
        let newCapacity = max(needed, keyCapacity * 2, 64)
        let buckets = UnsafeMutablePointer<Int64>.allocate(capacity: newCapacity)
        buckets.initialize(repeating: .min, count: newCapacity)
        buckets.update(from: lastBucket, count: keyCapacity)
        let indexes = UnsafeMutablePointer<Int>.allocate(capacity: newCapacity)
        indexes.initialize(repeating: 0, count: newCapacity)
        indexes.update(from: lastCell, count: keyCapacity)
        lastBucket.deallocate()
        lastCell.deallocate()
        lastBucket = buckets
        lastCell = indexes
        keyCapacity = newCapacity
    }

    /// The cells are full: combine them, and spill them to a file if that freed too little.
    private func makeRoom() {
        sortAndCombine()
        guard count > capacity / 2 else { return }
        spilled.append(BucketRun(spilling: UnsafeBufferPointer(start: cells, count: count * stride), stride: stride))
        count = 0
        forgetLastCells()
    }

    private func forgetLastCells() { lastBucket.update(repeating: .min, count: keyCapacity) }

    /// Every cell counted, as sorted runs; the counter starts empty again.
    package func takeRuns() -> [BucketRun] {
        sortAndCombine()
        var runs = spilled
        if count > 0 { runs.append(BucketRun(copying: UnsafeBufferPointer(start: cells, count: count * stride), stride: stride)) }
        spilled = []
        count = 0
        forgetLastCells()
        return runs
    }

    /// Sorts the cells by bucket and adds up those of the same (bucket, key).
    ///
    /// Only the bucket is compared: cells come nearly in time order (a log is written as
    /// requests end), which the standard library's merge sort takes in close to linear time,
    /// and the order of keys within a bucket matters to no reader (the merge sums them by
    /// key). The pairs are combined with the per-key last-cell table, which then points into
    /// the combined cells, so counting goes on where it stopped.
    func sortAndCombine() {
        guard count > 1 else { return }
        var order = [(bucket: Int64, index: Int32)]()
        order.reserveCapacity(count)
        for i in 0..<count {
            let cell = cells + i &* stride
            order.append((Int64(cell[0]) | Int64(Int32(bitPattern: cell[1])) << 32, Int32(i)))
        }
        order.sort { $0.bucket < $1.bucket }
        let sorted = UnsafeMutablePointer<UInt32>.allocate(capacity: count * stride)
        defer { sorted.deallocate() }
        forgetLastCells()
        var written = 0
        for entry in order {
            let source = cells + Int(entry.index) &* stride
            let key = Int(source[2])
            if lastBucket[key] == entry.bucket {
                let target = sorted + lastCell[key] &* stride
                for lane in 3..<stride { target[lane] &+= source[lane] }
            } else {
                (sorted + written &* stride).update(from: source, count: stride)
                lastBucket[key] = entry.bucket
                lastCell[key] = written
                written += 1
            }
        }
        cells.update(from: sorted, count: written * stride)
        count = written
    }
}

/// Cells sorted by bucket, each (bucket, key) once, in memory or in an unlinked temporary file.
package final class BucketRun: @unchecked Sendable {
    let stride: Int
    package let cellCount: Int
    private let memory: [UInt32]
    private let descriptor: Int32

    init(copying cells: UnsafeBufferPointer<UInt32>, stride: Int) {
        self.stride = stride
        cellCount = cells.count / stride
        memory = Array(cells)
        descriptor = -1
    }

    init(spilling cells: UnsafeBufferPointer<UInt32>, stride: Int) {
        self.stride = stride
        cellCount = cells.count / stride
        memory = []
        descriptor = BucketRun.temporaryFile()
        var written = 0
        let bytes = UnsafeRawBufferPointer(cells)
        while written < bytes.count {
            let n = write(descriptor, bytes.baseAddress! + written, bytes.count - written)
            if n < 0 && errno == EINTR { continue }
            precondition(n > 0, "cannot write scan history to a temporary file: \(String(cString: strerror(errno)))")
            written += n
        }
    }

    deinit { if descriptor >= 0 { close(descriptor) } }

    /// A file in `$TMPDIR` (or /tmp), unlinked at once: it goes away with the descriptor.
    private static func temporaryFile() -> Int32 {
        let directory = getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp"
        var template = Array((directory + "/flagwatch-history-XXXXXX").utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        precondition(fd >= 0, "cannot create a temporary file in \(directory): \(String(cString: strerror(errno)))")
        template.withUnsafeBufferPointer { _ = unlink($0.baseAddress!) }
        return fd
    }

    /// Reads the run's cells in order, a block at a time.
    package struct Cursor {
        let run: BucketRun
        private var block: [UInt32]
        private var blockStart = 0
        private var blockCells = 0
        private var position = 0
        static let blockCells = 16 * 1024

        init(_ run: BucketRun) {
            self.run = run
            block = run.descriptor >= 0 ? Array(repeating: 0, count: Cursor.blockCells * run.stride) : []
            load()
        }

        package var isAtEnd: Bool { position >= run.cellCount }

        private mutating func load() {
            guard run.descriptor >= 0, position < run.cellCount else { return }
            blockStart = position
            blockCells = min(Cursor.blockCells, run.cellCount - position)
            let stride = run.stride
            let descriptor = run.descriptor
            block.withUnsafeMutableBytes { bytes in
                var read = 0
                let wanted = blockCells * stride * 4
                while read < wanted {
                    let n = pread(descriptor, bytes.baseAddress! + read, wanted - read, off_t(position * stride * 4 + read))
                    if n < 0 && errno == EINTR { continue }
                    precondition(n > 0, "cannot read scan history back from its temporary file")
                    read += n
                }
            }
        }

        /// The bucket of the next cell; only when not at the end.
        package var bucket: Int64 {
            withCell { Int64($0[0]) | Int64(Int32(bitPattern: $0[1])) << 32 }
        }

        /// Calls `body` with the next cell's key and counters, and moves past it.
        package mutating func take(_ body: (UInt32, UnsafeBufferPointer<UInt32>) -> Void) {
            let lanes = run.stride - 3
            withCell { body($0[2], UnsafeBufferPointer(rebasing: $0[3..<(3 + lanes)])) }
            position += 1
            if run.descriptor >= 0, position == blockStart + blockCells { load() }
        }

        private func withCell<T>(_ body: (UnsafeBufferPointer<UInt32>) -> T) -> T {
            let stride = run.stride
            if run.descriptor >= 0 {
                return block.withUnsafeBufferPointer { body(UnsafeBufferPointer(rebasing: $0[((position - blockStart) * stride)...])) }
            }
            return run.memory.withUnsafeBufferPointer { body(UnsafeBufferPointer(rebasing: $0[(position * stride)...])) }
        }
    }

    package func cursor() -> Cursor { Cursor(self) }

    /// First and last bucket, or nil for an empty run.
    package var bucketRange: ClosedRange<Int64>? {
        guard cellCount > 0 else { return nil }
        let first = cursor()
        let low = first.bucket
        var last = cursor()
        last.skip(to: cellCount - 1)
        return low...last.bucket
    }
}

extension BucketRun.Cursor {
    mutating func skip(to index: Int) {
        position = index
        if run.descriptor >= 0 { load() }
    }
}

/// Merges the runs of every worker into one stream of buckets in time order, the keys of
/// each worker translated to one numbering.
package struct BucketMerge {
    struct Source {
        var cursor: BucketRun.Cursor
        let keys: [UInt32]
    }
    private var sources: [Source]
    package let lanes: Int
    package let keyCount: Int

    /// `sources`: each worker's runs and, per local key id, the merged key id.
    package init(_ workers: [(runs: [BucketRun], keys: [UInt32])], lanes: Int, keyCount: Int) {
        sources = workers.flatMap { worker in worker.runs.map { Source(cursor: $0.cursor(), keys: worker.keys) } }
        sources.removeAll { $0.cursor.isAtEnd }
        self.lanes = lanes
        self.keyCount = keyCount
    }

    /// Calls `body` once per bucket holding any cell, in ascending order, with the keys counted
    /// in it and every key's summed counters (`lanes` per key, by merged key id).
    package mutating func forEachBucket(_ body: (_ bucket: Int64, _ keys: [Int], _ counts: UnsafeBufferPointer<UInt32>) -> Void) {
        let sums = UnsafeMutableBufferPointer<UInt32>.allocate(capacity: max(1, keyCount * lanes))
        sums.initialize(repeating: 0)
        defer { sums.deallocate() }
        var touched: [Int] = []
        let lanes = self.lanes
        while !sources.isEmpty {
            var bucket = Int64.max
            for source in sources where source.cursor.bucket < bucket { bucket = source.cursor.bucket }
            for index in sources.indices {
                let keys = sources[index].keys
                while !sources[index].cursor.isAtEnd, sources[index].cursor.bucket == bucket {
                    sources[index].cursor.take { local, counts in
                        let key = Int(keys[Int(local)])
                        let base = key * lanes
                        if sums[base] == 0 { touched.append(key) }
                        for lane in 0..<lanes { sums[base + lane] &+= counts[lane] }
                    }
                }
            }
            sources.removeAll { $0.cursor.isAtEnd }
            body(bucket, touched, UnsafeBufferPointer(sums))
            for key in touched { sums[(key * lanes)..<(key * lanes + lanes)].update(repeating: 0) }
            touched.removeAll(keepingCapacity: true)
        }
    }
}
