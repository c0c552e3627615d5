import AccessLogFormat
import RecordCounting
import FailureCauses

/// The counting part of one `flagwatch scan` worker, over a corpus held in memory: split lines
/// with `LineSplitter` and hand each to the counting core (`RecordCounter`: automatic format,
/// the CLI's default, length check, parse, key, flags, lateness), as every driver does. Not
/// included: the history cells behind the rules, reading the input, and reports.
///
/// Lines are taken from a cursor that wraps around at the end of the corpus, so consecutive
/// iterations walk the whole 16 MiB buffer (out of cache, as a real scan is) instead of
/// re-reading the same few lines.
final class Pipeline: @unchecked Sendable {
    static let maxLineLength = 64 * 1024

    let corpus: Corpus
    let counter: RecordCounter
    var input: InputTally
    /// Set when every record's cause is computed too, as scan will with causes per cluster.
    let classifier: FailureClassifier?
    private(set) var causeCounts = [Int](repeating: 0, count: FailureCause.allCases.count)
    private var cursor = 0

    var lines = 0
    var records: Int { input.summary.records }
    var malformed: Int { input.summary.malformed }

    init(corpus: Corpus, classifying: Bool = false) {
        self.corpus = corpus
        var configuration = ReadingConfiguration()
        configuration.maxLineLength = Pipeline.maxLineLength
        counter = RecordCounter(configuration: configuration)
        input = counter.makeInput(path: corpus.name)
        classifier = classifying ? FailureClassifier(tokenizer: counter.tokenizer) : nil
        let base = corpus.bytes.baseAddress!
        // As the scanner does: choose the format from the first chunk's whole lines.
        let head = min(corpus.bytes.count, 256 << 10)
        var lastNewline = head
        while lastNewline > 0, base.load(fromByteOffset: lastNewline - 1, as: UInt8.self) != 10 { lastNewline -= 1 }
        counter.prepare(&input, head: UnsafeRawBufferPointer(start: base, count: lastNewline))
        guard input.summary.records == 0, counter.groupKey != nil else { fatalError("\(corpus.name): no group key") }
    }

    var formatName: String { input.parser.currentPlan.name }
    var groupKey: FieldKind { counter.groupKey!.kind }

    /// Parses and counts the next `count` lines; returns the bytes they span (newlines included).
    func run(lines count: Int) -> Int { walk(lines: count, parsing: true) }

    /// Splits the next `count` lines and does nothing else; returns the bytes they span.
    func split(lines count: Int) -> Int { walk(lines: count, parsing: false) }

    /// `split` with the standard library's SIMD types alone (no Builtin movemask).
    func splitWithStandardLibrarySIMD(lines count: Int) -> Int {
        walk(lines: count, parsing: false, search: StandardLibrarySIMD.newline)
    }

    @inline(__always)
    private func walk(lines count: Int, parsing: Bool,
                      search: (UnsafeRawPointer, Int, Int) -> Int = { LineSplitter.newline(in: $0, from: $1, end: $2) }) -> Int
    {
        let base = corpus.bytes.baseAddress!
        let end = corpus.bytes.count
        var p = cursor
        var consumed = 0
        for _ in 0..<count {
            let newline = search(base, p, end)
            if parsing { handle(base, p, newline) }
            let next = newline < end ? newline &+ 1 : end
            consumed &+= next &- p
            p = next == end ? 0 : next
        }
        cursor = p
        return consumed
    }

    /// One pass over the whole corpus from its start; returns the number of lines.
    func runWholeCorpus() -> Int {
        cursor = 0
        let base = corpus.bytes.baseAddress!
        let end = corpus.bytes.count
        var p = 0
        var count = 0
        while p < end {
            let newline = LineSplitter.newline(in: base, from: p, end: end)
            handle(base, p, newline)
            count += 1
            p = newline + 1
        }
        return count
    }

    @inline(__always)
    private func handle(_ base: UnsafeRawPointer, _ start: Int, _ end: Int) {
        lines &+= 1
        guard counter.count(UnsafeRawBufferPointer(start: base + start, count: end &- start), &input) != nil, let classifier else { return }
        let record = counter.tokenizer.record
        guard !record.flags.isEmpty || record.unknownFlagCount > 0 else { return }
        let cluster = counter.tokenizer.value(of: .upstreamCluster).map(ClusterKind.init(name:)) ?? .none
        if let cause = classifier.classify(record, cluster: cluster) { causeCounts[Int(cause.rawValue)] &+= 1 }
    }

    /// One full pass from a fresh state, checked against the generator's ground truth. It also
    /// warms up: afterwards every key of the corpus is interned and every counter slot exists,
    /// so the measured iterations are in steady state. Returns a one-line summary.
    func warmUpAndVerify() -> String {
        let physical = runWholeCorpus()
        let truth = corpus.truth
        var problems: [String] = []
        if records != truth.records { problems.append("records \(records) != truth \(truth.records)") }
        if malformed != truth.malformed { problems.append("malformed \(malformed) != truth \(truth.malformed)") }
        let totals = counter.totals().keys.mapValues { (requests: $0.requests, flags: $0.flags) }
        for (key, requests) in truth.requests {
            let counted = totals[key]
            if counted?.requests != requests {
                problems.append("\(key): requests \(counted?.requests ?? 0) != truth \(requests)")
            } else if counted?.flags != truth.flags[key] {
                problems.append("\(key): flags \(counted?.flags ?? [:]) != truth \(truth.flags[key] ?? [:])")
            }
        }
        for key in totals.keys where truth.requests[key] == nil { problems.append("\(key): not in truth") }
        guard problems.isEmpty else {
            fatalError("\(corpus.name): counts differ from the generator's truth: " + problems.prefix(5).joined(separator: "; "))
        }
        return "\(corpus.name): \(corpus.bytes.count) bytes, \(physical) lines, \(records) records, \(malformed) malformed, "
            + "\(totals.count) keys, format \(formatName), grouped by \(groupKey); matches the generator's truth"
    }
}
