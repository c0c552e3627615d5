import AccessLogFormat
import FlagAggregation
import LogSources
import RecordCounting

#if canImport(Glibc)
import Glibc
#endif

/// One worker's line loop: a reusable buffer, the counting core, and the cells of history.
///
/// The loop maps plain files window by window (or reads streams in big chunks), splits lines
/// with a 64-bytes-a-step newline search and hands each line to the counter in place; each
/// counted record with a time goes into the worker's bucket runs. Nothing is allocated per
/// line. Used by one thread at a time: the engine hands each scanner to exactly one worker.
final class LineScanner: @unchecked Sendable {
    let counter: RecordCounter
    let runs: BucketRuns
    /// Flagged records per (key, cause, bucket): what names a spike's cause (`SpikeCauses`).
    let causeRuns: CauseRuns
    private let maxLineLength: Int
    private let processingTime: Bool
    private let buffer: UnsafeMutableRawBufferPointer
    private let chunkSize = 4 << 20

    init(options: ScanOptions) {
        counter = RecordCounter(configuration: options.reading)
        runs = BucketRuns(masks: options.rules.map(\.flags.rawValue), resolutionSeconds: options.resolutionSeconds,
                          memoryBudget: options.historyMemoryBudget)
        causeRuns = CauseRuns(options: options)
        maxLineLength = options.reading.maxLineLength
        processingTime = options.reading.timeSource == .processing
        buffer = .allocate(byteCount: chunkSize + maxLineLength + 64, alignment: 64)
    }

    deinit { buffer.deallocate() }

    /// Scans `source` to its end. Errors end the unit; what was read before is counted.
    /// `order`: the unit's index, for the order of cause samples.
    func scan(_ source: ByteSource, path: String, order: Int, progress: ScanProgress?) -> InputTally {
        var unit = Unit(scanner: self, path: path, order: order)
        let base = buffer.baseAddress!
        let capacity = chunkSize + maxLineLength
        var filled = 0
        do {
            while true {
                let n = try source.read(into: UnsafeMutableRawBufferPointer(start: base + filled, count: capacity - filled))
                unit.input.summary.bytes += n
                progress?.add(n)
                let end = filled + n
                unit.prepare(UnsafeRawBufferPointer(start: base, count: end), atEnd: n == 0)
                if n == 0 {
                    unit.finish(base, end: filled)
                    break
                }
                let rest = unit.lines(base, end: end)
                let remaining = end - rest
                if unit.skippingLongLine || remaining > maxLineLength {
                    unit.beginLongLine(base, at: rest)
                    filled = 0
                } else {
                    if rest > 0 { base.copyMemory(from: base + rest, byteCount: remaining) }
                    filled = remaining
                }
            }
        } catch {
            unit.input.summary.error = "\(error)"
        }
        return unit.close()
    }

    /// Scans part of a plain file through `mmap` windows: no copy of the page cache.
    func scan(_ region: MappedFileRegion, order: Int, progress: ScanProgress?) -> InputTally {
        var unit = Unit(scanner: self, path: region.path, order: order)
        // Twice the line limit, so that a window without a newline always holds a too-long line.
        let windowSize = max(chunkSize, 2 * maxLineLength)
        var position = region.range.lowerBound
        do {
            while position < region.range.upperBound {
                let window = try region.window(from: position, maxLength: windowSize)
                // The tokenizer only reads: the mapping is read-only.
                guard let start = window.baseAddress else { break }
                let base = UnsafeMutableRawPointer(mutating: start)
                let atEnd = position + Int64(window.count) == region.range.upperBound
                unit.prepare(window, atEnd: atEnd)
                let rest = unit.lines(base, end: window.count)
                var advance = rest
                if atEnd {
                    unit.finish(base + rest, end: window.count - rest)
                    advance = window.count
                } else if unit.skippingLongLine || window.count - rest > maxLineLength {
                    unit.beginLongLine(base, at: rest)
                    advance = window.count
                }
                unit.input.summary.bytes += advance
                progress?.add(advance)
                position += Int64(advance)
            }
        } catch {
            unit.input.summary.error = "\(error)"
        }
        return unit.close()
    }

    /// One unit's pass: its input tally and the state of the line loop.
    struct Unit {
        let scanner: LineScanner
        var input: InputTally
        var skippingLongLine = false

        init(scanner: LineScanner, path: String, order: Int) {
            self.scanner = scanner
            // Each unit has its own watermark: units do not depend on the thread count.
            input = scanner.counter.makeInput(path: path)
            input.order = order
        }

        mutating func prepare(_ head: UnsafeRawBufferPointer, atEnd: Bool) {
            scanner.counter.prepare(&input, head: head, atEnd: atEnd)
        }

        /// Handles every complete line in `[0, end)`; returns where the incomplete rest starts.
        mutating func lines(_ base: UnsafeMutableRawPointer, end: Int) -> Int {
            // Held in locals for the loop: no reference counting per line.
            let counter = scanner.counter, runs = scanner.runs, causeRuns = scanner.causeRuns
            if scanner.processingTime { counter.processingMicros = LineScanner.wallMicros() }
            var lineStart = 0
            while true {
                let newline = LineSplitter.newline(in: base, from: lineStart, end: end)
                if newline == end { return lineStart }
                if skippingLongLine {
                    skippingLongLine = false
                } else {
                    handle(UnsafeRawBufferPointer(start: base + lineStart, count: newline - lineStart), counter, runs, causeRuns)
                }
                lineStart = newline + 1
            }
        }

        @inline(__always)
        mutating func handle(_ line: UnsafeRawBufferPointer, _ counter: RecordCounter, _ runs: BucketRuns, _ causeRuns: CauseRuns) {
            guard let record = counter.count(line, &input), record.micros != .min else { return }
            runs.add(key: record.key, micros: record.micros, flags: record.flags)
            if record.cause != CountedRecord.noCause { causeRuns.add(record) }
        }

        /// A line longer than the limit starts at `at` and its end is not in view: it is
        /// counted once and its bytes skipped up to the next newline.
        mutating func beginLongLine(_ base: UnsafeMutableRawPointer, at start: Int) {
            guard !skippingLongLine else { return }
            skippingLongLine = true
            scanner.counter.countTooLong(UnsafeRawBufferPointer(start: base + start, count: 200), &input)
        }

        /// The input's last line, when it has no newline.
        mutating func finish(_ base: UnsafeMutableRawPointer, end: Int) {
            if end > 0, !skippingLongLine { handle(UnsafeRawBufferPointer(start: base, count: end), scanner.counter, scanner.runs, scanner.causeRuns) }
        }

        func close() -> InputTally {
            scanner.counter.close(input)
            return input
        }
    }

    /// Wall-clock time of the chunk being read, for `TimeSource.processing`; sampled once a
    /// chunk, not once a line.
    static func wallMicros() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec) * 1_000_000 + Int64(now.tv_nsec) / 1000
    }
}
