import Foundation
import Testing
@testable import LogSources
import TestSupport

@Suite struct InputExpansionTests {
    /// access.log with rotated siblings, an unrelated file, pod logs, and symlinks to a file and
    /// a directory that would read the same data twice.
    static func logTree() throws -> TemporaryDirectory {
        let directory = try TemporaryDirectory()
        for name in [
            "access.log", "access.log.1", "access.log.2.gz", "envoy.log-20240101.gz", "notes.txt", "events.jsonl",
            "pods/a/istio-proxy/0.log", "pods/b/istio-proxy/0.log", "pods/b/istio-proxy/core.dump",
        ] {
            _ = try directory.file(name, Array(name.utf8))
        }
        try FileManager.default.createSymbolicLink(atPath: directory.path + "/link.log", withDestinationPath: "access.log")
        try FileManager.default.createSymbolicLink(atPath: directory.path + "/pods/b/loop", withDestinationPath: "..")
        try FileManager.default.createSymbolicLink(atPath: directory.path + "/gone.log", withDestinationPath: "missing")
        return directory
    }

    static func names(_ files: [InputFile], under root: String) -> [String] {
        files.map { $0.path.hasPrefix(root + "/") ? String($0.path.dropFirst(root.count + 1)) : $0.path }
    }

    @Test func directoryKeepsAccessLogsOnceEach() throws {
        let tree = try Self.logTree()
        let result = expandInputs([tree.path, tree.path + "/access.log"])
        #expect(result.errors.isEmpty)
        #expect(Self.names(result.files, under: tree.path) == [
            "access.log", "access.log.1", "access.log.2.gz", "envoy.log-20240101.gz", "events.jsonl",
            "pods/a/istio-proxy/0.log", "pods/b/istio-proxy/0.log",
        ])
        let accessLog = try #require(result.files.first)
        var info = stat()
        #expect(stat(accessLog.path, &info) == 0)
        #expect(accessLog.size == Int64("access.log".utf8.count))
        #expect(accessLog.inode == UInt64(info.st_ino))
        #expect(accessLog.device == UInt64(info.st_dev))
    }

    @Test func includeAndExclude() throws {
        let tree = try Self.logTree()
        let result = expandInputs([tree.path], include: ["*.txt", "*.dump"], exclude: ["*.gz", "*/pods/a/*"])
        #expect(result.errors.isEmpty)
        #expect(Self.names(result.files, under: tree.path) == [
            "access.log", "access.log.1", "events.jsonl", "notes.txt",
            "pods/b/istio-proxy/0.log", "pods/b/istio-proxy/core.dump",
        ])
    }

    @Test func namedFilesNeedNoLogName() throws {
        let tree = try Self.logTree()
        let result = expandInputs([tree.path + "/notes.txt", tree.path + "/notes.txt"])
        #expect(Self.names(result.files, under: tree.path) == ["notes.txt"])
    }

    @Test func globsStandardInputAndMissingArguments() throws {
        let tree = try Self.logTree()
        let missing = tree.path + "/absent.log"
        let result = expandInputs([missing, tree.path + "/pods/*/istio-proxy/*.log", "-", tree.path + "/nothing*"])
        #expect(Self.names(result.files, under: tree.path) == ["-", "pods/a/istio-proxy/0.log", "pods/b/istio-proxy/0.log"])
        #expect(result.files.first?.isStandardInput == true)
        #expect(result.errors == [
            SourceError(path: missing, reason: "cannot open: No such file or directory"),
            SourceError(path: tree.path + "/nothing*", reason: "no file matches"),
        ])
    }
}
