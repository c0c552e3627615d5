#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// Where `--output`/`-o` and `--report` put a report. A regular file (or a new one) is written
/// to a temporary name and renamed, so a reader never sees half a report; anything else
/// (`/dev/null`, `/dev/stdout`, a FIFO) is written in place: renaming over it would replace the
/// device with a regular file, which as root breaks `/dev/null` for every program.
enum ReportFile {
    static func write(_ text: String, to path: String) throws {
        var info = stat()
        guard stat(path, &info) == 0, info.st_mode & S_IFMT != S_IFREG else {
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            return
        }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        try handle.write(contentsOf: Data(text.utf8))
    }
}
