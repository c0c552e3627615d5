import LogSources

#if canImport(Glibc)
import Glibc
#endif

/// What the follow patterns name right now: files to follow, and directories to watch for
/// changes (those holding the files, and those where named files will appear).
struct PathMatcher {
    let options: Follower.Options

    init(options: Follower.Options) { self.options = options }

    /// Names of live logs kept when a directory is followed; rotated siblings (`x.log.1`,
    /// `x.log.gz`) are not followed, they are the past.
    static let liveLogPatterns = ["*.log", "*.jsonl"]

    struct Matches {
        var files: [(path: String, info: stat)] = []
        var directories = Set<String>()
        private var paths = Set<String>()

        mutating func add(_ path: String, _ info: stat) {
            guard paths.insert(path).inserted else { return }
            files.append((path, info))
            directories.insert(PathMatcher.directory(of: path))
            // A symlink's target changes in its own directory (/var/log/containers → /var/log/pods).
            var link = stat()
            if lstat(path, &link) == 0, link.st_mode & S_IFMT == S_IFLNK, let resolved = realpath(path, nil) {
                directories.insert(PathMatcher.directory(of: String(cString: resolved)))
                free(resolved)
            }
        }
    }

    func matches() -> Matches {
        var found = Matches()
        for pattern in options.patterns where pattern != "-" {
            var info = stat()
            if stat(pattern, &info) == 0 {
                if info.st_mode & S_IFMT == S_IFDIR {
                    walk(pattern, into: &found)
                } else if info.st_mode & S_IFMT == S_IFREG, !excluded(pattern) {
                    found.add(pattern, info)
                }
            } else if FileNames.isGlob(pattern) {
                found.directories.insert(PathMatcher.directory(of: String(pattern.prefix { !"*?[".contains($0) }) + "x"))
                for path in FileNames.glob(pattern) where stat(path, &info) == 0 && info.st_mode & S_IFMT == S_IFREG && !excluded(path) {
                    found.add(path, info)
                }
            } else {
                // Not there yet: watch where it will appear.
                found.directories.insert(PathMatcher.directory(of: pattern))
            }
        }
        return found
    }

    private func walk(_ directory: String, into found: inout Matches) {
        found.directories.insert(directory)
        for name in FileNames.list(directory) ?? [] {
            let path = FileNames.join(directory, name)
            var info = stat()
            guard stat(path, &info) == 0 else { continue }
            if info.st_mode & S_IFMT == S_IFDIR {
                walk(path, into: &found)
            } else if info.st_mode & S_IFMT == S_IFREG, !excluded(path),
                FileNames.matches(path, PathMatcher.liveLogPatterns) || FileNames.matches(path, options.include)
            {
                found.add(path, info)
            }
        }
    }

    private func excluded(_ path: String) -> Bool { FileNames.matches(path, options.exclude) }

    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }
}
