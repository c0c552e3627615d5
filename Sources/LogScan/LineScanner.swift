import AccessLogFormat
import FlagAggregation
import LogSources

#if canImport(Glibc)
import Glibc
#endif

/// One worker's scanning state: a reusable buffer, a tokenizer, a counter, event-time buckets.
///
/// The loop maps plain files window by window (or reads streams in big chunks), splits lines
/// with a 64-bytes-a-step newline search and hands each line to the parser in place; nothing
/// is allocated per line. Used by one thread at a time: the engine hands each scanner to
/// exactly one worker.
final class LineScanner: @unchecked Sendable {
    let tokenizer: LineTokenizer
    let counter = FlagCounter()
    let series: SecondSeries
    private let options: ScanOptions
    private let plans: [LinePlan]
    private(set) var groupKey: GroupKey?
    private let buffer: UnsafeMutableRawBufferPointer
    private let chunkSize = 4 << 20

    private(set) var malformedByReason = Array(repeating: 0, count: MalformedReason.allCases.count)
    private(set) var recordsByFormat: [String: Int] = [:]
    private(set) var outsideTimeRange = 0
    private(set) var late = 0
    private(set) var keysOverflowed = 0
    private(set) var untimed = 0
    private(set) var samples: [MalformedSample] = []

    init(options: ScanOptions, plans: [LinePlan], groupKey: FieldKind?) {
        self.options = options
        self.plans = plans
        tokenizer = LineTokenizer(internedKeys: [])
        series = SecondSeries(masks: options.rules.map(\.flags.rawValue), resolutionSeconds: options.resolutionSeconds)
        buffer = .allocate(byteCount: chunkSize + options.maxLineLength + 64, alignment: 64)
        if let groupKey { setGroupKey(groupKey) }
    }

    private func setGroupKey(_ kind: FieldKind) {
        groupKey = GroupKey(kind: kind, tokenizer: tokenizer, maxKeys: options.maxKeys)
    }

    deinit { buffer.deallocate() }

    /// Per-unit counts, and where the unit's lines start for malformed-sample numbering.
    struct UnitCounts {
        var summary: InputSummary
        /// Physical lines, blank ones included: the next unit's first line number.
        var physicalLines = 0
    }

    /// Scans `source` to its end. Errors end the unit; what was read before is counted.
    func scan(_ source: ByteSource, path: String, progress: ScanProgress?) -> UnitCounts {
        var unit = Unit(scanner: self, path: path)
        let base = buffer.baseAddress!
        let capacity = chunkSize + options.maxLineLength
        var filled = 0
        do {
            while true {
                let n = try source.read(into: UnsafeMutableRawBufferPointer(start: base + filled, count: capacity - filled))
                unit.counts.summary.bytes += n
                progress?.add(n)
                let end = filled + n
                unit.prepare(UnsafeRawBufferPointer(start: base, count: end), atEnd: n == 0)
                if n == 0 {
                    unit.finish(base, end: filled)
                    break
                }
                let rest = unit.lines(base, end: end)
                let remaining = end - rest
                if unit.skippingLongLine || remaining > options.maxLineLength {
                    unit.beginLongLine(base, at: rest)
                    filled = 0
                } else {
                    if rest > 0 { base.copyMemory(from: base + rest, byteCount: remaining) }
                    filled = remaining
                }
            }
        } catch {
            unit.counts.summary.error = "\(error)"
        }
        return unit.close()
    }

    /// Scans part of a plain file through `mmap` windows: no copy of the page cache.
    func scan(_ region: MappedFileRegion, progress: ScanProgress?) -> UnitCounts {
        var unit = Unit(scanner: self, path: region.path)
        // Twice the line limit, so that a window without a newline always holds a too-long line.
        let windowSize = max(chunkSize, 2 * options.maxLineLength)
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
                } else if unit.skippingLongLine || window.count - rest > options.maxLineLength {
                    unit.beginLongLine(base, at: rest)
                    advance = window.count
                }
                unit.counts.summary.bytes += advance
                progress?.add(advance)
                position += Int64(advance)
            }
        } catch {
            unit.counts.summary.error = "\(error)"
        }
        return unit.close()
    }

    /// One unit's pass: the parser, the counts and the state of the line loop.
    struct Unit {
        let scanner: LineScanner
        let parser: LineParser
        var counts: UnitCounts
        var skippingLongLine = false
        var formatChosen: Bool
        var key: GroupKey?

        init(scanner: LineScanner, path: String) {
            self.scanner = scanner
            switch scanner.options.format {
            case .automatic: parser = LineParser(choosingAmong: scanner.plans, tokenizer: scanner.tokenizer)
            case .fixed(let plan): parser = LineParser(plan: plan, tokenizer: scanner.tokenizer)
            }
            formatChosen = !parser.isAutomatic
            counts = UnitCounts(summary: InputSummary(path: path))
            // The watermark restarts with each unit; units do not depend on the thread count.
            scanner.latestStart = .min
        }

        /// Chooses the format from the first bytes, and the group key with it.
        mutating func prepare(_ head: UnsafeRawBufferPointer, atEnd: Bool) {
            if !formatChosen { formatChosen = parser.chooseFormat(from: head) || atEnd }
            guard key == nil else { return }
            if scanner.groupKey == nil { scanner.setGroupKey(parser.currentPlan.defaultGroupKey) }
            key = scanner.groupKey
        }

        /// Handles every complete line in `[0, end)`; returns where the incomplete rest starts.
        mutating func lines(_ base: UnsafeMutableRawPointer, end: Int) -> Int {
            if scanner.options.timeSource == .processing { scanner.sampleReadTime() }
            var lineStart = 0
            while true {
                let newline = LineSplitter.newline(in: base, from: lineStart, end: end)
                if newline == end { return lineStart }
                if skippingLongLine {
                    skippingLongLine = false
                } else {
                    scanner.handle(base, lineStart, newline, parser, key!, &counts)
                }
                lineStart = newline + 1
            }
        }

        /// A line longer than the limit starts at `at` and its end is not in view: it is
        /// counted once and its bytes skipped up to the next newline.
        mutating func beginLongLine(_ base: UnsafeMutableRawPointer, at start: Int) {
            guard !skippingLongLine else { return }
            skippingLongLine = true
            counts.physicalLines += 1
            scanner.malformed(.lineTooLong, base, start, start + 200, &counts)
        }

        /// The input's last line, when it has no newline.
        mutating func finish(_ base: UnsafeMutableRawPointer, end: Int) {
            if end > 0, !skippingLongLine { scanner.handle(base, 0, end, parser, key!, &counts) }
        }

        func close() -> UnitCounts {
            for (index, plan) in parser.plans.enumerated() where parser.recordsByPlan[index] > 0 {
                scanner.recordsByFormat[plan.name, default: 0] += parser.recordsByPlan[index]
            }
            return counts
        }
    }

    @inline(__always)
    private func handle(_ base: UnsafeMutableRawPointer, _ start: Int, _ end: Int, _ parser: LineParser,
                        _ key: GroupKey, _ counts: inout UnitCounts)
    {
        counts.physicalLines &+= 1
        let length = end &- start
        if length == 0 || (length == 1 && base.load(fromByteOffset: start, as: UInt8.self) == 13) { return }
        if length > options.maxLineLength {
            malformed(.lineTooLong, base, start, end, &counts)
            return
        }
        if let reason = parser.parse(UnsafeRawBufferPointer(start: base + start, count: length)) {
            malformed(reason, base, start, end, &counts)
            return
        }
        let record = tokenizer.record
        if let since = options.since, record.startMicros < since {
            outsideTimeRange &+= 1
            return
        }
        if let until = options.until, record.startMicros >= until {
            outsideTimeRange &+= 1
            return
        }
        counts.summary.records &+= 1
        counts.summary.lines &+= 1
        let id = key.id(of: record, overflowed: &keysOverflowed)
        counter.count(record, key: id, tokenizer: tokenizer)
        if options.timeSource == .processing {
            series.add(key: id, micros: readMicros, flags: record.flags.rawValue)
            return
        }
        guard record.startMicros != .min else {
            untimed &+= 1
            return
        }
        if record.startMicros > latestStart {
            latestStart = record.startMicros
        } else if record.startMicros < latestStart &- allowedLatenessMicros {
            late &+= 1
        }
        series.add(key: id, micros: record.startMicros, flags: record.flags.rawValue)
    }

    /// Wall-clock time of the chunk being read, for `TimeSource.processing`; sampled once a
    /// chunk, not once a line.
    private var readMicros: Int64 = 0

    private func sampleReadTime() {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        readMicros = Int64(now.tv_sec) * 1_000_000 + Int64(now.tv_nsec) / 1000
    }

    /// The latest start time seen in this unit, for the watermark.
    private var latestStart = Int64.min
    private var allowedLatenessMicros: Int64 { Int64(options.allowedLateness) * 1_000_000 }

    private func malformed(_ reason: MalformedReason, _ base: UnsafeMutableRawPointer, _ start: Int, _ end: Int,
                           _ counts: inout UnitCounts)
    {
        malformedByReason[Int(reason.rawValue)] += 1
        counts.summary.malformed += 1
        counts.summary.lines += 1
        guard samples.count < options.malformedSampleLimit else { return }
        let shown = UnsafeRawBufferPointer(start: base + start, count: min(end - start, 200))
        // Line numbers are relative to the unit here; the engine makes them absolute.
        samples.append(MalformedSample(path: counts.summary.path, line: counts.physicalLines, reason: reason,
                                       text: String(decoding: shown, as: UTF8.self)))
    }

    /// Takes the samples gathered since the last call.
    func takeSamples() -> [MalformedSample] {
        defer { samples.removeAll() }
        return samples
    }

    /// This worker's totals by key name.
    func totals() -> FlagTotals {
        guard let groupKey else { return FlagTotals() }
        return counter.totals { groupKey.interner.string(for: $0) }
    }

    /// Moves this worker's buckets, by key name, into `merged`.
    func drainSeries(into merged: inout [String: KeySeries]) {
        guard let groupKey else { return }
        series.drain(naming: { groupKey.interner.string(for: $0) }, into: &merged)
    }
}
