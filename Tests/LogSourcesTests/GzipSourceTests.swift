import CZlib
import Foundation
import Testing
@testable import LogSources
import TestSupport

@Suite struct GzipSourceTests {
    @Test(arguments: inflateEngines, [1, 6, 9])
    func singleMemberAtEachLevel(engine: String, level: Int) throws {
        let directory = try TemporaryDirectory()
        let archive = try systemGzip(directory.file("access.log", sampleLog), level: level)
        let result = drain(gzipSource(try FileSource(path: archive), engine: engine), bufferSize: 1 << 20)
        #expect(result.error == nil)
        expectSameBytes(result.bytes, sampleLog)
    }

    @Test(arguments: inflateEngines)
    func concatenatedMembersWithZeroPadding(engine: String) throws {
        let directory = try TemporaryDirectory()
        let first = Array(sampleLog[..<700_000])
        let second = logLines(3_000, seed: 7)
        let a = try Data(contentsOf: URL(fileURLWithPath: systemGzip(directory.file("a", first))))
        let b = try Data(contentsOf: URL(fileURLWithPath: systemGzip(directory.file("b", second), level: 1)))
        let empty = try Data(contentsOf: URL(fileURLWithPath: systemGzip(directory.file("empty", []))))
        let archive = try directory.file("ab.gz", Array(a + empty + b + Data(count: 512)))
        let result = drain(gzipSource(try FileSource(path: archive), engine: engine), bufferSize: 100_000)
        #expect(result.error == nil)
        expectSameBytes(result.bytes, first + second)
    }

    /// Compressed input arriving a byte at a time splits headers, trailers, member boundaries
    /// and padding across reads; output read a byte at a time stops the decoder mid-block.
    @Test(arguments: inflateEngines, [(1, 1), (1, 4096), (61, 1), (61, 997)])
    func inputAndOutputInTinyPieces(engine: String, sizes: (input: Int, output: Int)) throws {
        let directory = try TemporaryDirectory()
        let first = logLines(200)
        let second = logLines(100, seed: 3)
        var archive: [UInt8] = []
        for (name, text) in [("a", first), ("empty", []), ("b", second)] {
            archive += try Data(contentsOf: URL(fileURLWithPath: systemGzip(directory.file(name, text))))
        }
        let path = try directory.file("pieces.gz", archive + [0, 0, 0])
        let trickle = ReadAheadSource(wrapping: try FileSource(path: path), chunkSize: sizes.input, depth: 2)
        let result = drain(gzipSource(trickle, engine: engine), bufferSize: sizes.output)
        #expect(result.error == nil)
        expectSameBytes(result.bytes, first + second)
    }

    /// Extra field (as in bgzip files), name, comment and header CRC, split across reads.
    @Test(arguments: inflateEngines, [1, 3, 4096])
    func optionalHeaderFields(engine: String, inputChunk: Int) throws {
        let directory = try TemporaryDirectory()
        let text = logLines(300)
        let plain = try Array(Data(contentsOf: URL(fileURLWithPath: systemGzip(directory.file("plain", text)))))
        #expect(plain[3] == 0x08, "gzip stores the file name: the body starts after its NUL")
        let body = plain[(plain[10...].firstIndex(of: 0)! + 1)...]
        var header: [UInt8] = [0x1f, 0x8b, 8, 0x02 | 0x04 | 0x08 | 0x10, 0, 0, 0, 0, 0, 3]
        header += [6, 0, 0x42, 0x43, 2, 0, 0x34, 0x12]
        header += Array("access.log\0".utf8) + Array("rotated by logrotate\0".utf8)
        let headerCRC = header.withUnsafeBytes { crc32(0, $0.baseAddress, UInt32($0.count)) }
        header += [UInt8(headerCRC & 0xff), UInt8(headerCRC >> 8 & 0xff)]
        let path = try directory.file("rich.gz", header + body + header + body)
        let trickle = ReadAheadSource(wrapping: try FileSource(path: path), chunkSize: inputChunk, depth: 2)
        let result = drain(gzipSource(trickle, engine: engine), bufferSize: 1000)
        #expect(result.error == nil)
        expectSameBytes(result.bytes, text + text)
    }

    @Test(arguments: inflateEngines)
    func membersWrittenByZlib(engine: String) throws {
        let directory = try TemporaryDirectory()
        let archive = directory.path + "/zlib.gz"
        zlibGzip([Array(sampleLog[..<1_000_000]), Array(sampleLog[1_000_000...])], to: archive)
        let result = drain(gzipSource(try FileSource(path: archive), engine: engine))
        #expect(result.error == nil)
        expectSameBytes(result.bytes, sampleLog)
    }

    @Test(arguments: inflateEngines)
    func truncatedArchiveReportsOffsetAfterItsData(engine: String) throws {
        let directory = try TemporaryDirectory()
        let whole = try Array(Data(contentsOf: URL(fileURLWithPath: systemGzip(directory.file("t.log", sampleLog)))))
        for cut in [1, 5, 10, 300, whole.count / 3, whole.count / 2, whole.count - 8, whole.count - 1] {
            let archive = try directory.file("access.log.\(cut).gz", Array(whole[..<cut]))
            let result = drain(gzipSource(try FileSource(path: archive), engine: engine))
            let error = try #require(result.error)
            #expect(error == SourceError(path: archive, reason: "truncated gzip stream", offset: Int64(cut)))
            #expect(error.description == "\(archive): truncated gzip stream at byte \(cut)")
            expectPrefix(result.bytes, of: sampleLog)
            if cut > whole.count / 2 { #expect(result.bytes.count > sampleLog.count / 3) }
        }
    }

    @Test(arguments: inflateEngines)
    func corruptBytesInTheMiddle(engine: String) throws {
        let directory = try TemporaryDirectory()
        var bytes = try Array(Data(contentsOf: URL(fileURLWithPath: systemGzip(directory.file("c.log", sampleLog)))))
        let damage = bytes.count / 2
        for index in damage..<damage + 64 { bytes[index] = 0xff }
        let archive = try directory.file("access.log.2.gz", bytes)
        let source = gzipSource(try FileSource(path: archive), engine: engine)
        let result = drain(source)
        let error = try #require(result.error)
        #expect(error.path == archive)
        #expect(error.reason.hasPrefix("corrupt gzip data"))
        #expect(try #require(error.offset) > Int64(damage))
        #expect(try #require(error.offset) <= Int64(bytes.count))
        #expect(result.bytes.count > 10_000)
        expectPrefix(Array(result.bytes.prefix(10_000)), of: sampleLog)
        // The failure is sticky: a retry does not resume past the damage.
        var buffer = [UInt8](repeating: 0, count: 16)
        #expect(throws: error) { try buffer.withUnsafeMutableBytes { try source.read(into: $0) } }
    }

    @Test(arguments: inflateEngines)
    func gzipOfAnEmptyFileYieldsNothing(engine: String) throws {
        let directory = try TemporaryDirectory()
        let archive = try systemGzip(directory.file("empty.log", []))
        let result = drain(gzipSource(try FileSource(path: archive), engine: engine))
        #expect(result.error == nil)
        #expect(result.bytes.isEmpty)
    }

    /// Where Debian puts libisal.so.2 (libisal2): then it must load, or the fast path is lost.
    @Test func isalLoadsWhereItIsInstalled() throws {
        let multiarch = (try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib")) ?? []
        let installed = (["/usr/lib"] + multiarch.map { "/usr/lib/\($0)" })
            .contains { FileManager.default.fileExists(atPath: "\($0)/\(IsalInflateEngine.libraryName)") }
        switch IsalInflateEngine.library {
        case .success: #expect(installed)
        case .failure(let error): #expect(!installed, "installed but not loaded: \(error.reason)")
        }
    }

    @Test func backendIsISALWhenItLoadsUnlessZlibIsAskedFor() {
        let loaded = Result<IsalInflateEngine.Functions, IsalInflateEngine.LoadError>.success(
            IsalInflateEngine.Functions(inflateInit: { _ in }, inflateReset: { _ in }, inflate: { _ in 0 },
                                        readGzipHeader: { _, _ in 0 }, gzipHeaderInit: { _ in }))
        let missing = Result<IsalInflateEngine.Functions, IsalInflateEngine.LoadError>.failure(.init(reason: "absent"))
        #expect(InflateBackend.choose(requested: nil, isalLoads: loaded) == .isal)
        #expect(InflateBackend.choose(requested: "zlib", isalLoads: loaded) == .zlib)
        #expect(InflateBackend.choose(requested: "isa-l", isalLoads: loaded) == .isal)
        #expect(InflateBackend.choose(requested: "unknown", isalLoads: loaded) == .isal)
        #expect(InflateBackend.choose(requested: nil, isalLoads: missing) == .zlib)
        #expect(InflateBackend.choose(requested: "isa-l", isalLoads: missing) == .zlib)
    }

    /// What reports name is what `GzipSource` uses.
    @Test func decoderNameIsTheEngineInUse() throws {
        let expected: InflateBackend = ProcessInfo.processInfo.environment["FLAGWATCH_INFLATE"] != "zlib"
            && IsalInflateEngine() != nil ? .isal : .zlib
        #expect(GzipSource.decoderName == expected.rawValue)
        let engine = InflateBackend.chosen.makeEngine()
        #expect((engine is IsalInflateEngine) == (expected == .isal))
        let directory = try TemporaryDirectory()
        let archive = try systemGzip(directory.file("access.log", sampleLog))
        expectSameBytes(drain(GzipSource(compressed: try FileSource(path: archive))).bytes, sampleLog)
    }
}
