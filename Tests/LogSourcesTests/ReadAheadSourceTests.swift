import Foundation
import Testing
@testable import LogSources
import TestSupport

@Suite struct ReadAheadSourceTests {
    @Test(arguments: [(4096, 2, 1000), (1 << 20, 3, 1 << 16), (65_536, 4, 65_536)])
    func yieldsTheInnerSourceBytes(chunkSize: Int, depth: Int, bufferSize: Int) throws {
        let directory = try TemporaryDirectory()
        let archive = try systemGzip(directory.file("access.log", sampleLog))
        let source = ReadAheadSource(wrapping: try openInput(archive), chunkSize: chunkSize, depth: depth)
        #expect(source.path == archive)
        let result = drain(source, bufferSize: bufferSize)
        #expect(result.error == nil)
        expectSameBytes(result.bytes, sampleLog)
    }

    @Test func errorArrivesAfterTheDataBeforeIt() throws {
        let directory = try TemporaryDirectory()
        let whole = try Data(contentsOf: URL(fileURLWithPath: systemGzip(directory.file("access.log", sampleLog))))
        let archive = try directory.file("cut.gz", Array(whole.prefix(whole.count * 2 / 3)))
        // The decoder returns as much as it can before the break; the amount depends on its
        // output sizes, so the direct read uses the read-ahead chunk size.
        let direct = drain(try openInput(archive), bufferSize: 8192)
        let source = ReadAheadSource(wrapping: try openInput(archive), chunkSize: 8192, depth: 2)
        let ahead = drain(source, bufferSize: 5000)
        #expect(direct.error != nil)
        #expect(ahead.error == direct.error)
        expectSameBytes(ahead.bytes, direct.bytes)
        expectPrefix(ahead.bytes, of: sampleLog)
        #expect(ahead.bytes.count > sampleLog.count / 3)
        var buffer = [UInt8](repeating: 0, count: 16)
        #expect(throws: direct.error!) { try buffer.withUnsafeMutableBytes { try source.read(into: $0) } }
    }

    /// A consumer that stops early must not leave the producer blocked on a full ring.
    @Test func droppingTheSourceEarlyStopsTheProducer() throws {
        let directory = try TemporaryDirectory()
        let path = try directory.file("access.log", sampleLog)
        for _ in 0..<20 {
            let source = ReadAheadSource(wrapping: try openInput(path), chunkSize: 1024, depth: 2)
            var buffer = [UInt8](repeating: 0, count: 100)
            #expect(try buffer.withUnsafeMutableBytes { try source.read(into: $0) } > 0)
        }
    }
}
