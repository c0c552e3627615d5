import Foundation
import Testing
@testable import LogSources
import TestSupport

@Suite struct MappedFileRegionTests {
    @Test func windowsShowTheRegionsBytes() throws {
        let bytes = (0..<50_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let directory = try TemporaryDirectory()
        let path = try directory.file("access.log", bytes)
        let region = try MappedFileRegion(path: path, range: 1234..<40_000)
        var seen: [UInt8] = []
        var offset: Int64 = 1234
        while offset < 40_000 {
            let window = try region.window(from: offset, maxLength: 7777)
            seen += window
            offset += Int64(window.count)
        }
        #expect(seen == Array(bytes[1234..<40_000]))
    }

    @Test func aFileThatShrankIsAnErrorNotACrash() throws {
        let directory = try TemporaryDirectory()
        let path = try directory.file("access.log", Array(repeating: UInt8(ascii: "x"), count: 100_000))
        let region = try MappedFileRegion(path: path, range: 0..<100_000)
        #expect(try region.window(from: 0, maxLength: 10_000).count == 10_000)
        // copytruncate while the scan runs: later windows must not touch pages past the end.
        #expect(truncate(path, 20_000) == 0)
        #expect(try region.window(from: 10_000, maxLength: 50_000).count == 10_000)
        #expect(throws: SourceError.self) { try region.window(from: 20_000, maxLength: 50_000) }
    }
}
