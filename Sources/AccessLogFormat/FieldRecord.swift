/// Records whose fields arrive already apart — an OTLP log record's attributes, an entry of
/// Envoy's gRPC access-log service — laid out in bytes for the counting core, so that a
/// receiver maps a message once, on its own thread, and the counting thread reads plain bytes.
///
/// A batch is a run of records: each is its fields' byte count (`UInt32`) and its fields; a
/// field is its kind (`UInt8`) and tag (`UInt8`), then a text value's length (`UInt32`) and
/// bytes, or a number's 8 bytes. Numbers little endian, as the hosts this runs on are.
public struct FieldRecordWriter: Sendable {
    public private(set) var bytes: [UInt8] = []
    /// Records ended so far.
    public private(set) var count = 0
    private var recordStart = -1

    enum Tag: UInt8 {
        /// Bytes, decoded as a JSON value of the same field is.
        case text
        /// A count, a code or a start time in microseconds: taken as it is.
        case number
        /// `ResponseFlags.rawValue`.
        case flags
    }

    public init(reservingCapacity capacity: Int = 0) { bytes.reserveCapacity(capacity) }

    public var isEmpty: Bool { count == 0 }
    /// The record begun last has no field yet.
    public var isRecordEmpty: Bool { recordStart >= 0 && bytes.count == recordStart + 4 }

    public mutating func beginRecord() {
        recordStart = bytes.count
        append(UInt32(0))
    }

    /// Ends the record begun last; a record without fields is dropped.
    public mutating func endRecord() {
        precondition(recordStart >= 0, "endRecord without beginRecord")
        let length = bytes.count - recordStart - 4
        if length == 0 {
            bytes.removeLast(4)
        } else {
            withUnsafeBytes(of: UInt32(length).littleEndian) { bytes.replaceSubrange(recordStart..<recordStart + 4, with: $0) }
            count += 1
        }
        recordStart = -1
    }

    public mutating func text(_ kind: FieldKind, _ value: some Collection<UInt8>) {
        bytes.append(kind.rawValue)
        bytes.append(Tag.text.rawValue)
        append(UInt32(truncatingIfNeeded: value.count))
        bytes.append(contentsOf: value)
    }

    public mutating func text(_ kind: FieldKind, _ value: String) { text(kind, value.utf8) }

    /// A response code, a byte count, a duration in milliseconds, or (for `.startTime`) a start
    /// time in microseconds since the epoch.
    public mutating func number(_ kind: FieldKind, _ value: Int64) {
        bytes.append(kind.rawValue)
        bytes.append(Tag.number.rawValue)
        append(UInt64(bitPattern: value))
    }

    public mutating func flags(_ flags: ResponseFlags) {
        bytes.append(FieldKind.responseFlags.rawValue)
        bytes.append(Tag.flags.rawValue)
        append(UInt64(flags.rawValue))
    }

    private mutating func append<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }
}

/// Reading what `FieldRecordWriter` wrote.
public enum FieldRecords {
    /// Calls `body` with each record's fields; stops at a record that does not fit (the writer
    /// never makes one).
    @inline(__always)
    public static func forEach(in batch: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) -> Void) {
        guard let base = batch.baseAddress else { return }
        var p = 0
        while p + 4 <= batch.count {
            let length = Int(UInt32(littleEndian: base.loadUnaligned(fromByteOffset: p, as: UInt32.self)))
            guard p + 4 + length <= batch.count else { return }
            body(UnsafeRawBufferPointer(start: base + p + 4, count: length))
            p += 4 + length
        }
    }

    /// One field: where its bytes are in the record (a text's), or its number.
    struct Field {
        var kind: FieldKind
        var tag: FieldRecordWriter.Tag
        var start: Int
        var end: Int
        var number: Int64
    }

    /// The record's fields in order; nil when the record is cut short or names an unknown kind.
    @inline(__always)
    static func forEachField(in record: UnsafeRawBufferPointer, _ body: (Field) -> MalformedReason?) -> MalformedReason?? {
        guard let base = record.baseAddress else { return .some(nil) }
        var p = 0
        while p + 2 <= record.count {
            guard let kind = FieldKind(rawValue: base.load(fromByteOffset: p, as: UInt8.self)),
                  let tag = FieldRecordWriter.Tag(rawValue: base.load(fromByteOffset: p + 1, as: UInt8.self)),
                  p + 10 <= record.count || (tag == .text && p + 6 <= record.count)
            else { return nil }
            var field = Field(kind: kind, tag: tag, start: p + 2, end: p + 10, number: 0)
            if tag == .text {
                let length = Int(UInt32(littleEndian: base.loadUnaligned(fromByteOffset: p + 2, as: UInt32.self)))
                field.start = p + 6
                field.end = field.start + length
                guard field.end <= record.count else { return nil }
            } else {
                field.number = Int64(littleEndian: base.loadUnaligned(fromByteOffset: p + 2, as: Int64.self))
            }
            if let failure = body(field) { return .some(failure) }
            p = field.end
        }
        return p == record.count ? .some(nil) : nil
    }

    /// `cluster=payments code=503 flags=UF,URX …`, for samples and messages.
    public static func describe(_ record: UnsafeRawBufferPointer) -> String {
        var parts: [String] = []
        _ = forEachField(in: record) { field in
            let name = names[Int(field.kind.rawValue)]
            switch field.tag {
            case .text:
                parts.append(name + "=" + String(decoding: UnsafeRawBufferPointer(rebasing: record[field.start..<field.end]), as: UTF8.self))
            case .number where field.kind == .startTime:
                parts.append(name + "=" + String(field.number / 1_000_000))
            case .number:
                parts.append(name + "=" + String(field.number))
            case .flags:
                let flags = ResponseFlags(rawValue: UInt32(truncatingIfNeeded: field.number))
                parts.append(name + "=" + (flags.isEmpty ? "-" : flags.members.map(\.shortCode).joined(separator: ",")))
            }
            return nil
        }
        return parts.joined(separator: " ")
    }

    /// Field names as `--json-keys` spells them.
    private static let names: [String] = FieldKind.allCases.map { kind in
        JSONKeys.fieldNames.first { $0.value == kind }?.key ?? "other"
    }
}

extension LineTokenizer {
    /// Tokenizes one record of `FieldRecordWriter` fields with a JSON plan (whose slot of each
    /// kind is its raw value): text values are decoded as the same JSON value would be, numbers
    /// taken as they are. Returns nil and fills `record`, or why the record was refused.
    public func tokenize(fields: UnsafeRawBufferPointer, plan: LinePlan) -> MalformedReason? {
        precondition(plan.jsonKeys != nil, "fields are tokenized with a JSON plan")
        var record = AccessRecord()
        var present: UInt32 = 0
        let internMask = self.internMask
        let base = fields.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!
        let outcome = FieldRecords.forEachField(in: fields) { field in
            let slot = Int(field.kind.rawValue)
            ranges[slot] = (Int32(truncatingIfNeeded: field.start), Int32(truncatingIfNeeded: field.tag == .text ? field.end : field.start))
            present |= 1 << field.kind.rawValue
            switch field.tag {
            case .text:
                return decode(field.kind, slot: slot, base, start: field.start, end: field.end, plan: plan, internMask: internMask, into: &record)
            case .flags:
                record.flags = ResponseFlags(rawValue: UInt32(truncatingIfNeeded: field.number))
            case .number:
                switch field.kind {
                case .responseCode:
                    guard (0..<1000).contains(field.number) else { return .badResponseCode }
                    record.responseCode = UInt16(field.number)
                case .bytesReceived: record.bytesReceived = field.number
                case .bytesSent: record.bytesSent = field.number
                case .duration: record.durationMillis = field.number
                case .upstreamServiceTime: record.upstreamServiceMillis = field.number
                case .startTime: record.startMicros = field.number
                default: return .badNumber
                }
            }
            return nil
        }
        let failure: MalformedReason? = switch outcome {
        case .none: .unexpectedText
        case .some(let reason): reason
        }
        setLastRecord(record, line: fields, plan: plan, present: failure == nil && present & FieldSet.countedBy.rawValue == 0 ? 0 : present)
        if failure == nil, present & FieldSet.countedBy.rawValue == 0 { return .missingFields }
        return failure
    }
}
