/// Parses lines with one format, or with the built-in format that fits (`--format auto`).
///
/// In auto mode the format is chosen from the first lines and chosen again whenever a line
/// stops matching it: a log that spans an Istio upgrade changes format midway.
public final class LineParser {
    public let tokenizer: LineTokenizer
    public let plans: [LinePlan]
    public let isAutomatic: Bool
    /// Index in `plans` of the format lines are parsed with now.
    public var current: Int { active.pointee.index }
    /// The current plan, in raw memory: read per line without retain or exclusivity check.
    private let active = UnsafeMutablePointer<(index: Int, plan: Unmanaged<LinePlan>)>.allocate(capacity: 1)
    /// Records parsed with each plan.
    public var recordsByPlan: [Int] { Array(recordCounts) }
    private let recordCounts: UnsafeMutableBufferPointer<Int>
    /// Times the automatic choice changed after the first lines.
    public private(set) var formatChanges = 0

    public var currentPlan: LinePlan { plans[current] }

    /// A parser for one fixed format.
    public init(plan: LinePlan, tokenizer: LineTokenizer = LineTokenizer()) {
        self.tokenizer = tokenizer
        plans = [plan]
        isAutomatic = false
        active.initialize(to: (0, .passUnretained(plan)))
        recordCounts = .allocate(capacity: 1)
        recordCounts.initialize(repeating: 0)
    }

    /// A parser that picks among `plans`, in order of preference.
    public init(choosingAmong plans: [LinePlan] = BuiltinFormat.allCases.map(\.plan), tokenizer: LineTokenizer = LineTokenizer()) {
        precondition(!plans.isEmpty)
        self.tokenizer = tokenizer
        self.plans = plans
        isAutomatic = true
        active.initialize(to: (0, .passUnretained(plans[0])))
        recordCounts = .allocate(capacity: plans.count)
        recordCounts.initialize(repeating: 0)
    }

    deinit {
        recordCounts.deallocate()
        active.deallocate()
    }

    private func select(_ index: Int) { active.pointee = (index, .passUnretained(plans[index])) }

    /// Parses one line (without `\n`); nil means `tokenizer.record` holds it.
    @inline(__always)
    public func parse(_ line: UnsafeRawBufferPointer) -> MalformedReason? {
        let (index, plan) = active.pointee
        guard let failure = plan._withUnsafeGuaranteedRef({ tokenizer.tokenize(line, plan: $0) }) else {
            recordCounts[index] &+= 1
            return nil
        }
        guard isAutomatic, let better = bestPlan(for: line) else { return failure }
        select(better)
        formatChanges += 1
        _ = tokenizer.tokenize(line, plan: plans[current])
        recordCounts[current] &+= 1
        return nil
    }

    /// Parses one record of `FieldRecordWriter` fields with the current plan, which must be a
    /// JSON plan; nil means `tokenizer.record` holds it.
    public func parse(fields: UnsafeRawBufferPointer) -> MalformedReason? {
        let (index, plan) = active.pointee
        guard let failure = plan._withUnsafeGuaranteedRef({ tokenizer.tokenize(fields: fields, plan: $0) }) else {
            recordCounts[index] &+= 1
            return nil
        }
        return failure
    }

    /// Chooses the format from up to `limit` lines at the start of `sample` (a buffer of whole
    /// lines), before any is parsed. Returns false when no line fits any format.
    @discardableResult
    public func chooseFormat(from sample: UnsafeRawBufferPointer, limit: Int = 32) -> Bool {
        guard isAutomatic, let base = sample.baseAddress else { return false }
        var scores = Array(repeating: 0, count: plans.count)
        var start = 0
        var seen = 0
        while start < sample.count, seen < limit {
            let end = LineSplitter.newline(in: base, from: start, end: sample.count)
            let line = UnsafeRawBufferPointer(rebasing: sample[start..<end])
            start = end + 1
            if line.isEmpty { continue }
            seen += 1
            for index in plans.indices { scores[index] += fit(line, plans[index]) }
        }
        guard let best = scores.indices.max(by: { scores[$0] < scores[$1] || (scores[$0] == scores[$1] && $0 > $1) }),
            scores[best] > 0
        else { return false }
        select(best)
        return true
    }

    /// The plan that parses `line` best, as `chooseFormat` judges one line.
    private func bestPlan(for line: UnsafeRawBufferPointer) -> Int? {
        var best: Int?
        var bestFit = 0
        for index in plans.indices where index != current {
            let score = fit(line, plans[index])
            if score > bestFit { (best, bestFit) = (index, score) }
        }
        return best
    }

    /// How well `plan` reads `line`; 0 when it does not. Summed over a sample, the format that
    /// fits more lines wins; among those, the one that explains more of their fields (Istio
    /// 1.0's 18 over the 13 of Envoy's default, which it starts with: the wrong choice drops the
    /// cluster); then one that needs no tolerance for extra fields; then one whose own first
    /// literal starts the line (`ACCESS [` over `[` for Emissary). A line is worth more than
    /// any field difference over a sample (at most 256 fields a format).
    private func fit(_ line: UnsafeRawBufferPointer, _ plan: LinePlan) -> Int {
        guard tokenizer.tokenize(line, plan: plan) == nil else { return 0 }
        return 1 << 16 + 4 * plan.fieldKinds.count + (tokenizer.hadExtraFields ? 0 : 2) + (tokenizer.prefixLength == 0 ? 1 : 0)
    }
}
