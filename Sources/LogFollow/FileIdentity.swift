#if canImport(Glibc)
import Glibc
#endif

/// Which file this is, whatever its name now: device and inode, and a hash of its first bytes
/// because a deleted file's inode is soon given to a new file.
public struct FileIdentity: Codable, Equatable, Hashable, Sendable {
    public var device: UInt64
    public var inode: UInt64
    /// FNV-1a 64 of the first `headLength` bytes.
    public var head: UInt64
    public var headLength: Int

    /// Bytes hashed once the file is that long: enough to tell two logs apart by their first
    /// lines (timestamps differ), small enough to re-read on every pass.
    public static let fullHeadLength = 1024

    public init(device: UInt64, inode: UInt64, head: UInt64, headLength: Int) {
        self.device = device
        self.inode = inode
        self.head = head
        self.headLength = headLength
    }

    /// The identity of the open file `fd`, hashing up to `fullHeadLength` bytes.
    public init?(fd: Int32) {
        var info = stat()
        guard fstat(fd, &info) == 0 else { return nil }
        device = UInt64(truncatingIfNeeded: info.st_dev)
        inode = UInt64(truncatingIfNeeded: info.st_ino)
        let length = min(Int(info.st_size), FileIdentity.fullHeadLength)
        guard let hash = FileIdentity.hashHead(fd, length: length) else { return nil }
        head = hash
        headLength = length
    }

    public func sameInode(_ info: stat) -> Bool {
        device == UInt64(truncatingIfNeeded: info.st_dev) && inode == UInt64(truncatingIfNeeded: info.st_ino)
    }

    /// Whether `fd` still starts with the bytes this identity hashed. A file truncated and
    /// written again (copytruncate) keeps its inode but not its head.
    public func headMatches(_ fd: Int32) -> Bool {
        FileIdentity.hashHead(fd, length: headLength) == head
    }

    /// Re-hashes a longer head once the file has grown past a short one, when the short one
    /// still matches.
    public mutating func extendHead(_ fd: Int32, fileSize: Int64) {
        guard headLength < FileIdentity.fullHeadLength, fileSize > Int64(headLength) else { return }
        let length = min(Int(fileSize), FileIdentity.fullHeadLength)
        if let hash = FileIdentity.hashHead(fd, length: length) {
            head = hash
            headLength = length
        }
    }

    static func hashHead(_ fd: Int32, length: Int) -> UInt64? {
        var bytes = [UInt8](repeating: 0, count: length)
        let n = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress, length, 0) }
        guard n == length else { return nil }
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in bytes {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01B3
        }
        return hash
    }
}
