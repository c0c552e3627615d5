import Foundation
import Testing
@testable import LogSources
import TestSupport

@Suite struct OpenInputTests {
    @Test func plainFileRoundTrip() throws {
        let directory = try TemporaryDirectory()
        let path = try directory.file("access.log", sampleLog)
        for bufferSize in [777, 1 << 20] {
            let source = try openInput(path)
            #expect(source is FileSource)
            let result = drain(source, bufferSize: bufferSize)
            #expect(result.error == nil)
            expectSameBytes(result.bytes, sampleLog)
        }
    }

    @Test func compressionIsDetectedByContentNotName() throws {
        let text = logLines(500)
        let directory = try TemporaryDirectory()
        let compressed = try Data(contentsOf: URL(fileURLWithPath: systemGzip(directory.file("x", text))))
        let gzipNamedLog = try directory.file("access.log", Array(compressed))
        let textNamedGz = try directory.file("access.log.1.gz", text)
        #expect(try openInput(gzipNamedLog) is GzipSource)
        #expect(try openInput(textNamedGz) is FileSource)
        expectSameBytes(drain(try openInput(gzipNamedLog)).bytes, text)
        expectSameBytes(drain(try openInput(textNamedGz)).bytes, text)
    }

    @Test func emptyFiles() throws {
        let directory = try TemporaryDirectory()
        let empty = try directory.file("empty.log", [])
        let emptyGzip = try systemGzip(empty)
        #expect(try openInput(empty) is FileSource)
        #expect(try openInput(emptyGzip) is GzipSource)
        for path in [empty, emptyGzip] {
            let result = drain(try openInput(path))
            #expect(result.error == nil)
            #expect(result.bytes.isEmpty)
        }
    }

    @Test func missingFileNamesThePath() throws {
        let directory = try TemporaryDirectory()
        let missing = directory.path + "/nope.log"
        #expect(throws: SourceError(path: missing, reason: "cannot open: No such file or directory")) {
            try openInput(missing)
        }
    }

    /// Standard input is a pipe: the sniffed magic bytes must be replayed, not re-read.
    @Test(arguments: [["gzip", "-c", "-5"], ["cat"]])
    func pipeLikeStandardInput(command: [String]) throws {
        let directory = try TemporaryDirectory()
        let path = try directory.file("access.log", sampleLog)
        let pipe = Pipe()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = command + [path]
        process.standardOutput = pipe
        try process.run()
        let source = try decodingGzipIfPresent(
            FileSource(descriptor: pipe.fileHandleForReading.fileDescriptor, path: "<stdin>", ownsDescriptor: false))
        #expect((source is GzipSource) == (command[0] == "gzip"))
        let result = drain(source, bufferSize: 4096)
        process.waitUntilExit()
        #expect(result.error == nil)
        expectSameBytes(result.bytes, sampleLog)
    }
}
