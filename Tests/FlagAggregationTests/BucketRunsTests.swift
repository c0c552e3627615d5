import FlagAggregation
import Testing

/// Bucket runs: what any order of records and any memory budget gives is the same sorted
/// sums, and the merge of several workers adds them up under one key numbering.
struct BucketRunsTests {
    struct Record {
        var key: UInt32
        var second: Int64
        var flags: UInt32
    }

    /// Deterministic pseudo-random records: keys 0..<keys, seconds spread over `span`.
    static func records(_ count: Int, keys: UInt32, span: Int64, seed: UInt64) -> [Record] {
        var state = seed
        func next() -> UInt64 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return state >> 33
        }
        return (0..<count).map { _ in
            Record(key: UInt32(next() % UInt64(keys)), second: 1_700_000_000 + Int64(next() % UInt64(span)), flags: next() % 4 == 0 ? 0b101 : 0)
        }
    }

    /// (bucket, merged key) → lanes, by adding records one by one.
    static func naiveSums(_ workers: [[Record]], translations: [[UInt32]], masks: [UInt32]) -> [[Int64]: [UInt32]] {
        var sums: [[Int64]: [UInt32]] = [:]
        for (worker, records) in workers.enumerated() {
            for record in records {
                let key = [record.second, Int64(translations[worker][Int(record.key)])]
                var lanes = sums[key] ?? Array(repeating: 0, count: 1 + masks.count)
                lanes[0] += 1
                for (index, mask) in masks.enumerated() where record.flags & mask != 0 { lanes[index + 1] += 1 }
                sums[key] = lanes
            }
        }
        return sums
    }

    static func merged(_ workers: [(runs: [BucketRun], keys: [UInt32])], lanes: Int, keyCount: Int) -> (sums: [[Int64]: [UInt32]], order: [Int64]) {
        let merge = BucketMerge(workers, lanes: lanes, keyCount: keyCount)
        var sums: [[Int64]: [UInt32]] = [:]
        var order: [Int64] = []
        merge.forEachBucket { bucket, keys, counts in
            order.append(bucket)
            for key in keys { sums[[bucket, Int64(key)]] = Array(counts[(key * lanes)..<(key * lanes + lanes)]) }
        }
        return (sums, order)
    }

    @Test(arguments: [1 << 30, 4096])
    func anyOrderAndBudgetGiveTheSameSums(budget: Int) {
        let masks: [UInt32] = [0b1, 0b100, 0b10]
        let workers = (0..<3).map { Self.records(20_000, keys: 50, span: 3_000, seed: UInt64($0) + 1) }
        // Worker-local ids map to one numbering; worker 2's keys 0 and 1 fold into one.
        let translations: [[UInt32]] = [Array(0..<50), Array((0..<50).reversed()), [0] + Array(0..<49)]
        let sources = workers.map { records -> [BucketRun] in
            let runs = BucketRuns(masks: masks, resolutionSeconds: 1, memoryBudget: budget)
            for record in records { runs.add(key: record.key, micros: record.second * 1_000_000 + 123, flags: record.flags) }
            return runs.takeRuns()
        }
        if budget == 4096 { #expect(sources.allSatisfy { $0.count > 1 }, "a small budget spills runs to files") }
        let (sums, order) = Self.merged(Array(zip(sources, translations)).map { ($0.0, $0.1) }, lanes: 4, keyCount: 50)
        #expect(sums == Self.naiveSums(workers, translations: translations, masks: masks))
        #expect(order == order.sorted() && Set(order).count == order.count, "each bucket once, in time order")
    }

    @Test func resolutionBucketsFloorNegativeTimes() {
        let runs = BucketRuns(masks: [], resolutionSeconds: 10)
        #expect(runs.bucket(of: 19_999_999) == 1)
        #expect(runs.bucket(of: -1) == -1)
        #expect(runs.bucket(of: -10_000_000) == -1)
        #expect(runs.bucket(of: -10_000_001) == -2)
    }

    @Test func timelineBinsStayBoundedAndExact() {
        // Thirty days of seconds: at most maxBins bins, every request in one of them.
        let first: Int64 = 1_700_000_000, last = first + 30 * 86_400
        var timeline = Timeline(buckets: first...last, resolutionSeconds: 1, lanes: 2)
        #expect(timeline.grid.count <= Timeline.maxBins)
        #expect(timeline.grid.start <= first && timeline.grid.end > last)
        timeline.chart("a")
        var total = 0
        for second in stride(from: first, through: last, by: 977) {
            timeline.addRequests(1, at: second)
            [UInt32(1), 1].withUnsafeBufferPointer { timeline.add($0, key: "a", at: second) }
            total += 1
        }
        #expect(timeline.requests.reduce(0, +) == total)
        let coarse = BinGrid(from: first, to: last + 1, resolution: timeline.grid.step, maxBins: 60)
        #expect(timeline.counts("a", lane: 1, on: coarse).reduce(0, +) == total)
        #expect(timeline.requests(on: coarse).reduce(0, +) == total)
    }
}
