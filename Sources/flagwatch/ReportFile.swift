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
        let descriptor = open(path, O_WRONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        defer { close(descriptor) }
        let bytes = Array(text.utf8)
        var written = 0
        while written < bytes.count {
            // Safe: `written < bytes.count`, so the pointer and the length stay inside the array.
            let count = bytes.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress! + written, bytes.count - written) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
            written += count
        }
    }
}
