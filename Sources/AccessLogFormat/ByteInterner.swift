/// Maps byte strings (cluster names, authorities…) to small dense ids.
///
/// Open addressing over one byte arena: a lookup of a known key hashes and compares bytes
/// and allocates nothing; only a new key appends to the arena (amortised growth).
public final class ByteInterner {
    private struct Slot {
        var hash: UInt64
        var offset: UInt32
        var length: UInt32
        var id: UInt32
    }

    private var slots: [Slot]
    private var mask: Int
    private var arena: [UInt8] = []
    private var spans: [(offset: UInt32, length: UInt32)] = []

    /// Number of distinct keys.
    public var count: Int { spans.count }
    /// Most keys the interner takes; past it `intern` returns `overflow` and memory stays put.
    public var limit = Int(UInt32.max - 2)
    /// What `intern` returns for a new key once `limit` keys are held.
    public static let overflow = UInt32.max - 1

    public init(capacity: Int = 1024) {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        slots = Array(repeating: Slot(hash: 0, offset: 0, length: 0, id: .max), count: size)
        mask = size - 1
        arena.reserveCapacity(capacity * 32)
        spans.reserveCapacity(capacity)
    }

    /// The id of `key`, adding it when new.
    @inline(__always)
    public func intern(_ key: UnsafeRawBufferPointer) -> UInt32 {
        let hash = ByteInterner.hash(key)
        var index = Int(truncatingIfNeeded: hash) & mask
        while true {
            let slot = slots[index]
            if slot.id == .max { return spans.count < limit ? insert(key, hash: hash, at: index) : ByteInterner.overflow }
            if slot.hash == hash, Int(slot.length) == key.count, matches(key, offset: Int(slot.offset)) { return slot.id }
            index = (index &+ 1) & mask
        }
    }

    /// The id of `key` when it is known, without adding it.
    public func lookup(_ key: UnsafeRawBufferPointer) -> UInt32? {
        let hash = ByteInterner.hash(key)
        var index = Int(truncatingIfNeeded: hash) & mask
        while true {
            let slot = slots[index]
            if slot.id == .max { return nil }
            if slot.hash == hash, Int(slot.length) == key.count, matches(key, offset: Int(slot.offset)) { return slot.id }
            index = (index &+ 1) & mask
        }
    }

    public func intern(_ key: String) -> UInt32 {
        var key = key
        return key.withUTF8 { intern(UnsafeRawBufferPointer($0)) }
    }

    /// The bytes of key `id`, valid until the next insertion.
    public func withBytes<R>(of id: UInt32, _ body: (UnsafeRawBufferPointer) -> R) -> R {
        let span = spans[Int(id)]
        return arena.withUnsafeBytes { body(UnsafeRawBufferPointer(rebasing: $0[Int(span.offset)..<Int(span.offset + span.length)])) }
    }

    /// Key `id` as a string; invalid UTF-8 is repaired, since keys come from untrusted logs.
    public func string(for id: UInt32) -> String {
        withBytes(of: id) { String(decoding: $0, as: UTF8.self) }
    }

    @inline(__always)
    private func matches(_ key: UnsafeRawBufferPointer, offset: Int) -> Bool {
        arena.withUnsafeBytes { stored in
            guard let a = stored.baseAddress, let b = key.baseAddress else { return key.isEmpty }
            var i = 0
            while i &+ 8 <= key.count {
                if a.loadUnaligned(fromByteOffset: offset &+ i, as: UInt64.self) != b.loadUnaligned(fromByteOffset: i, as: UInt64.self) {
                    return false
                }
                i &+= 8
            }
            while i < key.count {
                if a.load(fromByteOffset: offset &+ i, as: UInt8.self) != b.load(fromByteOffset: i, as: UInt8.self) { return false }
                i &+= 1
            }
            return true
        }
    }

    private func insert(_ key: UnsafeRawBufferPointer, hash: UInt64, at index: Int) -> UInt32 {
        let id = UInt32(spans.count)
        let offset = UInt32(arena.count)
        arena.append(contentsOf: key)
        spans.append((offset, UInt32(key.count)))
        slots[index] = Slot(hash: hash, offset: offset, length: UInt32(key.count), id: id)
        if spans.count * 2 > slots.count { grow() }
        return id
    }

    private func grow() {
        let old = slots
        slots = Array(repeating: Slot(hash: 0, offset: 0, length: 0, id: .max), count: old.count * 2)
        mask = slots.count - 1
        for slot in old where slot.id != .max {
            var index = Int(truncatingIfNeeded: slot.hash) & mask
            while slots[index].id != .max { index = (index &+ 1) & mask }
            slots[index] = slot
        }
    }

    /// A multiply-rotate hash over 8-byte words; keys are short and the table is private.
    @inline(__always)
    static func hash(_ key: UnsafeRawBufferPointer) -> UInt64 {
        var h: UInt64 = 0x9E37_79B9_7F4A_7C15 ^ UInt64(key.count)
        guard let base = key.baseAddress else { return h }
        var i = 0
        while i &+ 8 <= key.count {
            let word = base.loadUnaligned(fromByteOffset: i, as: UInt64.self)
            h = (h ^ word) &* 0xFF51_AFD7_ED55_8CCD
            h = (h << 29) | (h >> 35)
            i &+= 8
        }
        if i < key.count {
            var tail: UInt64 = 0
            var shift: UInt64 = 0
            while i < key.count {
                tail |= UInt64(base.load(fromByteOffset: i, as: UInt8.self)) << shift
                shift &+= 8
                i &+= 1
            }
            h = (h ^ tail) &* 0xFF51_AFD7_ED55_8CCD
        }
        h ^= h >> 33
        h = h &* 0xC4CE_B9FE_1A85_EC53
        return h ^ (h >> 33)
    }
}
