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
        stride = BucketRuns.stride(lanes: lanes)
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

    /// A cell's length in words: the bucket (two), the key id, the lanes.
    static func stride(lanes: Int) -> Int { 3 + lanes }

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
        if count > 0 {
            // The cells themselves become the last run: no copy of what may be the whole budget.
            runs.append(BucketRun(taking: cells, count: count, stride: stride))
            cells = .allocate(capacity: capacity * stride)
        }
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
        // Cells move into sorted order in place, cycle by cycle (a second buffer of cells was
        // the peak of a scan's memory): position k takes the cell at `order[k].index`, and a
        // position placed is marked by pointing at itself.
        let held = UnsafeMutablePointer<UInt32>.allocate(capacity: stride)
        defer { held.deallocate() }
        for start in 0..<count where Int(order[start].index) != start {
            held.update(from: cells + start &* stride, count: stride)
            var position = start
            while true {
                let source = Int(order[position].index)
                order[position].index = Int32(position)
                if source == start {
                    (cells + position &* stride).update(from: held, count: stride)
                    break
                }
                (cells + position &* stride).update(from: cells + source &* stride, count: stride)
                position = source
            }
        }
        // Cells of one (bucket, key) are now in one bucket's stretch: add them up, compacting
        // towards the front (a cell is written only at or before where it is read).
        forgetLastCells()
        var written = 0
        for i in 0..<count {
            let source = cells + i &* stride
            let key = Int(source[2])
            let bucket = Int64(source[0]) | Int64(Int32(bitPattern: source[1])) << 32
            if lastBucket[key] == bucket {
                let target = cells + lastCell[key] &* stride
                for lane in 3..<stride { target[lane] &+= source[lane] }
            } else {
                if written != i { (cells + written &* stride).update(from: source, count: stride) }
                lastBucket[key] = bucket
                lastCell[key] = written
                written += 1
            }
        }
        count = written
    }
}

/// Cells sorted by bucket, each (bucket, key) once, in memory or in an unlinked temporary file.
package final class BucketRun: @unchecked Sendable {
    let stride: Int
    package let cellCount: Int
    /// The cells of a run kept in memory; nil for a spilled one.
    private let memory: UnsafeMutablePointer<UInt32>?
    private let descriptor: Int32
    /// First and last bucket, or nil for an empty run.
    package let bucketRange: ClosedRange<Int64>?

    /// A run of the `count` cells at `cells`, which it owns from now on.
    init(taking cells: UnsafeMutablePointer<UInt32>, count: Int, stride: Int) {
        self.stride = stride
        cellCount = count
        memory = cells
        descriptor = -1
        bucketRange = BucketRun.range(UnsafePointer(cells), count: count, stride: stride)
    }

    init(spilling cells: UnsafeBufferPointer<UInt32>, stride: Int) {
        self.stride = stride
        cellCount = cells.count / stride
        memory = nil
        bucketRange = BucketRun.range(cells.baseAddress!, count: cellCount, stride: stride)
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

    deinit {
        memory?.deallocate()
        if descriptor >= 0 { close(descriptor) }
    }

    @inline(__always)
    static func bucket(of cell: UnsafePointer<UInt32>) -> Int64 { Int64(cell[0]) | Int64(Int32(bitPattern: cell[1])) << 32 }

    private static func range(_ cells: UnsafePointer<UInt32>, count: Int, stride: Int) -> ClosedRange<Int64>? {
        count > 0 ? bucket(of: cells)...bucket(of: cells + (count - 1) * stride) : nil
    }

    /// A file in `$TMPDIR` (or /tmp), unlinked at once: it goes away with the descriptor.
    private static func temporaryFile() -> Int32 {
        let directory = getenv("TMPDIR").map { String(cString: $0) } ?? "/tmp"
        var template = Array((directory + "/flagwatch-history-XXXXXX").utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        precondition(fd >= 0, "cannot create a temporary file in \(directory): \(String(cString: strerror(errno)))")
        template.withUnsafeBufferPointer { _ = unlink($0.baseAddress!) }
        return fd
    }

    /// Where a reader of this run starts: the whole run in memory, or a spilled run's first
    /// block read into `block` (room for `Reader.blockCells` cells).
    func reader(keys: UnsafePointer<UInt32>, block: UnsafeMutablePointer<UInt32>) -> Reader {
        var reader = Reader(run: self, keys: keys, cells: UnsafePointer(memory ?? block), block: block)
        if memory == nil { reader.load() }
        return reader
    }

    /// Reads a run's cells in order, a block at a time when spilled. A plain value over
    /// pointers, so that the merge's per-cell path counts no references; its run and key
    /// table outlive it (the merge holds both).
    struct Reader {
        static let blockCells = 16 * 1024
        let run: BucketRun
        let keys: UnsafePointer<UInt32>
        let stride: Int
        let cellCount: Int
        private(set) var cells: UnsafePointer<UInt32>
        private let block: UnsafeMutablePointer<UInt32>
        private var blockStart = 0
        private var blockEnd: Int
        private var position = 0

        init(run: BucketRun, keys: UnsafePointer<UInt32>, cells: UnsafePointer<UInt32>, block: UnsafeMutablePointer<UInt32>) {
            self.run = run
            self.keys = keys
            stride = run.stride
            cellCount = run.cellCount
            self.cells = cells
            self.block = block
            blockEnd = run.memory == nil ? 0 : run.cellCount
        }

        var isAtEnd: Bool { position >= cellCount }

        /// The next cell; only when not at the end.
        @inline(__always)
        var cell: UnsafePointer<UInt32> { cells + (position &- blockStart) &* stride }

        @inline(__always)
        mutating func advance() {
            position &+= 1
            if position == blockEnd, position < cellCount { load() }
        }

        /// Reads the block that starts at `position` from the run's file.
        mutating func load() {
            blockStart = position
            blockEnd = min(position + Reader.blockCells, cellCount)
            let wanted = (blockEnd - blockStart) * stride * 4
            var read = 0
            while read < wanted {
                let n = pread(run.descriptor, UnsafeMutableRawPointer(block) + read, wanted - read, off_t(position * stride * 4 + read))
                if n < 0 && errno == EINTR { continue }
                precondition(n > 0, "cannot read scan history back from its temporary file")
                read += n
            }
            cells = UnsafePointer(block)
        }
    }
}

/// Merges the runs of every worker into one stream of buckets in time order, the keys of
/// each worker translated to one numbering.
package struct BucketMerge {
    private let workers: [(runs: [BucketRun], keys: [UInt32])]
    package let lanes: Int
    package let keyCount: Int

    /// `workers`: each worker's runs and, per local key id, the merged key id.
    package init(_ workers: [(runs: [BucketRun], keys: [UInt32])], lanes: Int, keyCount: Int) {
        self.workers = workers.map { ($0.runs.filter { $0.cellCount > 0 }, $0.keys) }
        self.lanes = lanes
        self.keyCount = keyCount
    }

    /// Calls `body` once per bucket holding any cell, in ascending order, with the keys counted
    /// in it and every key's summed counters (`lanes` per key, by merged key id).
    package func forEachBucket(_ body: (_ bucket: Int64, _ keys: [Int], _ counts: UnsafeBufferPointer<UInt32>) -> Void) {
        let lanes = self.lanes
        let sums = UnsafeMutableBufferPointer<UInt32>.allocate(capacity: max(1, keyCount * lanes))
        sums.initialize(repeating: 0)
        // Each worker's key table, and one read block per spilled run, for the readers to point at.
        let tables = workers.map { worker -> UnsafeMutableBufferPointer<UInt32> in
            let table = UnsafeMutableBufferPointer<UInt32>.allocate(capacity: max(1, worker.keys.count))
            _ = table.initialize(from: worker.keys)
            return table
        }
        let runCount = workers.reduce(0) { $0 + $1.runs.count }
        let stride = BucketRuns.stride(lanes: lanes)
        let blocks = UnsafeMutablePointer<UInt32>.allocate(capacity: max(1, runCount * BucketRun.Reader.blockCells * stride))
        let readers = UnsafeMutablePointer<BucketRun.Reader>.allocate(capacity: max(1, runCount))
        var active = 0
        for (worker, table) in zip(workers, tables) {
            for run in worker.runs {
                // Safe: the tables, blocks and runs (held by `workers`) outlive the readers, freed below.
                (readers + active).initialize(to: run.reader(keys: UnsafePointer(table.baseAddress!),
                                                             block: blocks + active * BucketRun.Reader.blockCells * stride))
                active += 1
            }
        }
        defer {
            readers.deinitialize(count: active)
            readers.deallocate()
            blocks.deallocate()
            for table in tables { table.deallocate() }
            sums.deallocate()
        }
        var touched: [Int] = []
        while active > 0 {
            var bucket = Int64.max
            for index in 0..<active { bucket = min(bucket, BucketRun.bucket(of: readers[index].cell)) }
            var index = 0
            while index < active {
                let keys = readers[index].keys
                while true {
                    let cell = readers[index].cell
                    guard BucketRun.bucket(of: cell) == bucket else { break }
                    let key = Int(keys[Int(cell[2])])
                    let base = key &* lanes
                    if sums[base] == 0 { touched.append(key) }
                    for lane in 0..<lanes { sums[base &+ lane] &+= cell[3 &+ lane] }
                    readers[index].advance()
                    if readers[index].isAtEnd { break }
                }
                if readers[index].isAtEnd {
                    // The last reader takes the finished one's place: readers' order does not matter.
                    active -= 1
                    if index != active { readers[index] = readers[active] }
                    (readers + active).deinitialize(count: 1)
                } else {
                    index += 1
                }
            }
            body(bucket, touched, UnsafeBufferPointer(sums))
            for key in touched { sums[(key * lanes)..<(key * lanes + lanes)].update(repeating: 0) }
            touched.removeAll(keepingCapacity: true)
        }
    }
}
