#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A file to scan. Device and inode identify it, so a file reached under two names is read once.
public struct InputFile: Hashable, Sendable {
    public let path: String
    public let size: Int64
    public let device: UInt64
    public let inode: UInt64

    /// "-": read standard input.
    public var isStandardInput: Bool { path == "-" }
}

/// Names of access logs and their rotated or compressed siblings, kept when walking directories.
let accessLogNamePatterns = ["*.log", "*.log.gz", "*.log.[0-9]*", "*.log-[0-9]*", "access.log*", "*.jsonl*"]

/// Expands command-line inputs into the files to read: files as given, directories walked
/// recursively for access-log names (and `include` patterns), glob patterns matched; `exclude`
/// drops files everywhere. Patterns use fnmatch on the file name and on the whole path.
/// Standard input ("-") comes first, then files sorted by path, each (device, inode) once.
/// An argument that does not exist is reported and the others still expand.
public func expandInputs(_ args: [String], include: [String] = [], exclude: [String] = [])
    -> (files: [InputFile], errors: [SourceError])
{
    var expansion = InputExpansion(include: include, exclude: exclude)
    for arg in args { expansion.add(arg) }
    var seen = Set<FileID>()
    let files = expansion.found
        .sorted { $0.path.utf8.lexicographicallyPrecedes($1.path.utf8) }
        .filter { seen.insert(FileID(device: $0.device, inode: $0.inode)).inserted }
    let standardInput = expansion.readsStandardInput ? [InputFile(path: "-", size: 0, device: 0, inode: 0)] : []
    return (standardInput + files, expansion.errors)
}

private struct FileID: Hashable {
    let device: UInt64
    let inode: UInt64
}

extension FileID {
    init(_ info: stat) {
        self.init(device: UInt64(truncatingIfNeeded: info.st_dev), inode: UInt64(truncatingIfNeeded: info.st_ino))
    }
}

private struct InputExpansion {
    let include: [String]
    let exclude: [String]
    var found: [InputFile] = []
    var errors: [SourceError] = []
    var readsStandardInput = false
    /// Directories on the current walk, so a symlink loop ends. A directory reached twice
    /// otherwise is walked twice: the sorted dedup then keeps the same name on every run.
    var ancestors: [FileID] = []

    init(include: [String], exclude: [String]) {
        self.include = include
        self.exclude = exclude
    }

    mutating func add(_ arg: String) {
        if arg == "-" {
            readsStandardInput = true
            return
        }
        var info = stat()
        if stat(arg, &info) == 0 {
            add(arg, info, named: true)
            return
        }
        guard FileNames.isGlob(arg) else {
            errors.append(SourceError.system(arg, "cannot open"))
            return
        }
        let matches = FileNames.glob(arg)
        if matches.isEmpty { errors.append(SourceError(path: arg, reason: "no file matches")) }
        for path in matches where stat(path, &info) == 0 {
            add(path, info, named: true)
        }
    }

    /// `named`: the user gave this path (or a glob matching it), so its name needs no pattern.
    private mutating func add(_ path: String, _ info: stat, named: Bool) {
        let id = FileID(info)
        if info.st_mode & S_IFMT == S_IFDIR {
            if !ancestors.contains(id) {
                ancestors.append(id)
                walk(path)
                ancestors.removeLast()
            }
            return
        }
        let regular = info.st_mode & S_IFMT == S_IFREG
        guard named || (regular && (FileNames.matches(path, accessLogNamePatterns) || FileNames.matches(path, include))),
            !FileNames.matches(path, exclude)
        else { return }
        found.append(InputFile(path: path, size: regular ? Int64(info.st_size) : 0, device: id.device, inode: id.inode))
    }

    private mutating func walk(_ directory: String) {
        guard let names = FileNames.list(directory) else {
            errors.append(SourceError.system(directory, "cannot list directory"))
            return
        }
        for name in names {
            // stat follows symlinks; a dangling one (a log rotated away) is skipped.
            var info = stat()
            let path = FileNames.join(directory, name)
            if stat(path, &info) == 0 { add(path, info, named: false) }
        }
    }
}
