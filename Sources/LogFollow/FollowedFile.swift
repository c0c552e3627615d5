#if canImport(Glibc)
import Glibc
#endif

/// Where reading of one file stopped: saved with the counts of the lines before `offset`.
public struct FileCheckpoint: Codable, Equatable, Sendable {
    /// The path the file was found at (it may have been renamed since: `access.log.1`).
    public var path: String
    public var identity: FileIdentity
    /// Bytes of whole lines already counted.
    public var offset: Int64

    public init(path: String, identity: FileIdentity, offset: Int64) {
        self.path = path
        self.identity = identity
        self.offset = offset
    }
}

/// One open file being followed.
public final class FollowedFile {
    /// Unique for the life of the follower; a re-created file at the same path gets a new one.
    public let id: Int
    /// The path it was found at; "-" for standard input.
    public let path: String
    public var isStandardInput: Bool { path == "-" }
    let fd: Int32
    public internal(set) var identity: FileIdentity
    /// Bytes read from the file; those after the last newline are held in `partial`.
    public internal(set) var readOffset: Int64
    /// The file's size at the last look.
    public internal(set) var size: Int64 = 0
    /// Size and modification time at the last look.
    var lastChange: [Int64] = []
    /// An unfinished last line, waiting for its newline.
    var partial: [UInt8] = []
    /// A too-long line is being skipped up to its newline.
    var skippingLongLine = false
    /// Replaced at its path (renamed, deleted): read to its end, then closed. Wall-clock
    /// seconds of when that was seen.
    var drainingSince: Double?

    /// Bytes of whole lines handed on: where a restart resumes.
    public var wholeLinesOffset: Int64 { readOffset - Int64(partial.count) }
    /// Bytes written to the file and not yet read.
    public var bytesBehind: Int64 { max(0, size - readOffset) }
    public var isDraining: Bool { drainingSince != nil }

    init(id: Int, path: String, fd: Int32, identity: FileIdentity, offset: Int64) {
        self.id = id
        self.path = path
        self.fd = fd
        self.identity = identity
        readOffset = offset
    }

    deinit { close(fd) }

    /// Opens `location` (by default `path`) read-only, to be followed as `path`; nil with
    /// errno set when it cannot be opened or is not a regular file.
    static func open(id: Int, path: String, at location: String? = nil) -> (FollowedFile, stat)? {
        let fd = Glibc.open(location ?? path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { return nil }
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG, let identity = FileIdentity(fd: fd) else {
            close(fd)
            return nil
        }
        let file = FollowedFile(id: id, path: path, fd: fd, identity: identity, offset: 0)
        file.size = Int64(info.st_size)
        return (file, info)
    }

    static func modificationTime(_ fd: Int32) -> timespec {
        var info = stat()
        return fstat(fd, &info) == 0 ? info.st_mtim : timespec()
    }

    /// Standard input, read without blocking: the follower waits for it with `poll`.
    static func standardInput(id: Int) -> FollowedFile {
        let fd = dup(STDIN_FILENO)
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        return FollowedFile(id: id, path: "-", fd: fd, identity: FileIdentity(device: 0, inode: 0, head: 0, headLength: 0), offset: 0)
    }

    /// Where a restart resumes when the reader still holds `held` bytes of whole lines
    /// uncounted (parts of a joined line).
    public func checkpoint(holding held: Int) -> FileCheckpoint {
        FileCheckpoint(path: path, identity: identity, offset: wholeLinesOffset - Int64(held))
    }
}
