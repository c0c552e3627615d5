import Foundation
import LogScan

/// Temporary folders, the sample generator and the ground truth it writes.
enum Fixtures {
    static let packageRoot: URL = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url
    }()

    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("flagwatch-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// Runs a program to its end and returns its exit status and standard output.
    @discardableResult
    static func run(_ executable: String, _ arguments: [String], stdin: Data? = nil, environment: [String: String]? = nil)
        throws -> (status: Int32, stdout: Data, stderr: Data)
    {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment { process.environment = environment }
        // Standard error goes to a file, so that a full pipe cannot block the program.
        let errorFile = FileManager.default.temporaryDirectory.appendingPathComponent("stderr-\(UUID().uuidString)")
        _ = FileManager.default.createFile(atPath: errorFile.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: errorFile) }
        let out = Pipe(), input = Pipe()
        process.standardOutput = out
        process.standardError = try FileHandle(forWritingTo: errorFile)
        process.standardInput = input
        try process.run()
        if let stdin { input.fileHandleForWriting.write(stdin) }
        try input.fileHandleForWriting.close()
        let stdoutData = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, stdoutData, try Data(contentsOf: errorFile))
    }

    /// Generates a log with `Samples/generate.py` and returns it with its ground truth.
    static func generate(_ arguments: [String], in directory: URL, name: String) throws -> (log: URL, truth: Truth) {
        let log = directory.appendingPathComponent(name)
        let truthFile = directory.appendingPathComponent(name + ".truth.json")
        let result = try run("/usr/bin/env", ["python3", packageRoot.appendingPathComponent("Samples/generate.py").path]
            + arguments + ["-o", log.path, "--truth", truthFile.path])
        precondition(result.status == 0, String(decoding: result.stderr, as: UTF8.self))
        return (log, try JSONDecoder().decode(Truth.self, from: Data(contentsOf: truthFile)))
    }
}

/// The generator's own count, in the report's shape.
struct Truth: Decodable, Equatable {
    struct Cluster: Decodable, Equatable {
        var cluster: String
        var requests: Int
        var flags: [String: Int]
    }

    var groupBy: String
    var lines: Int
    var records: Int
    var malformed: Int
    var flags: [String: Int]
    var clusters: [Cluster]
}

extension ScanResult {
    /// The part of a result the ground truth describes.
    var asTruth: Truth {
        Truth(groupBy: self.groupBy.groupName, lines: self.lines, records: self.records, malformed: self.malformed, flags: self.totals.flags,
              clusters: self.totals.keys.sorted { $0.key < $1.key }.map { Truth.Cluster(cluster: $0.key, requests: $0.value.requests, flags: $0.value.flags) })
    }
}
