#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A stream of input bytes. The consumer owns the buffer, so sources do not allocate per read.
public protocol ByteSource: AnyObject {
    /// The name used in error messages and reports.
    var path: String { get }
    /// Fills `buffer` from its start and returns the byte count written; 0 means end of input.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int
}

/// An input failure. `offset` is the byte of the compressed input where decoding broke, so a
/// damaged archive can be inspected (or cut) at that point.
public struct SourceError: Error, CustomStringConvertible, Equatable, Sendable {
    public let path: String
    public let reason: String
    public let offset: Int64?

    public init(path: String, reason: String, offset: Int64? = nil) {
        self.path = path
        self.reason = reason
        self.offset = offset
    }

    public var description: String {
        guard let offset else { return "\(path): \(reason)" }
        return "\(path): \(reason) at byte \(offset)"
    }

    /// The error of the failed system call, read from `errno`.
    static func system(_ path: String, _ action: String) -> SourceError {
        SourceError(path: path, reason: "\(action): \(String(cString: strerror(errno)))")
    }
}

/// Repeats a system call interrupted by a signal.
func retryingInterrupted(_ call: () -> Int) -> Int {
    var result: Int
    repeat { result = call() } while result < 0 && errno == EINTR
    return result
}

/// `read(2)` outside any type, where `read` would name the `ByteSource` method.
private func systemRead(_ descriptor: Int32, into buffer: UnsafeMutableRawBufferPointer) -> Int {
    retryingInterrupted { read(descriptor, buffer.baseAddress, buffer.count) }
}

/// Sequential reader of a file or standard input. Bytes taken by `peek` are replayed first,
/// so the gzip magic can be sniffed on a pipe, which cannot seek back.
public final class FileSource: ByteSource {
    public let path: String
    private let descriptor: Int32
    private let ownsDescriptor: Bool
    private var pushback: [UInt8] = []

    public convenience init(path: String) throws {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw SourceError.system(path, "cannot open") }
        self.init(descriptor: descriptor, path: path, ownsDescriptor: true)
    }

    init(descriptor: Int32, path: String, ownsDescriptor: Bool) {
        self.descriptor = descriptor
        self.path = path
        self.ownsDescriptor = ownsDescriptor
    }

    /// Standard input; it stays open when the source goes away.
    public static func standardInput() -> FileSource {
        FileSource(descriptor: STDIN_FILENO, path: "<stdin>", ownsDescriptor: false)
    }

    deinit {
        if ownsDescriptor { close(descriptor) }
    }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        guard pushback.isEmpty else {
            let count = min(pushback.count, buffer.count)
            buffer.copyBytes(from: pushback[..<count])
            pushback.removeFirst(count)
            return count
        }
        return try readDescriptor(into: buffer)
    }

    /// Up to `count` leading bytes, fewer at end of input; they are not consumed.
    func peek(_ count: Int) throws -> [UInt8] {
        var chunk = [UInt8](repeating: 0, count: count)
        while pushback.count < count {
            let got = try chunk.withUnsafeMutableBytes { bytes in
                try readDescriptor(into: UnsafeMutableRawBufferPointer(rebasing: bytes[..<(count - pushback.count)]))
            }
            if got == 0 { break }
            pushback += chunk[..<got]
        }
        return pushback
    }

    private func readDescriptor(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let count = systemRead(descriptor, into: buffer)
        guard count >= 0 else { throw SourceError.system(path, "read failed") }
        return count
    }
}

/// Reads only bytes [start, end) of a file with `pread`, so threads can scan parts of one file.
public final class FileRangeSource: ByteSource {
    public let path: String
    private let descriptor: Int32
    private var position: Int64
    private let end: Int64

    public init(path: String, range: Range<Int64>) throws {
        descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw SourceError.system(path, "cannot open") }
        self.path = path
        position = range.lowerBound
        end = range.upperBound
    }

    deinit { close(descriptor) }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let wanted = Int(min(Int64(buffer.count), end - position))
        guard wanted > 0 else { return 0 }
        let count = retryingInterrupted { pread(descriptor, buffer.baseAddress, wanted, off_t(position)) }
        guard count >= 0 else { throw SourceError.system(path, "read failed") }
        position += Int64(count)
        return count
    }
}

/// Opens `path` ("-" is standard input) and inflates it when it starts with the gzip magic,
/// whatever the file is called.
public func openInput(_ path: String) throws -> ByteSource {
    try decodingGzipIfPresent(path == "-" ? FileSource.standardInput() : FileSource(path: path))
}

func decodingGzipIfPresent(_ file: FileSource) throws -> ByteSource {
    try file.peek(2) == [0x1f, 0x8b] ? GzipSource(compressed: file) : file
}

/// Part of a file seen through `mmap`, one window at a time: a scan reads the page cache in
/// place instead of copying it, and its memory stays bounded by the window.
public final class MappedFileRegion {
    public let path: String
    public let range: Range<Int64>
    private let descriptor: Int32
    private var mapping: (address: UnsafeMutableRawPointer, length: Int)?
    private static let pageSize = Int64(sysconf(Int32(_SC_PAGESIZE)))

    public init(path: String, range: Range<Int64>) throws {
        descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw SourceError.system(path, "cannot open") }
        self.path = path
        self.range = range
    }

    deinit {
        unmap()
        close(descriptor)
    }

    /// The bytes from `offset` to at most `maxLength` further, clipped to the region; the
    /// previous window is unmapped. Empty at the region's end.
    public func window(from offset: Int64, maxLength: Int) throws -> UnsafeRawBufferPointer {
        unmap()
        // Touching a page past the end of a file that shrank since the scan began (copytruncate)
        // would be SIGBUS: map only what the file holds now.
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { throw SourceError.system(path, "cannot stat") }
        guard Int64(info.st_size) > offset else {
            throw SourceError(path: path, reason: "file shrank while being read (truncated?)", offset: offset)
        }
        let length = Int(min(Int64(maxLength), range.upperBound - offset, Int64(info.st_size) - offset))
        guard length > 0 else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        let aligned = offset - offset % MappedFileRegion.pageSize
        let mappedLength = length + Int(offset - aligned)
        guard let address = mmap(nil, mappedLength, PROT_READ, MAP_PRIVATE, descriptor, off_t(aligned)), address != MAP_FAILED else {
            throw SourceError(path: path, reason: "cannot map: \(String(cString: strerror(errno)))", offset: offset)
        }
        _ = madvise(address, mappedLength, MADV_WILLNEED)
        mapping = (address, mappedLength)
        return UnsafeRawBufferPointer(start: address + Int(offset - aligned), count: length)
    }

    private func unmap() {
        if let mapping { munmap(mapping.address, mapping.length) }
        mapping = nil
    }
}
