import Testing
@testable import LogSources
import TestSupport

@Suite struct LineRangeTests {
    static let newline = UInt8(ascii: "\n")

    /// Lines of 1 to 300 bytes, some files without a final newline.
    static func text(lines: Int, terminated: Bool) -> [UInt8] {
        var bytes: [UInt8] = []
        for line in 0..<lines {
            bytes += Array(repeating: UInt8(ascii: "a") + UInt8(line % 26), count: 1 + line * 37 % 300)
            if terminated || line < lines - 1 { bytes.append(newline) }
        }
        return bytes
    }

    @Test(arguments: [(200, true), (200, false), (1, true), (1, false), (3, true)])
    func rangesCoverEveryByteOnceOnLineBoundaries(lines: Int, terminated: Bool) throws {
        let bytes = Self.text(lines: lines, terminated: terminated)
        let directory = try TemporaryDirectory()
        let path = try directory.file("access.log", bytes)
        for parts in [1, 2, 3, 4, 7, 16, lines + 5] {
            let ranges = try newlineAlignedRanges(path: path, size: Int64(bytes.count), parts: parts)
            #expect(ranges.count <= parts)
            #expect(ranges.first?.lowerBound == 0)
            #expect(ranges.last?.upperBound == Int64(bytes.count))
            for (range, next) in zip(ranges, ranges.dropFirst()) {
                #expect(range.upperBound == next.lowerBound)
                #expect(bytes[Int(range.upperBound) - 1] == Self.newline)
            }
            var joined: [UInt8] = []
            for range in ranges {
                #expect(!range.isEmpty)
                joined += drain(try FileRangeSource(path: path, range: range), bufferSize: 100).bytes
            }
            expectSameBytes(joined, bytes)
        }
    }

    @Test func emptyFileHasNoRanges() throws {
        let directory = try TemporaryDirectory()
        #expect(try newlineAlignedRanges(path: directory.file("empty.log", []), size: 0, parts: 4).isEmpty)
    }
}
