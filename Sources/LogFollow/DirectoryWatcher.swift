#if canImport(Glibc)
import Glibc
#endif

/// inotify on the directories that hold followed files: a hint that something changed, so a
/// line is read as soon as it is written. Never the only source of truth: the follower also
/// polls with `stat`, so a missed event, an overflowed queue or a file system without inotify
/// (NFS, some overlays) only delays reading.
final class DirectoryWatcher {
    /// What the drained events asked for.
    struct Changes {
        /// Files were written.
        var contents = false
        /// Names appeared, moved or disappeared, or events were lost: look at paths again.
        var names = false
    }

    /// -1 when inotify is not available; the follower then relies on polling alone.
    let fd: Int32
    private var watched: Set<String> = []
    private let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 * 1024, alignment: 8)

    init() {
        fd = inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC))
    }

    deinit {
        if fd >= 0 { close(fd) }
        buffer.deallocate()
    }

    /// Watches `directory` once; a directory that does not exist yet is tried again later.
    func watch(_ directory: String) {
        guard fd >= 0, !watched.contains(directory) else { return }
        let mask = UInt32(IN_MODIFY | IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_ATTRIB | IN_CLOSE_WRITE | IN_DELETE_SELF | IN_MOVE_SELF)
        if inotify_add_watch(fd, directory, mask) >= 0 { watched.insert(directory) }
    }

    /// Reads every queued event.
    func drain() -> Changes {
        var changes = Changes()
        guard fd >= 0, let base = buffer.baseAddress else { return changes }
        while true {
            let n = read(fd, base, buffer.count)
            guard n > 0 else { break }
            var offset = 0
            while offset + MemoryLayout<inotify_event>.size <= n {
                let event = (base + offset).loadUnaligned(as: inotify_event.self)
                if event.mask & UInt32(IN_MODIFY | IN_CLOSE_WRITE) != 0 { changes.contents = true }
                if event.mask & ~UInt32(IN_MODIFY | IN_CLOSE_WRITE) != 0 { changes.names = true }
                if event.mask & UInt32(IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF) != 0 {
                    // The directory itself went away: watch it again once it is back.
                    watched.removeAll()
                }
                offset += MemoryLayout<inotify_event>.size + Int(event.len)
            }
        }
        return changes
    }
}
