import AlertRules
import FlagAggregation
import Foundation
import LogFollow
import RecordCounting

/// Everything `tail` needs to go on after a restart as if it had never stopped: where each file
/// was read to, the counts of exactly the lines before those offsets, the recent windows and
/// the state of every alert (so a firing alert is not sent again as new).
struct TailState: Codable {
    static let currentVersion = 1
    var version = TailState.currentVersion
    /// The primary group field (`GroupKeys`): the one whose key names are plain.
    var groupBy: String
    /// The group order inputs were grouped by; nil in states written before orders existed.
    var groupOrder: [String]?
    var files: [FileCheckpoint] = []
    var counters = LiveCounters()
    var totals = FlagTotals()
    /// Per input path, over every run.
    var inputs: [String: InputCounts] = [:]
    /// The newest second the windows have seen.
    var clockSecond: Int64?
    var windows: [String: [LiveWindows.Bucket]] = [:]
    /// Key name → rule name → state.
    var tracks: [String: [String: RuleTrack]] = [:]
}

public struct InputCounts: Codable, Equatable, Sendable {
    public var bytes: Int64 = 0
    public var records = 0
    public var malformed = 0
    /// Optional, so that states written before these were kept still load.
    public var groupBy: String?
    public var envelope: String?
    public var missingFields: MissingFields?
}

/// Reads and writes the state file: JSON, replaced atomically (temporary file, then rename),
/// so that a crash at any instant leaves the previous state or the new one, never a mix.
struct StateStore {
    let directory: String
    var path: String { directory + "/state.json" }

    init(directory: String) throws {
        self.directory = directory
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
    }

    func load() throws -> TailState? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        do {
            let state = try JSONDecoder().decode(TailState.self, from: data)
            guard state.version == TailState.currentVersion else {
                throw TailError("\(path): state version \(state.version) is not \(TailState.currentVersion); move it away or use --ignore-checkpoints")
            }
            return state
        } catch let error as TailError {
            throw error
        } catch {
            throw TailError("\(path): unreadable state (\(error)); move it away or use --ignore-checkpoints")
        }
    }

    /// Writes `state`; `durable` also flushes it to the disk before it replaces the old one.
    func save(_ state: TailState, durable: Bool) throws {
        let data = try JSONEncoder().encode(state)
        let temporary = path + ".tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw TailError.system("\(temporary): cannot create") }
        var failure: TailError?
        data.withUnsafeBytes { bytes in
            var written = 0
            while written < bytes.count {
                let n = write(fd, bytes.baseAddress! + written, bytes.count - written)
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = .system("\(temporary): cannot write")
                    return
                }
                written += n
            }
        }
        if failure == nil, durable, fsync(fd) != 0 { failure = .system("\(temporary): cannot sync") }
        close(fd)
        if failure == nil, rename(temporary, path) != 0 { failure = .system("\(path): cannot replace") }
        if let failure {
            unlink(temporary)
            throw failure
        }
    }
}

/// A problem that stops `tail` from starting, or a checkpoint that could not be written.
public struct TailError: Error, CustomStringConvertible, Sendable {
    public var description: String
    init(_ description: String) { self.description = description }

    static func system(_ what: String) -> TailError { TailError("\(what): \(String(cString: strerror(errno)))") }
}
