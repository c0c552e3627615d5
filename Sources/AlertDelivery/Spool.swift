import Foundation

/// One endpoint's undelivered notifications on disk, a JSON file each: written before the first
/// attempt, removed once the notification is delivered, refused or dropped. What is left when
/// flagwatch stops or dies is sent after it starts again.
struct Spool: Sendable {
    let directory: String

    init(directory: String) throws {
        self.directory = directory
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    /// Written to a temporary name, flushed to the disk, renamed, and the rename flushed too: a
    /// crash, of flagwatch or of the machine, leaves the old state or the new one, never half a
    /// file, and once this returns the notification survives a power cut.
    func write(_ notification: AlertNotification) throws {
        let path = self.path(notification)
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        try Spool.writeDurably(Array(try encoder.encode(notification)), to: path + ".tmp")
        guard rename(path + ".tmp", path) == 0 else { throw Spool.failure() }
        try Spool.sync(directory)
    }

    /// Moves every notification file into `other`'s directory (on the same file system), and
    /// removes this one's.
    func move(to other: Spool) throws {
        for name in try FileManager.default.contentsOfDirectory(atPath: directory) where name.hasSuffix(".json") {
            guard rename(directory + "/" + name, other.directory + "/" + name) == 0 else { throw Spool.failure() }
        }
        try Spool.sync(other.directory)
        rmdir(directory)
    }

    func remove(_ notification: AlertNotification) {
        unlink(path(notification))
    }

    /// Every spooled notification, oldest first, and the files that could not be read (renamed
    /// to `*.unreadable` so they are looked at rather than retried forever). Leftover temporary
    /// files of an interrupted write are removed.
    func load() -> (notifications: [AlertNotification], unreadable: [String]) {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        var notifications: [AlertNotification] = []
        var unreadable: [String] = []
        for name in names {
            let path = directory + "/" + name
            if name.hasSuffix(".tmp") {
                unlink(path)
            } else if name.hasSuffix(".json") {
                if let data = FileManager.default.contents(atPath: path), let notification = try? JSONDecoder().decode(AlertNotification.self, from: data) {
                    notifications.append(notification)
                } else {
                    rename(path, path + ".unreadable")
                    unreadable.append(path)
                }
            }
        }
        return (notifications.sorted { $0.sequence < $1.sequence }, unreadable)
    }

    private func path(_ notification: AlertNotification) -> String {
        let digits = String(notification.sequence)
        return directory + "/" + String(repeating: "0", count: max(0, 20 - digits.count)) + digits + ".json"
    }

    private static func writeDurably(_ bytes: [UInt8], to path: String) throws {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw failure() }
        defer { close(descriptor) }
        var written = 0
        while written < bytes.count {
            // Safe: `written < bytes.count`, so the pointer and the length stay inside the array.
            let count = bytes.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress! + written, bytes.count - written) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { throw failure() }
            written += count
        }
        guard fsync(descriptor) == 0 else { throw failure() }
    }

    /// Makes a rename or an unlink in `directory` durable.
    private static func sync(_ directory: String) throws {
        let descriptor = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { throw failure() }
        defer { close(descriptor) }
        guard fsync(descriptor) == 0 else { throw failure() }
    }

    private static func failure() -> POSIXError {
        POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)
    }
}
