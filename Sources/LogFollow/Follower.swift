import LogSources

#if canImport(Glibc)
import Glibc
#endif

/// Receives what the follower reads, on the follower's thread.
public protocol FollowerDelegate: AnyObject {
    /// Whole lines read from `file`, each ending with "\n".
    func follower(read lines: UnsafeMutableRawBufferPointer, from file: FollowedFile)
    /// A line longer than the limit was skipped.
    func follower(skippedLongLineIn file: FollowedFile)
    /// `file` was truncated in place (copytruncate); reading restarts at its beginning.
    func follower(truncated file: FollowedFile)
    /// `file` was read to its end after it was renamed away or deleted, or standard input
    /// ended; it is closed now.
    func follower(finished file: FollowedFile)
    /// A problem that does not stop following, such as a file that cannot be opened.
    func follower(warning: String)
}

/// Follows files the way `tail -F` does, done right.
///
/// Paths, globs and directories are looked at again on every poll and whenever inotify says a
/// name changed, so files that appear later are picked up. A file is known by its identity
/// (device, inode, first bytes), not its name: when another file takes its path (rename
/// rotation, delete and re-create) the old one is read to its end before it is closed; when it
/// shrinks or its first bytes change (copytruncate) it is read again from the start. Lines are
/// handed on whole; a last line without its newline waits for it.
public final class Follower {
    public struct Options: Sendable {
        /// Paths, globs, directories (searched recursively for `*.log` and `include`), or "-".
        public var patterns: [String]
        public var include: [String] = []
        public var exclude: [String] = []
        /// Where to start a file found at startup that has no checkpoint.
        public var startAtEnd = true
        public var maxLineLength = 64 * 1024
        /// Seconds between looks at every path, whatever inotify says.
        public var pollInterval = 1.0
        /// Seconds a rotated-away file stays open after it stops growing: a writer may still
        /// finish a line in it.
        public var drainGrace = 1.0

        public init(patterns: [String]) { self.patterns = patterns }
    }

    public let options: Options
    public weak var delegate: FollowerDelegate?
    /// Open files, oldest first: a rotated-away file is read before the file that replaced it.
    public private(set) var files: [FollowedFile] = []
    /// Files that left their path: renamed away (rotation) or deleted.
    public private(set) var rotations = 0
    public private(set) var truncations = 0
    private var checkpoints: [FileCheckpoint]
    private var nextID = 0
    private var startedUp = false
    private let watcher = DirectoryWatcher()
    private var lastScan = 0.0
    /// Per path whose file was rotated away: when that file was last written. Rotated files
    /// written later are generations that may not have been read.
    private var rotatedSince: [String: timespec] = [:]
    private let buffer: UnsafeMutableRawBufferPointer
    private static let chunkSize = 1 << 20

    /// `checkpoints` say where files seen before resume.
    public init(options: Options, checkpoints: [FileCheckpoint]) {
        self.options = options
        self.checkpoints = checkpoints
        buffer = .allocate(byteCount: Follower.chunkSize + options.maxLineLength + 1, alignment: 64)
        if options.patterns.contains("-") {
            files.append(FollowedFile.standardInput(id: takeID()))
        }
    }

    deinit { buffer.deallocate() }

    private func takeID() -> Int {
        nextID += 1
        return nextID
    }

    /// Whether anything is left to follow: false once standard input, followed alone, ended.
    public var isFollowing: Bool { !(options.patterns == ["-"] && files.isEmpty) }

    /// A file holds more than the last pass read (its budget ran out): the next pass should
    /// come at once rather than after a wait, so that a backlog drains at full speed.
    public var hasBacklog: Bool { budgetRanOut && files.contains { !$0.isStandardInput && $0.bytesBehind > 0 } }
    /// Some file's read stopped at the pass budget in the last pass (a failing read does not
    /// count: it must not make the loop spin).
    private var budgetRanOut = false

    // MARK: - Waiting

    /// Sleeps until a followed file may have changed, one of `extra` is readable, or `timeout`
    /// seconds pass. Returns whether one of `extra` is readable.
    public func wait(timeout: Double, extra: [Int32]) -> Bool {
        var fds = extra.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
        if watcher.fd >= 0 { fds.append(pollfd(fd: watcher.fd, events: Int16(POLLIN), revents: 0)) }
        if let stdin = files.first(where: \.isStandardInput) { fds.append(pollfd(fd: stdin.fd, events: Int16(POLLIN), revents: 0)) }
        // Without inotify, look at files often enough that a line is read within ~100 ms.
        let wait = watcher.fd >= 0 ? timeout : min(timeout, 0.1)
        _ = poll(&fds, nfds_t(fds.count), Int32(max(0, wait * 1000)))
        return fds.prefix(extra.count).contains { $0.revents != 0 }
    }

    // MARK: - Reading

    /// Looks for new, rotated and truncated files when due, then reads what every file gained.
    /// `now` is wall-clock seconds.
    public func pass(now: Double) {
        let changes = watcher.drain()
        if !startedUp || changes.names || now - lastScan >= options.pollInterval {
            lastScan = now
            lookAtPaths(now: now)
        }
        budgetRanOut = false
        for file in files {
            read(file)
        }
        closeDrained(now: now)
    }

    private func read(_ file: FollowedFile) {
        if !file.isStandardInput {
            var info = stat()
            guard fstat(file.fd, &info) == 0 else { return }
            file.size = Int64(info.st_size)
            // Unchanged since the last look: nothing to check, and nothing to read unless a
            // pass ran out of budget. Following many quiet files costs one fstat each.
            let change = [Int64(info.st_size), Int64(info.st_mtim.tv_sec), Int64(info.st_mtim.tv_nsec)]
            if change == file.lastChange {
                if file.size == file.readOffset { return }
            } else if file.size < file.readOffset || !file.identity.headMatches(file.fd) {
                restartTruncated(file)
            } else {
                file.identity.extendHead(file.fd, fileSize: file.size)
            }
            file.lastChange = change
        }
        guard let base = buffer.baseAddress else { return }
        // Bound one pass per file so that other files, alerts and checkpoints get their turn.
        var budget = 64 * Follower.chunkSize
        while budget > 0 {
            let held = file.partial.count
            file.partial.withUnsafeBytes { base.copyMemory(from: $0.baseAddress!, byteCount: held) }
            let room = Follower.chunkSize + options.maxLineLength - held
            let n = file.isStandardInput ? Glibc.read(file.fd, base + held, room) : pread(file.fd, base + held, room, off_t(file.readOffset))
            if n == 0, file.isStandardInput {
                finish(file)
                return
            }
            guard n > 0 else { return }
            file.readOffset += Int64(n)
            budget -= n
            handOn(file, base, count: held + n)
        }
        budgetRanOut = true
    }

    /// Hands the whole lines of `buffer[0..<count]` on and keeps the unfinished rest.
    private func handOn(_ file: FollowedFile, _ base: UnsafeMutableRawPointer, count: Int) {
        var start = 0
        if file.skippingLongLine {
            guard let newline = memchr(base, 0x0A, count) else {
                file.partial = []
                return
            }
            start = base.distance(to: newline) + 1
            file.skippingLongLine = false
        }
        // The last newline is near the end of a full chunk: search backwards.
        var end = count
        while end > start, base.load(fromByteOffset: end - 1, as: UInt8.self) != 0x0A { end -= 1 }
        guard end > start else {
            keepPartial(file, base + start, count: count - start)
            return
        }
        delegate?.follower(read: UnsafeMutableRawBufferPointer(start: base + start, count: end - start), from: file)
        keepPartial(file, base + end, count: count - end)
    }

    private func keepPartial(_ file: FollowedFile, _ start: UnsafeMutableRawPointer, count: Int) {
        if count > options.maxLineLength {
            file.partial = []
            file.skippingLongLine = true
            delegate?.follower(skippedLongLineIn: file)
        } else {
            file.partial = Array(UnsafeRawBufferPointer(start: start, count: count))
        }
    }

    private func restartTruncated(_ file: FollowedFile) {
        truncations += 1
        delegate?.follower(truncated: file)
        file.readOffset = 0
        file.partial = []
        file.skippingLongLine = false
        if let identity = FileIdentity(fd: file.fd) { file.identity = identity }
    }

    /// Closes rotated-away files that stopped growing, after their last line.
    private func closeDrained(now: Double) {
        for file in files {
            guard let since = file.drainingSince, now - since >= options.drainGrace, file.bytesBehind == 0 else { continue }
            finish(file)
        }
    }

    /// Hands on a last line that never got its newline, then closes the file.
    private func finish(_ file: FollowedFile) {
        if !file.partial.isEmpty, !file.skippingLongLine, let base = buffer.baseAddress {
            let count = file.partial.count
            file.partial.withUnsafeBytes { base.copyMemory(from: $0.baseAddress!, byteCount: count) }
            base.storeBytes(of: 0x0A, toByteOffset: count, as: UInt8.self)
            file.partial = []
            delegate?.follower(read: UnsafeMutableRawBufferPointer(start: base, count: count + 1), from: file)
        }
        files.removeAll { $0 === file }
        delegate?.follower(finished: file)
    }

    // MARK: - Finding files

    private func lookAtPaths(now: Double) {
        let found = PathMatcher(options: options).matches()
        for directory in found.directories { watcher.watch(directory) }
        if !startedUp { resumeRotatedAway(found.files) }
        let current = Set(found.files.map(\.path))
        // Looked up once per path each poll: following thousands of files stays linear.
        var following = Dictionary(files.filter { !$0.isDraining }.map { ($0.path, $0) }, uniquingKeysWith: { first, _ in first })
        for (path, info) in found.files {
            if let file = following[path] {
                if file.identity.sameInode(info) { continue }
                // Another file took the path: finish the old one first.
                leave(file, now: now)
                following[path] = nil
            }
            if files.contains(where: { $0.identity.sameInode(info) && $0.identity.headMatches($0.fd) }) { continue }
            if let since = rotatedSince.removeValue(forKey: path) { openUnreadGenerations(of: path, since: since, current: info) }
            open(path, startup: !startedUp)
        }
        for file in files where !file.isStandardInput && !file.isDraining && !current.contains(file.path) {
            // Renamed or deleted, nothing in its place yet: read what is left, then let go.
            leave(file, now: now)
        }
        startedUp = true
    }

    /// `file` left its path: it is read to its end, then closed.
    private func leave(_ file: FollowedFile, now: Double) {
        file.drainingSince = now
        rotations += 1
        rotatedSince[file.path] = FollowedFile.modificationTime(file.fd)
    }

    /// Rotated files of `path` written after `since` that were never opened: generations that
    /// came and went between two looks (or while nothing followed them). Opened to be read
    /// whole, oldest first, before the file now at the path.
    private func openUnreadGenerations(of path: String, since: timespec, current: stat) {
        let directory = PathMatcher.directory(of: path)
        let name = String(path.split(separator: "/").last ?? "")
        var generations: [(location: String, modified: timespec)] = []
        for sibling in FileNames.list(directory) ?? [] where sibling != name && sibling.hasPrefix(name) && !sibling.hasSuffix(".gz") {
            let location = directory + "/" + sibling
            var info = stat()
            guard stat(location, &info) == 0, info.st_mode & S_IFMT == S_IFREG,
                !(info.st_dev == current.st_dev && info.st_ino == current.st_ino),
                !files.contains(where: { $0.identity.sameInode(info) }),
                (info.st_mtim.tv_sec, info.st_mtim.tv_nsec) >= (since.tv_sec, since.tv_nsec)
            else { continue }
            generations.append((location, info.st_mtim))
        }
        for generation in generations.sorted(by: { ($0.modified.tv_sec, $0.modified.tv_nsec) < ($1.modified.tv_sec, $1.modified.tv_nsec) }) {
            guard let (file, _) = FollowedFile.open(id: takeID(), path: path, at: generation.location) else { continue }
            file.drainingSince = 0
            files.append(file)
        }
    }

    /// Opens `path` where its checkpoint says, or (a file seen for the first time) at its end
    /// when following starts and `startAtEnd` is set, else at its start.
    private func open(_ path: String, startup: Bool) {
        guard let (file, _) = FollowedFile.open(id: takeID(), path: path) else {
            delegate?.follower(warning: "\(path): cannot open: \(String(cString: strerror(errno)))")
            return
        }
        if let saved = checkpoints.first(where: { $0.identity.device == file.identity.device && $0.identity.inode == file.identity.inode }),
            saved.identity.headMatches(file.fd), saved.offset <= file.size
        {
            file.readOffset = saved.offset
            file.identity.extendHead(file.fd, fileSize: file.size)
        } else if checkpoints.contains(where: { $0.path == path }) {
            // The file that had this path was rotated or truncated while we were away: this one
            // is its successor, and all of it is new.
            if checkpoints.contains(where: { $0.path == path && $0.identity.device == file.identity.device && $0.identity.inode == file.identity.inode }) {
                truncations += 1
            }
        } else if startup, options.startAtEnd {
            file.readOffset = file.size
        }
        checkpoints.removeAll { $0.identity.device == file.identity.device && $0.identity.inode == file.identity.inode }
        files.append(file)
    }

    /// Finds checkpointed files that were rotated away while nothing followed them (renamed to
    /// `access.log.1`, `access.log-20261125`…) and opens them, to be read from their checkpoint
    /// to their end before the files now at their paths.
    private func resumeRotatedAway(_ found: [(path: String, info: stat)]) {
        for saved in checkpoints {
            if found.contains(where: { saved.identity.sameInode($0.info) && $0.path == saved.path }) { continue }
            let directory = PathMatcher.directory(of: saved.path)
            let name = String(saved.path.split(separator: "/").last ?? "")
            for sibling in FileNames.list(directory) ?? [] where sibling != name && sibling.hasPrefix(name) {
                let path = directory + "/" + sibling
                var info = stat()
                // Followed under its old path, so that a checkpoint taken while it drains finds it again.
                guard stat(path, &info) == 0, saved.identity.sameInode(info),
                    let (file, _) = FollowedFile.open(id: takeID(), path: saved.path, at: path),
                    saved.identity.headMatches(file.fd), saved.offset <= file.size
                else { continue }
                file.readOffset = saved.offset
                file.drainingSince = 0
                files.append(file)
                rotatedSince[saved.path] = FollowedFile.modificationTime(file.fd)
                break
            }
        }
    }

    /// Where each open file got to, for a checkpoint.
    public var positions: [FollowedFile] { files.filter { !$0.isStandardInput } }
}
