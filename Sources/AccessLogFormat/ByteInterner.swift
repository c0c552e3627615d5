/// Maps byte strings (cluster names, authorities…) to small dense ids.
///
/// Open addressing over one byte arena: a lookup of a known key hashes and compares bytes
/// and allocates nothing; only a new key appends to the arena (amortised growth). Storage is
/// raw memory reached through one pointer, so lookups need no exclusivity checks.
public final class ByteInterner {
    private struct Slot {
        var hash: UInt64 = 0
        var offset: UInt32 = 0
        var length: UInt32 = 0
        var id: UInt32 = .max
    }

    private struct Storage {
        var slots: UnsafeMutablePointer<Slot>
        var mask: Int
        var arena: UnsafeMutablePointer<UInt8>
        var arenaCount = 0
        var arenaCapacity: Int
        var spans: UnsafeMutablePointer<(offset: UInt32, length: UInt32)>
        var count = 0
        var spanCapacity: Int
        var limit = Int(UInt32.max - 2)
        var maxKeyLength = Int.max
        var overflowCount = 0
    }

    private let storage = UnsafeMutablePointer<Storage>.allocate(capacity: 1)

    /// Number of distinct keys.
    public var count: Int { storage.pointee.count }
    /// Most keys the interner takes; past it `intern` returns `overflow` and memory stays put.
    public var limit: Int {
        get { storage.pointee.limit }
        set { storage.pointee.limit = newValue }
    }
    /// What `intern` returns for a new key once `limit` keys are held.
    public static let overflow = UInt32.max - 1
    /// Times `intern` returned `overflow`.
    public var overflowCount: Int { storage.pointee.overflowCount }
    /// Longest key kept whole, in bytes. A longer one is cut at a character boundary before
    /// it and marked with "…" (keys that agree up to the cut are one key), so that what the
    /// keys cost stays bounded by `limit` times this, whatever names a log holds.
    public var maxKeyLength: Int {
        get { storage.pointee.maxKeyLength }
        set { storage.pointee.maxKeyLength = newValue }
    }

    public init(capacity: Int = 1024) {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        let slots = UnsafeMutablePointer<Slot>.allocate(capacity: size)
        slots.initialize(repeating: Slot(), count: size)
        let spanCapacity = max(capacity, 16)
        storage.initialize(to: Storage(slots: slots, mask: size - 1, arena: .allocate(capacity: spanCapacity * 32),
                                       arenaCapacity: spanCapacity * 32, spans: .allocate(capacity: spanCapacity),
                                       spanCapacity: spanCapacity))
    }

    deinit {
        storage.pointee.slots.deallocate()
        storage.pointee.arena.deallocate()
        storage.pointee.spans.deallocate()
        storage.deallocate()
    }

    /// The id of `key`, adding it when new (or `overflow` when `limit` keys are held).
    @inline(__always)
    public func intern(_ key: UnsafeRawBufferPointer) -> UInt32 {
        key.count > storage.pointee.maxKeyLength ? internCut(key) : internWhole(key)
    }

    /// `key` cut to `maxKeyLength` bytes, back to where a UTF-8 sequence starts, plus "…".
    private func internCut(_ key: UnsafeRawBufferPointer) -> UInt32 {
        var end = storage.pointee.maxKeyLength
        // A continuation byte (10xxxxxx) after the cut belongs to a character the cut splits.
        var steps = 0
        while end > 0, steps < 3, key[end] & 0xC0 == 0x80 {
            end -= 1
            steps += 1
        }
        let cut = Array(UnsafeRawBufferPointer(rebasing: key[..<end])) + Array("…".utf8)
        return cut.withUnsafeBytes { internWhole($0) }
    }

    @inline(__always)
    private func internWhole(_ key: UnsafeRawBufferPointer) -> UInt32 {
        let hash = ByteInterner.hash(key)
        let slots = storage.pointee.slots, mask = storage.pointee.mask
        var index = Int(truncatingIfNeeded: hash) & mask
        while true {
            let slot = slots[index]
            if slot.id == .max {
                guard storage.pointee.count < storage.pointee.limit else {
                    storage.pointee.overflowCount &+= 1
                    return ByteInterner.overflow
                }
                return insert(key, hash: hash, at: index)
            }
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
        precondition(Int(id) < storage.pointee.count, "unknown key id")
        let span = storage.pointee.spans[Int(id)]
        return body(UnsafeRawBufferPointer(start: storage.pointee.arena + Int(span.offset), count: Int(span.length)))
    }

    /// Key `id` as a string; invalid UTF-8 is repaired, since keys come from untrusted logs.
    public func string(for id: UInt32) -> String {
        withBytes(of: id) { String(decoding: $0, as: UTF8.self) }
    }

    @inline(__always)
    private func matches(_ key: UnsafeRawBufferPointer, offset: Int) -> Bool {
        guard let b = key.baseAddress else { return key.isEmpty }
        return memoryEqual(storage.pointee.arena + offset, b, key.count)
    }

    private func insert(_ key: UnsafeRawBufferPointer, hash: UInt64, at index: Int) -> UInt32 {
        var s = storage.pointee
        let id = UInt32(s.count)
        if s.arenaCount + key.count > s.arenaCapacity {
            let capacity = max(s.arenaCapacity * 2, s.arenaCount + key.count)
            let arena = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity)
            arena.initialize(from: s.arena, count: s.arenaCount)
            s.arena.deallocate()
            (s.arena, s.arenaCapacity) = (arena, capacity)
        }
        if let source = key.baseAddress { (s.arena + s.arenaCount).initialize(from: source.assumingMemoryBound(to: UInt8.self), count: key.count) }
        if s.count == s.spanCapacity {
            let spans = UnsafeMutablePointer<(offset: UInt32, length: UInt32)>.allocate(capacity: s.spanCapacity * 2)
            spans.initialize(from: s.spans, count: s.count)
            s.spans.deallocate()
            (s.spans, s.spanCapacity) = (spans, s.spanCapacity * 2)
        }
        s.spans[s.count] = (UInt32(s.arenaCount), UInt32(key.count))
        s.slots[index] = Slot(hash: hash, offset: UInt32(s.arenaCount), length: UInt32(key.count), id: id)
        s.arenaCount += key.count
        s.count += 1
        storage.pointee = s
        if s.count * 2 > s.mask + 1 { grow() }
        return id
    }

    private func grow() {
        let old = storage.pointee.slots, oldSize = storage.pointee.mask + 1
        let size = oldSize * 2
        let slots = UnsafeMutablePointer<Slot>.allocate(capacity: size)
        slots.initialize(repeating: Slot(), count: size)
        for i in 0..<oldSize where old[i].id != .max {
            var index = Int(truncatingIfNeeded: old[i].hash) & (size - 1)
            while slots[index].id != .max { index = (index &+ 1) & (size - 1) }
            slots[index] = old[i]
        }
        old.deallocate()
        storage.pointee.slots = slots
        storage.pointee.mask = size - 1
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
            // The last eight bytes, overlapping the words before, in one load; short keys byte-wise.
            var tail: UInt64 = 0
            if key.count >= 8 {
                tail = base.loadUnaligned(fromByteOffset: key.count &- 8, as: UInt64.self)
            } else {
                var shift: UInt64 = 0
                while i < key.count {
                    tail |= UInt64(base.load(fromByteOffset: i, as: UInt8.self)) << shift
                    shift &+= 8
                    i &+= 1
                }
            }
            h = (h ^ tail) &* 0xFF51_AFD7_ED55_8CCD
        }
        h ^= h >> 33
        h = h &* 0xC4CE_B9FE_1A85_EC53
        return h ^ (h >> 33)
    }
}
