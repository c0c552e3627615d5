import CZlib
import Foundation
import Testing
@testable import LogSources
import TestSupport

extension TemporaryDirectory {
    /// Writes `bytes` to `name` (folders made as needed) and returns its path.
    func file(_ name: String, _ bytes: [UInt8]) throws -> String {
        let target = path + "/" + name
        try FileManager.default.createDirectory(
            atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Data(bytes).write(to: URL(fileURLWithPath: target))
        return target
    }
}

/// Envoy-like lines with pseudo-random fields, so deflate has real work to do.
func logLines(_ count: Int, seed: UInt64 = 1) -> [UInt8] {
    var state = seed
    var text = ""
    for line in 0..<count {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        let value = state >> 33
        text += "[2024-05-01T12:\(line % 60):\(value % 60).\(value % 1000)Z] \"GET /api/v\(value % 3)/items/\(value % 100_003) HTTP/1.1\" "
        text += "\([200, 503, 404, 200][Int(value % 4)]) \(["-", "UF", "URX", "UH"][Int(value >> 8 % 4)]) \(value % 9000) \"10.0.\(value % 255).\(line % 255):8080\"\n"
    }
    return Array(text.utf8)
}

/// About 2.4 MB of `logLines`: more than one 1 MiB input and output chunk. Built once.
let sampleLog = logLines(20_000)

/// Runs a system tool, its standard output going to `output` when given.
func run(_ arguments: [String], output: String? = nil) throws {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = arguments
    if let output {
        _ = FileManager.default.createFile(atPath: output, contents: nil)
        process.standardOutput = FileHandle(forWritingAtPath: output)
    }
    try process.run()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
        throw SourceError(path: arguments.joined(separator: " "), reason: "exit status \(process.terminationStatus)")
    }
}

/// `gzip -level` of `path`, written next to it with a `.gz` suffix.
func systemGzip(_ path: String, level: Int = 6) throws -> String {
    try run(["gzip", "-c", "-\(level)", path], output: path + ".gz")
    return path + ".gz"
}

/// A gzip file written by zlib itself, one member per element of `members`.
func zlibGzip(_ members: [[UInt8]], to path: String) {
    for member in members {
        let file = gzopen(path, "ab9")!
        member.withUnsafeBytes { _ = gzwrite(file, $0.baseAddress, UInt32($0.count)) }
        gzclose(file)
    }
}

/// Everything a source yields before its end or error, read with `bufferSize` buffers.
func drain(_ source: ByteSource, bufferSize: Int = 1 << 16) -> (bytes: [UInt8], error: SourceError?) {
    var bytes: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: bufferSize)
    do {
        while true {
            let count = try buffer.withUnsafeMutableBytes { try source.read(into: $0) }
            if count == 0 { return (bytes, nil) }
            bytes += buffer[..<count]
        }
    } catch {
        return (bytes, error as? SourceError)
    }
}

/// Names of the inflate backends this process can use; every gzip test runs on each. ISA-L
/// is there when libisal.so.2 is installed (Tests/run.sh installs it; `isalIsInstalledHere`
/// fails when it is installed but does not load).
let inflateEngines = [ZlibInflateEngine.name] + (IsalInflateEngine() != nil ? [IsalInflateEngine.name] : [])

func gzipSource(_ compressed: ByteSource, engine: String) -> GzipSource {
    if engine == IsalInflateEngine.name, let isal = IsalInflateEngine() { return GzipSource(compressed: compressed, engine: isal) }
    return GzipSource(compressed: compressed, engine: ZlibInflateEngine())
}

/// Compares byte arrays without printing megabytes on failure: reports lengths and the first
/// differing offset.
func expectSameBytes(_ actual: [UInt8], _ expected: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) {
    let common = min(actual.count, expected.count)
    let mismatch = (0..<common).first { actual[$0] != expected[$0] } ?? (actual.count == expected.count ? nil : common)
    #expect(mismatch == nil, "\(actual.count) bytes vs \(expected.count) expected, first difference at \(mismatch ?? -1)", sourceLocation: sourceLocation)
}

/// `expected` starts with `prefix`, reported like `expectSameBytes`.
func expectPrefix(_ prefix: [UInt8], of expected: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) {
    expectSameBytes(prefix, Array(expected.prefix(prefix.count)), sourceLocation: sourceLocation)
}
