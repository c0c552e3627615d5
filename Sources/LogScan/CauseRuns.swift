import FailureCauses
import FlagAggregation
import RecordCounting

/// One worker's flagged records per (key, cause) and bucket, as sorted runs: history cells
/// whose key is `key × causes + cause` and whose lanes are the rules' masks, fed only the
/// records with a flag. What by-cause rules alert on, and `SpikeCauses` names the other
/// rules' spikes and alerts with.
///
/// A side structure rather than a lane per cause in the main history: those lanes would widen
/// every cell of every key and bucket 27 times over, while flagged records are a few percent
/// and make cells only for the (key, cause, bucket) that occurred; memory stays within its
/// budget the same way (sorted runs spilled to a temporary file).
final class CauseRuns {
    static let causeCount = UInt32(FailureCause.allCases.count)
    private let runs: BucketRuns

    init(options: ScanOptions) {
        // Flagged records only: a quarter of the main history's budget.
        runs = BucketRuns(masks: options.rules.map(\.flags.rawValue), resolutionSeconds: options.resolutionSeconds,
                          memoryBudget: options.historyMemoryBudget / 4)
    }

    /// Counts a record that has a cause.
    @inline(__always)
    func add(_ record: CountedRecord) {
        runs.add(key: record.key &* CauseRuns.causeCount &+ UInt32(record.cause), micros: record.micros, flags: record.flags)
    }

    func takeRuns() -> [BucketRun] { runs.takeRuns() }

    /// A worker's merged key ids (by local key id) as ids of its (key, cause) cells, numbered
    /// from `first`.
    static func cellKeys(_ keys: [UInt32], after first: Int = 0) -> [UInt32] {
        keys.flatMap { key in (0..<causeCount).map { UInt32(first) + key * causeCount + $0 } }
    }
}
