/// Protobuf's wire format read in place: an OTLP export of a thousand records is walked without
/// decoding it into messages (which would make a `String` of every body and attribute), so
/// that its bodies are copied once, into the line buffer the counting core reads.
struct WireReader {
    enum Value {
        case varint(UInt64)
        case fixed64(UInt64)
        case fixed32(UInt32)
        case bytes(UnsafeRawBufferPointer)
    }

    struct Malformed: Error, CustomStringConvertible {
        var offset: Int
        var reason: String
        var description: String { "\(reason) at byte \(offset)" }
    }

    private let bytes: UnsafeRawBufferPointer
    private var offset = 0

    init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    /// The next field, or nil at the end.
    mutating func next() throws(Malformed) -> (field: Int, value: Value)? {
        guard offset < bytes.count else { return nil }
        let key = try varint()
        let field = Int(key >> 3)
        guard field > 0, field < 1 << 29 else { throw Malformed(offset: offset, reason: "field number \(field)") }
        switch key & 7 {
        case 0: return (field, .varint(try varint()))
        case 1: return (field, .fixed64(try fixed(8)))
        case 5: return (field, .fixed32(UInt32(truncatingIfNeeded: try fixed(4))))
        case 2:
            let length = try varint()
            guard length <= UInt64(bytes.count - offset) else { throw Malformed(offset: offset, reason: "a length past the message's end") }
            let start = offset
            offset += Int(length)
            return (field, .bytes(UnsafeRawBufferPointer(rebasing: bytes[start..<offset])))
        default:
            throw Malformed(offset: offset, reason: "wire type \(key & 7)")
        }
    }

    private mutating func varint() throws(Malformed) -> UInt64 {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while offset < bytes.count, shift < 64 {
            let byte = bytes[offset]
            offset += 1
            value |= UInt64(byte & 0x7F) << shift
            if byte < 0x80 { return value }
            shift += 7
        }
        throw Malformed(offset: offset, reason: "a varint cut short")
    }

    private mutating func fixed(_ count: Int) throws(Malformed) -> UInt64 {
        guard bytes.count - offset >= count else { throw Malformed(offset: offset, reason: "a fixed-size value cut short") }
        var value: UInt64 = 0
        for i in 0..<count { value |= UInt64(bytes[offset + i]) << (8 * UInt64(i)) }
        offset += count
        return value
    }

    /// Calls `body` with each length-delimited field numbered `field`.
    static func forEach(_ field: Int, in bytes: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) throws(Malformed) -> Void) throws(Malformed) {
        var reader = WireReader(bytes)
        while let (number, value) = try reader.next() {
            if number == field, case .bytes(let inner) = value { try body(inner) }
        }
    }
}

/// An OTLP `AnyValue`, as far as access-log fields need it.
enum WireAnyValue {
    case string(UnsafeRawBufferPointer)
    case int(Int64)
    case double(Double)
    case bool(Bool)
    /// A `KeyValueList`'s bytes.
    case keyValues(UnsafeRawBufferPointer)
    case other

    init(_ bytes: UnsafeRawBufferPointer) throws(WireReader.Malformed) {
        var reader = WireReader(bytes)
        var value = WireAnyValue.other
        // A oneof: the last one on the wire wins.
        while let (field, wire) = try reader.next() {
            switch (field, wire) {
            case (1, .bytes(let text)): value = .string(text)
            case (2, .varint(let flag)): value = .bool(flag != 0)
            case (3, .varint(let number)): value = .int(Int64(bitPattern: number))
            case (4, .fixed64(let bits)): value = .double(Double(bitPattern: bits))
            case (6, .bytes(let list)): value = .keyValues(list)
            case (5, _), (7, _): value = .other
            default: break
            }
        }
        self = value
    }
}

/// An OTLP `KeyValue`: its key's bytes and its value's.
struct WireKeyValue {
    var key = UnsafeRawBufferPointer(start: nil, count: 0)
    var value = UnsafeRawBufferPointer(start: nil, count: 0)

    init(_ bytes: UnsafeRawBufferPointer) throws(WireReader.Malformed) {
        var reader = WireReader(bytes)
        while let (field, wire) = try reader.next() {
            if case .bytes(let inner) = wire {
                if field == 1 { key = inner } else if field == 2 { value = inner }
            }
        }
    }
}
