#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Directory listing and name patterns, shared by `scan`'s input expansion and `tail`'s
/// path matching.
public enum FileNames {
    /// Whether `fnmatch` matches any of `patterns` against the file name or the whole path.
    public static func matches(_ path: String, _ patterns: [String]) -> Bool {
        let name = path.split(separator: "/").last.map(String.init) ?? path
        return patterns.contains { fnmatch($0, name, 0) == 0 || fnmatch($0, path, 0) == 0 }
    }

    /// Paths matching a shell glob, sorted.
    public static func glob(_ pattern: String) -> [String] {
        var matches = glob_t()
        defer { globfree(&matches) }
        guard Glibc.glob(pattern, 0, nil, &matches) == 0 else { return [] }
        return (0..<Int(matches.gl_pathc)).compactMap { matches.gl_pathv[$0].map { String(cString: $0) } }
    }

    /// Names in `directory` (without `.` and `..`), sorted; nil when it cannot be listed.
    public static func list(_ directory: String) -> [String]? {
        guard let stream = opendir(directory) else { return nil }
        defer { closedir(stream) }
        var names: [String] = []
        while let entry = readdir(stream) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
            if name != ".", name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    /// `path` joined under `directory`.
    public static func join(_ directory: String, _ name: String) -> String {
        directory.hasSuffix("/") ? directory + name : directory + "/" + name
    }

    public static func isGlob(_ pattern: String) -> Bool { pattern.contains { "*?[".contains($0) } }
}
