import AccessLogFormat
import AlertRules
import FlagAggregation
import LogSources
import RecordCounting
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Bytes scanned so far, for a progress line.
public final class ScanProgress: Sendable {
    private let bytes = Atomic<Int>(0)
    private let total = Atomic<Int>(0)
    public init() {}
    func add(_ count: Int) { bytes.add(count, ordering: .relaxed) }
    public var bytesScanned: Int { bytes.load(ordering: .relaxed) }
    /// Bytes the scan will read, or 0 when unknown (standard input, compressed input).
    public var totalBytes: Int { total.load(ordering: .relaxed) }
    func setTotal(_ value: Int) { total.store(value, ordering: .relaxed) }
}

/// Scans inputs over a pool of worker threads and merges what they counted.
///
/// Work is split into units (whole files, or newline-aligned parts of big plain files); each
/// worker keeps its own tokenizer and counter, so the hot path shares nothing.
public enum ScanEngine {
    struct Unit {
        var input: Int
        var range: Range<Int64>?
    }

    /// Expands `arguments` (files, directories, globs, `-`) and scans them.
    public static func scan(_ arguments: [String], options: ScanOptions, progress: ScanProgress? = nil) -> ScanResult {
        let (files, errors) = expandInputs(arguments, include: options.reading.include, exclude: options.reading.exclude)
        var result = scan(files, options: options, progress: progress)
        for error in errors {
            var failed = InputSummary(path: error.path)
            failed.error = error.description
            result.inputs.append(failed)
        }
        return result
    }

    public static func scan(_ files: [InputFile], options: ScanOptions, progress: ScanProgress? = nil) -> ScanResult {
        var options = options
        if options.reading.primaryGroupKey == nil {
            options.reading.primaryGroupKey = decidePrimaryGroupKey(files, configuration: options.reading)
        }
        // Looked at once per file: plain regular files are split and mapped, the rest streamed.
        let plain = files.map(isPlainRegularFile)
        let units = makeUnits(files, plain: plain, options: options)
        // Decompressed sizes are not known ahead: no estimate then.
        let knownSize = plain.allSatisfy { $0 }
        progress?.setTotal(knownSize ? files.reduce(0) { $0 + Int($1.size) } : 0)
        let workerCount = max(1, min(options.threads, units.count))
        let scanners = (0..<workerCount).map { _ in LineScanner(options: options) }
        let next = Atomic<Int>(0)
        let unitTallies = UnsafeMutableBufferPointer<InputSummary?>.allocate(capacity: units.count)
        let unitLines = UnsafeMutableBufferPointer<Int>.allocate(capacity: units.count)
        unitTallies.initialize(repeating: nil)
        unitLines.initialize(repeating: 0)
        // Deinitialized before the memory goes: the summaries hold strings (paths, errors),
        // which `deallocate` alone would leak (LeakSanitizer found it).
        defer {
            unitTallies.deinitialize()
            unitTallies.deallocate()
            unitLines.deallocate()
        }
        let unitSamples = Mutex<[Int: [MalformedSample]]>([:])
        let slots = SendableSlots(summaries: unitTallies, lines: unitLines)

        runOnThreads(workerCount) { worker in
            let scanner = scanners[worker]
            while true {
                let index = next.add(1, ordering: .relaxed).oldValue
                guard index < units.count else { return }
                let unit = units[index]
                let file = files[unit.input]
                let path = file.isStandardInput ? "<stdin>" : file.path
                do {
                    let tally: InputTally
                    if plain[unit.input], file.size > 0 {
                        let region = try MappedFileRegion(path: file.path, range: unit.range ?? 0..<file.size)
                        tally = scanner.scan(region, order: index, progress: progress)
                    } else {
                        tally = scanner.scan(try open(file), path: path, order: index, progress: progress)
                    }
                    slots.store(tally.summary, lines: tally.physicalLines, at: index)
                } catch {
                    var failed = InputSummary(path: path)
                    failed.error = "\(error)"
                    slots.store(failed, lines: 0, at: index)
                }
                let samples = scanner.counter.takeSamples()
                if !samples.isEmpty { unitSamples.withLock { $0[index] = samples } }
            }
        }

        var result = ScanResult(groupBy: options.reading.primaryGroupKey
            ?? scanners.compactMap(\.counter.keys.primary).first ?? options.reading.groupOrder[0])
        for scanner in scanners { scanner.counter.add(to: &result.counts) }
        // Units of one input are consecutive and in file order: sum them, and number sample lines.
        let samplesByUnit = unitSamples.withLock { $0 }
        var inputs: [InputSummary] = files.map { InputSummary(path: $0.isStandardInput ? "<stdin>" : $0.path) }
        var linesBefore = 0
        var unitLinesBefore: [Int] = []
        for (index, unit) in units.enumerated() {
            if index == 0 || units[index - 1].input != unit.input { linesBefore = 0 }
            inputs[unit.input].add(unitTallies[index]!)
            for var sample in samplesByUnit[index] ?? [] {
                sample.line += linesBefore
                result.malformedSamples.append(sample)
            }
            unitLinesBefore.append(linesBefore)
            linesBefore += unitLines[index]
        }
        // Cause samples were numbered within their unit: number them within their input. In
        // place, through the stored `counts` (the dynamic member would copy every key's totals).
        for index in result.counts.totals.keys.indices {
            for (cause, sample) in result.counts.totals.keys.values[index].causeSamples {
                var numbered = sample
                numbered.lineNumber += unitLinesBefore[sample.inputOrder]
                numbered.inputOrder = units[sample.inputOrder].input
                result.counts.totals.keys.values[index].causeSamples[cause] = numbered
            }
        }
        result.malformedSamples = Array(result.malformedSamples.prefix(options.reading.malformedSampleLimit))
        result.inputs = inputs
        result.records = inputs.reduce(0) { $0 + $1.records }
        result.malformed = inputs.reduce(0) { $0 + $1.malformed }
        result.resolutionSeconds = options.resolutionSeconds
        let folded = foldKeys(&result.counts, beyond: options.reading.maxKeys)
        replayHistory(scanners, folded: folded, options: options, into: &result)
        return result
    }

    /// Keeps the keys with the most requests, as many as one worker may hold (`maxKeys`
    /// counts `-` and `__other__` too), and counts the others under `__other__`: each worker
    /// caps its own keys, so together they may hold more. Returns the keys folded.
    static func foldKeys(_ counts: inout CountSummary, beyond maxKeys: Int) -> Set<String> {
        let named = counts.totals.keys.filter { $0.key != GroupKey.otherName && $0.key != GroupKey.missingName }
        let room = max(maxKeys, 2) - 2
        guard named.count > room else { return [] }
        let folded = named.sorted { ($0.value.requests, $1.key) > ($1.value.requests, $0.key) }.dropFirst(room)
        for (key, keyTotals) in folded {
            counts.totals.keys[key] = nil
            counts.totals.keys[GroupKey.otherName, default: KeyTotals()].add(keyTotals)
            counts.keysOverflowed += keyTotals.requests
        }
        return Set(folded.map { $0.key })
    }

    /// Merges every worker's history in time order and replays the rules over it: the spikes,
    /// the alert events and the report's timeline. Memory: the keys' last windows and the
    /// timeline's bins, whatever the span.
    static func replayHistory(_ scanners: [LineScanner], folded: Set<String>, options: ScanOptions, into result: inout ScanResult) {
        // One numbering of the keys over all workers; folded keys count under `__other__`.
        var names: [String] = []
        var ids: [String: UInt32] = [:]
        func id(of name: String) -> UInt32 {
            let merged = folded.contains(name) ? GroupKey.otherName : name
            if let id = ids[merged] { return id }
            ids[merged] = UInt32(names.count)
            names.append(merged)
            return UInt32(names.count - 1)
        }
        let workers = scanners.map { scanner -> (runs: [BucketRun], keys: [UInt32]) in
            let runs = scanner.runs.takeRuns()
            return (runs, (0..<scanner.counter.keys.count).map { id(of: scanner.counter.keyName(UInt32($0))) })
        }
        let runs = workers.flatMap(\.runs)
        let ranges = runs.compactMap(\.bucketRange)
        guard let low = ranges.map(\.lowerBound).min(), let high = ranges.map(\.upperBound).max() else { return }
        let lanes = 1 + options.rules.count
        var timeline = Timeline(buckets: low...high, resolutionSeconds: options.resolutionSeconds, lanes: lanes)
        var evaluator = HistoryEvaluator(rules: options.rules, resolutionSeconds: options.resolutionSeconds, names: names)
        let resolution = Int64(options.resolutionSeconds)
        let merge = BucketMerge(workers, lanes: lanes, keyCount: names.count)
        let causeWorkers = zip(scanners, workers).map { scanner, worker in (runs: scanner.causeRuns.takeRuns(), keys: worker.keys) }
        // By-cause rules read the cause cells in the same pass, numbered after the keys.
        let byCause = options.rules.contains(where: \.byCause)
        let keyCount = names.count, causeCount = Int(CauseRuns.causeCount)
        let evaluation = byCause
            ? BucketMerge(workers + causeWorkers.map { ($0.runs, CauseRuns.cellKeys($0.keys, after: keyCount)) }, lanes: lanes,
                          keyCount: keyCount * (1 + causeCount))
            : merge
        evaluation.forEachBucket { bucket, keys, counts in
            var requests = 0
            for key in keys where key < keyCount {
                let keyCounts = UnsafeBufferPointer(rebasing: counts[(key * lanes)..<(key * lanes + lanes)])
                requests += Int(keyCounts[0])
                let causeBase = (keyCount + key * causeCount) * lanes
                let causeCounts = byCause ? UnsafeBufferPointer(rebasing: counts[causeBase..<(causeBase + causeCount * lanes)]) : nil
                evaluator.add(key: key, bucket: bucket, counts: keyCounts, causeCounts: causeCounts)
            }
            timeline.addRequests(requests, at: bucket * resolution)
        }
        evaluator.finish()
        result.spikes = evaluator.spikes
        result.alertEvents = evaluator.events
        var causes = SpikeCauses(spikes: result.spikes, rules: options.rules, resolutionSeconds: options.resolutionSeconds, keyIDs: ids)
        causes.count(causeWorkers)
        causes.attribute(&result.spikes, &result.alertEvents)

        // The charted keys' every lane, in a second pass over the same runs.
        var charted = Array(repeating: false, count: names.count)
        var chartedCount = 0
        for spike in result.spikes where chartedCount < ScanResult.maxChartedKeys {
            if let key = ids[spike.cluster], !charted[Int(key)] {
                charted[Int(key)] = true
                chartedCount += 1
                timeline.chart(spike.cluster)
            }
        }
        result.unchartedSpikingKeys = Set(result.spikes.map(\.cluster)).count - chartedCount
        if chartedCount > 0 {
            var around = spikeTimeline(result.spikes, within: low...high, options: options, lanes: lanes)
            for key in charted.indices where charted[key] { around.chart(names[key]) }
            merge.forEachBucket { bucket, keys, counts in
                let second = bucket * resolution
                for key in keys where charted[key] {
                    let keyCounts = UnsafeBufferPointer(rebasing: counts[(key * lanes)..<(key * lanes + lanes)])
                    timeline.add(keyCounts, key: names[key], at: second)
                    if around.covers(second) { around.add(keyCounts, key: names[key], at: second) }
                }
            }
            result.spikeTimeline = around
        }
        result.timeline = timeline
    }

    /// Ten minutes either side of the spikes, within the buckets `buckets`, in minute bins.
    static func spikeTimeline(_ spikes: [Spike], within buckets: ClosedRange<Int64>, options: ScanOptions, lanes: Int) -> Timeline {
        let resolution = Int64(options.resolutionSeconds) * 1_000_000
        let margin = 600 / Int64(options.resolutionSeconds) + 1
        let first = BinGrid.floorDiv(spikes.map(\.start).min()!, resolution) - margin
        let last = BinGrid.floorDiv(spikes.map(\.end).max()!, resolution) + margin
        return Timeline(buckets: max(first, buckets.lowerBound)...min(last, buckets.upperBound), resolutionSeconds: options.resolutionSeconds,
                        lanes: lanes, maxBins: 60, binMultiple: 60)
    }

    /// The field whose keys keep plain names (`GroupKeys`): the one the first input is grouped
    /// by, else the group order's first. Decided before the workers start so that all of them
    /// name keys alike; nil for one input that cannot be read twice (standard input, a pipe),
    /// whose one worker decides from its first chunk.
    static func decidePrimaryGroupKey(_ files: [InputFile], configuration: ReadingConfiguration) -> FieldKind? {
        let order = configuration.groupOrder
        switch configuration.format {
        case .fixed(let plan): return plan.groupKey(preferring: order)
        case .automatic:
            guard let first = files.first(where: { !$0.isStandardInput && isRegularFile($0.path) }),
                let source = try? openInput(first.path)
            else { return files.count == 1 ? nil : order[0] }
            var head = [UInt8](repeating: 0, count: 256 << 10)
            let count = head.withUnsafeMutableBytes { buffer -> Int in
                var filled = 0
                while filled < buffer.count, let n = try? source.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[filled...])), n > 0 {
                    filled += n
                }
                return filled
            }
            let parser = LineParser(choosingAmong: configuration.plans)
            let chosen = head.withUnsafeBytes { parser.chooseFormat(from: UnsafeRawBufferPointer(rebasing: $0[..<count])) }
            return chosen ? parser.currentPlan.groupKey(preferring: order) : order[0]
        }
    }

    static func makeUnits(_ files: [InputFile], plain: [Bool], options: ScanOptions) -> [Unit] {
        var units: [Unit] = []
        for (index, file) in files.enumerated() {
            if plain[index], file.size >= 2 * options.splitThreshold,
                let ranges = try? newlineAlignedRanges(path: file.path, size: file.size, parts: Int(file.size / options.splitThreshold))
            {
                units += ranges.map { Unit(input: index, range: $0) }
            } else {
                units.append(Unit(input: index, range: nil))
            }
        }
        return units
    }

    /// A regular file that does not start with the gzip magic: it can be split into parts and
    /// read through `mmap`. Standard input and pipes cannot be peeked at twice: never plain.
    static func isPlainRegularFile(_ file: InputFile) -> Bool {
        guard !file.isStandardInput, isRegularFile(file.path), let source = try? FileRangeSource(path: file.path, range: 0..<2)
        else { return false }
        var magic: (UInt8, UInt8) = (0, 0)
        let count = withUnsafeMutableBytes(of: &magic) { (try? source.read(into: $0)) ?? 0 }
        return !(count == 2 && magic == (0x1F, 0x8B))
    }

    static func isRegularFile(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG
    }

    /// Streams what is not mapped: standard input, pipes, archives.
    static func open(_ file: InputFile) throws -> ByteSource {
        let source = try openInput(file.path)
        // Decompress on another core while this one parses.
        return source is GzipSource ? ReadAheadSource(wrapping: source) : source
    }

    /// Runs `body(worker)` on `count` threads and waits for all of them.
    static func runOnThreads(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
        if count == 1 {
            body(0)
            return
        }
        var threads: [pthread_t] = []
        for worker in 0..<count {
            let box = Unmanaged.passRetained(ThreadBody { body(worker) })
            var thread = pthread_t()
            let status = pthread_create(&thread, nil, { raw in
                let work = Unmanaged<ThreadBody>.fromOpaque(raw!).takeRetainedValue()
                work.run()
                return nil
            }, box.toOpaque())
            precondition(status == 0, "cannot start a scan thread")
            threads.append(thread)
        }
        for thread in threads { pthread_join(thread, nil) }
    }
}

private final class ThreadBody: @unchecked Sendable {
    let run: () -> Void
    init(_ run: @escaping () -> Void) { self.run = run }
}

/// Per-unit result slots: each unit index is written by exactly one worker, and read
/// only after every worker has been joined.
private struct SendableSlots: @unchecked Sendable {
    let summaries: UnsafeMutableBufferPointer<InputSummary?>
    let lines: UnsafeMutableBufferPointer<Int>
    func store(_ summary: InputSummary, lines count: Int, at index: Int) {
        summaries[index] = summary
        lines[index] = count
    }
}
