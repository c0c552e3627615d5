import Foundation

/// Folders for a test's files: each new, empty and its own, under the system's temporary
/// directory, named by `prefix` so that a leftover says which test made it.
public enum Scratch {
    public static func directory(_ prefix: String) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("flagwatch-\(prefix)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}

/// A scratch folder that is removed with its contents when the value is released: for tests
/// whose files are of no use after them.
public final class TemporaryDirectory: Sendable {
    public let path: String

    public init(_ prefix: String = "test") throws {
        path = try Scratch.directory(prefix).path
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}
