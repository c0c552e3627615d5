@testable import AccessLogFormat
import Foundation
import Testing

/// Each instruction set's kernels against a byte-by-byte reference, on buffers that end at an
/// unreadable page, so that a read past the end crashes the test.
struct InstructionSetTests {
    /// Bytes ending exactly at a page that cannot be read.
    final class GuardedBytes {
        let page = sysconf(Int32(_SC_PAGESIZE))
        let region: UnsafeMutableRawPointer
        let base: UnsafeMutableRawPointer
        let count: Int

        init(_ bytes: [UInt8]) {
            let dataPages = (bytes.count + page - 1) / page + 1
            region = mmap(nil, (dataPages + 1) * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)!
            mprotect(region + dataPages * page, page, PROT_NONE)
            count = bytes.count
            base = region + dataPages * page - bytes.count
            // Safe: `base` has `count` writable bytes before the guard page.
            bytes.withUnsafeBytes { base.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        }

        deinit { munmap(region, ((count + page - 1) / page + 2) * page) }
    }

    /// Mostly letters, with the bytes the kernels look for (and their neighbours 9, 11, 33, 35,
    /// 0x80 | 32) dense enough that every word holds some.
    static func randomBytes(_ count: Int, using generator: inout some RandomNumberGenerator) -> [UInt8] {
        let alphabet: [UInt8] = [32, 34, 10, 9, 11, 33, 35, 0xA0, 0xA2, 0, 0xFF, 97, 98, 99, 100]
        return (0..<count).map { _ in alphabet.randomElement(using: &generator)! }
    }

    @Test(arguments: InstructionSet.runnable)
    func structuralIndexMatchesEveryByte(_ instructionSet: InstructionSet) {
        var generator = SystemRandomNumberGenerator()
        var index = StructuralIndex(instructionSet: instructionSet)
        defer { index.deallocate() }
        for count in 0...400 {
            let bytes = Self.randomBytes(count, using: &generator)
            let guarded = GuardedBytes(bytes)
            index.build(guarded.base, count: count)
            let words = (count + 63) / 64
            var mismatches = 0
            for position in 0..<words * 64 {
                let space = index.spaces[position >> 6] >> UInt64(position & 63) & 1 == 1
                let quote = index.quotes[position >> 6] >> UInt64(position & 63) & 1 == 1
                let byte: UInt8? = position < count ? bytes[position] : nil
                if space != (byte == 32) || quote != (byte == 34) { mismatches += 1 }
            }
            #expect(mismatches == 0, "\(instructionSet), \(count) bytes: \(mismatches) wrong bits")
        }
    }

    @Test(arguments: InstructionSet.runnable)
    func newlineSearchMatchesEveryRange(_ instructionSet: InstructionSet) {
        var generator = SystemRandomNumberGenerator()
        for count in [0, 1, 63, 64, 65, 127, 128, 129, 200, 333] {
            // Newlines sparse (lines longer than a block) or absent.
            for density in [0, 40, 150] {
                var bytes = Self.randomBytes(count, using: &generator).map { $0 == 10 ? 97 : $0 }
                if density > 0 { for i in stride(from: Int.random(in: 0..<density, using: &generator), to: count, by: density) { bytes[i] = 10 } }
                let guarded = GuardedBytes(bytes)
                for from in 0...count {
                    for end in Set([from, from + 1, from + 63, from + 64, from + 65, count]) where end <= count && end >= from {
                        let expected = bytes[from..<end].firstIndex(of: 10) ?? end
                        let found = LineSplitter.newline(in: guarded.base, from: from, end: end, using: instructionSet)
                        if found != expected {
                            Issue.record("\(instructionSet): [\(from), \(end)) of \(count) bytes: \(found), expected \(expected)")
                            return
                        }
                    }
                }
            }
        }
    }

    /// The tokenizer's results (record, reason, every field's range) on the corpus and on lines
    /// cut at every length are the same whichever set indexed them.
    @Test(arguments: InstructionSet.runnable.filter { $0 != .sse2 })
    func tokenizerAgreesWithSSE2(_ instructionSet: InstructionSet) throws {
        var lines: [String] = []
        for file in try Corpus.files(in: "text") { lines += try Corpus.lines(file) }
        let whole = lines.prefix(40)
        for line in whole { for cut in stride(from: 0, to: line.utf8.count, by: 3) { lines.append(String(decoding: line.utf8.prefix(cut), as: UTF8.self)) } }
        func results(_ set: InstructionSet) -> [String] {
            InstructionSet.$override.withValue(set) {
                let parser = LineParser(tokenizer: LineTokenizer(internedKeys: [.upstreamCluster, .authority, .upstreamHost, .route]))
                return lines.map { line in
                    line.withBytes { bytes in
                        let reason = parser.parse(bytes)
                        let fields = FieldKind.allCases.map { kind in parser.tokenizer.value(of: kind).map { "\($0.baseAddress! - bytes.baseAddress!)+\($0.count)" } ?? "-" }
                        return "\(String(describing: reason)) \(parser.tokenizer.record) \(fields)"
                    }
                }
            }
        }
        let reference = results(.sse2)
        let candidate = results(instructionSet)
        let differing = zip(reference, candidate).enumerated().filter { $0.element.0 != $0.element.1 }
        #expect(differing.isEmpty, "\(instructionSet): \(differing.count) of \(lines.count) lines differ, first: \(differing.first.map { lines[$0.offset] } ?? "")")
    }

    @Test func detectedSetFollowsTheCPUsFlags() throws {
        #if arch(x86_64) && os(Linux)
        let flags = try #require(InstructionSet.cpuinfoFlags())
        let supported: InstructionSet = flags.contains("avx512bw") ? .avx512 : flags.contains("avx2") ? .avx2 : .sse2
        let cap = ProcessInfo.processInfo.environment["FLAGWATCH_ISA"].flatMap(InstructionSet.init(rawValue:))
        #expect(InstructionSet.detected == min(cap ?? supported, supported))
        #endif
    }
}
