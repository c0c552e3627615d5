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

    func matches() -> (files: [(path: String, info: stat)], directories: Set<String>) {
        var files: [(path: String, info: stat)] = []
        var directories = Set<String>()
        func add(_ path: String, _ info: stat) {
            guard !excluded(path), !files.contains(where: { $0.path == path }) else { return }
            files.append((path, info))
            directories.insert(PathMatcher.directory(of: path))
            // A symlink's target changes in its own directory (/var/log/containers → /var/log/pods).
            if let resolved = realpath(path, nil) {
                directories.insert(PathMatcher.directory(of: String(cString: resolved)))
                free(resolved)
            }
        }
        for pattern in options.patterns where pattern != "-" {
            var info = stat()
            if stat(pattern, &info) == 0 {
                if info.st_mode & S_IFMT == S_IFDIR {
                    walk(pattern, into: &directories) { add($0, $1) }
                } else if info.st_mode & S_IFMT == S_IFREG {
                    add(pattern, info)
                }
            } else if FileNames.isGlob(pattern) {
                directories.insert(PathMatcher.directory(of: String(pattern.prefix { !"*?[".contains($0) }) + "x"))
                for path in FileNames.glob(pattern) where stat(path, &info) == 0 && info.st_mode & S_IFMT == S_IFREG {
                    add(path, info)
                }
            } else {
                // Not there yet: watch where it will appear.
                directories.insert(PathMatcher.directory(of: pattern))
            }
        }
        return (files, directories)
    }

    private func walk(_ directory: String, into directories: inout Set<String>, _ add: (String, stat) -> Void) {
        directories.insert(directory)
        for name in FileNames.list(directory) ?? [] {
            let path = FileNames.join(directory, name)
            var info = stat()
            guard stat(path, &info) == 0 else { continue }
            if info.st_mode & S_IFMT == S_IFDIR {
                walk(path, into: &directories, add)
            } else if info.st_mode & S_IFMT == S_IFREG,
                FileNames.matches(path, PathMatcher.liveLogPatterns) || FileNames.matches(path, options.include)
            {
                add(path, info)
            }
        }
    }

    private func excluded(_ path: String) -> Bool { FileNames.matches(path, options.exclude) }

    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }
}
