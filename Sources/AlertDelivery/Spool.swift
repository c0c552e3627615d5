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

    /// Written to a temporary name and renamed, so a crash leaves the old state or the new one,
    /// never half a file.
    func write(_ notification: AlertNotification) throws {
        let path = self.path(notification)
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        try encoder.encode(notification).write(to: URL(fileURLWithPath: path + ".tmp"))
        guard rename(path + ".tmp", path) == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
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
}
