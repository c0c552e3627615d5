import AccessLogFormat
import AlertRules
import FlagAggregation
import LogSources
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
        let (files, errors) = expandInputs(arguments, include: options.include, exclude: options.exclude)
        var result = scan(files, options: options, progress: progress)
        for error in errors {
            var failed = InputSummary(path: error.path)
            failed.error = error.description
            result.inputs.append(failed)
        }
        return result
    }

    public static func scan(_ files: [InputFile], options: ScanOptions, progress: ScanProgress? = nil) -> ScanResult {
        let plans = BuiltinFormat.allCases.map(\.plan)
        let groupKey = options.groupBy ?? decideGroupKey(files, options: options, plans: plans)
        // Looked at once per file: plain regular files are split and mapped, the rest streamed.
        let plain = files.map(isPlainRegularFile)
        let units = makeUnits(files, plain: plain, options: options)
        // Decompressed sizes are not known ahead: no estimate then.
        let knownSize = plain.allSatisfy { $0 }
        progress?.setTotal(knownSize ? files.reduce(0) { $0 + Int($1.size) } : 0)
        let workerCount = max(1, min(options.threads, units.count))
        let scanners = (0..<workerCount).map { _ in LineScanner(options: options, plans: plans, groupKey: groupKey) }
        let next = Atomic<Int>(0)
        let unitCounts = UnsafeMutableBufferPointer<LineScanner.UnitCounts?>.allocate(capacity: units.count)
        unitCounts.initialize(repeating: nil)
        // Deinitialized before the memory goes: the counts hold strings (paths, errors), which
        // `deallocate` alone would leak (LeakSanitizer found it).
        defer {
            unitCounts.deinitialize()
            unitCounts.deallocate()
        }
        let unitSamples = Mutex<[Int: [MalformedSample]]>([:])
        let slots = SendableSlots(unitCounts)

        runOnThreads(workerCount) { worker in
            let scanner = scanners[worker]
            while true {
                let index = next.add(1, ordering: .relaxed).oldValue
                guard index < units.count else { return }
                let unit = units[index]
                let file = files[unit.input]
                let path = file.isStandardInput ? "<stdin>" : file.path
                var counts: LineScanner.UnitCounts
                do {
                    if plain[unit.input], file.size > 0 {
                        let region = try MappedFileRegion(path: file.path, range: unit.range ?? 0..<file.size)
                        counts = scanner.scan(region, progress: progress)
                    } else {
                        counts = scanner.scan(try open(file), path: path, progress: progress)
                    }
                } catch {
                    counts = LineScanner.UnitCounts(summary: InputSummary(path: path))
                    counts.summary.error = "\(error)"
                }
                slots.store(counts, at: index)
                let samples = scanner.takeSamples()
                if !samples.isEmpty { unitSamples.withLock { $0[index] = samples } }
            }
        }

        var result = ScanResult(groupBy: groupKey ?? scanners.compactMap(\.groupKey?.kind).first ?? .upstreamCluster)
        for scanner in scanners {
            result.totals.merge(scanner.totals())
            result.recordsByFormat.merge(scanner.recordsByFormat, uniquingKeysWith: +)
            result.outsideTimeRange += scanner.outsideTimeRange
            result.late += scanner.late
            result.keysOverflowed += scanner.keysOverflowed
            result.untimed += scanner.untimed
            scanner.drainSeries(into: &result.series)
            for reason in MalformedReason.allCases where scanner.malformedByReason[Int(reason.rawValue)] > 0 {
                result.malformedByReason[reason, default: 0] += scanner.malformedByReason[Int(reason.rawValue)]
            }
        }
        // Units of one input are consecutive and in file order: sum them, and number sample lines.
        let samplesByUnit = unitSamples.withLock { $0 }
        var inputs: [InputSummary] = files.map { InputSummary(path: $0.isStandardInput ? "<stdin>" : $0.path) }
        var linesBefore = 0
        for (index, unit) in units.enumerated() {
            let counts = unitCounts[index]!
            if index == 0 || units[index - 1].input != unit.input { linesBefore = 0 }
            inputs[unit.input].add(counts.summary)
            for var sample in samplesByUnit[index] ?? [] {
                sample.line += linesBefore
                result.malformedSamples.append(sample)
            }
            linesBefore += counts.physicalLines
        }
        result.malformedSamples = Array(result.malformedSamples.prefix(options.malformedSampleLimit))
        result.inputs = inputs
        result.records = inputs.reduce(0) { $0 + $1.records }
        result.malformed = inputs.reduce(0) { $0 + $1.malformed }
        result.resolutionSeconds = options.resolutionSeconds
        result.foldKeys(beyond: options.maxKeys)
        (result.spikes, result.alertEvents) = SpikeFinder.find(result.series, rules: options.rules,
                                                               resolutionSeconds: options.resolutionSeconds)
        return result
    }

    /// The key to group by when not told: the cluster if the first input's format has one.
    /// Decided before the workers start so that all of them intern the same field.
    static func decideGroupKey(_ files: [InputFile], options: ScanOptions, plans: [LinePlan]) -> FieldKind? {
        switch options.format {
        case .fixed(let plan): return plan.defaultGroupKey
        case .automatic:
            // Standard input and pipes cannot be read twice: their worker decides from its own first chunk.
            guard let first = files.first(where: { !$0.isStandardInput && isRegularFile($0.path) }),
                let source = try? openInput(first.path)
            else { return nil }
            var head = [UInt8](repeating: 0, count: 256 << 10)
            let count = head.withUnsafeMutableBytes { buffer -> Int in
                var filled = 0
                while filled < buffer.count, let n = try? source.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[filled...])), n > 0 {
                    filled += n
                }
                return filled
            }
            let parser = LineParser(choosingAmong: plans)
            let chosen = head.withUnsafeBytes { parser.chooseFormat(from: UnsafeRawBufferPointer(rebasing: $0[..<count])) }
            return chosen ? parser.currentPlan.defaultGroupKey : nil
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
    let buffer: UnsafeMutableBufferPointer<LineScanner.UnitCounts?>
    init(_ buffer: UnsafeMutableBufferPointer<LineScanner.UnitCounts?>) { self.buffer = buffer }
    func store(_ counts: LineScanner.UnitCounts, at index: Int) { buffer[index] = counts }
}
