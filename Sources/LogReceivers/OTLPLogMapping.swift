import AccessLogFormat
import LiveTail
import ReceiverProtos

typealias ExportLogsRequest = Opentelemetry_Proto_Collector_Logs_V1_ExportLogsServiceRequest
typealias ExportLogsResponse = Opentelemetry_Proto_Collector_Logs_V1_ExportLogsServiceResponse

/// OTLP log records → the inbox's batches.
///
/// A record whose attributes (or key-value body) hold access-log fields under the keys
/// `--json-keys` reads (`response_flags`, `upstream_cluster`…, as Istio's `logFormat.labels`
/// and Envoy's OpenTelemetry logger with attributes send them) is counted from those; any other
/// record's string body is a line, read with the format detected for its stream. A stream is a
/// sender's node and log name: the resource's `node_name` (Envoy), else `service.name`, and the
/// `log_name` Envoy puts beside it.
struct OTLPLogMapping: Sendable {
    /// `otlp-grpc` or `otlp-http`: the first part of every input's name.
    let receiver: String
    let keys: JSONKeys

    struct Mapped {
        var batches: [PushInbox.Batch] = []
        var records = 0
        /// Records per input name.
        var recordsByInput: [String: Int] = [:]
    }

    /// Maps a decoded request (OTLP/HTTP's JSON) by its binary encoding: one mapping for both.
    func map(_ request: ExportLogsRequest) throws -> Mapped {
        let bytes: [UInt8] = try request.serializedBytes()
        return try bytes.withUnsafeBytes { try map(serialized: $0) }
    }

    /// Maps a binary `ExportLogsServiceRequest`, read in place (`WireReader`).
    func map(serialized request: UnsafeRawBufferPointer) throws(WireReader.Malformed) -> Mapped {
        var mapped = Mapped()
        try WireReader.forEach(1, in: request) { (resourceLogs) throws(WireReader.Malformed) in
            var node: String?, serviceName: String?, resourceLogName: String?
            try WireReader.forEach(1, in: resourceLogs) { (resource) throws(WireReader.Malformed) in
                try WireReader.forEach(1, in: resource) { (attribute) throws(WireReader.Malformed) in
                    let pair = try WireKeyValue(attribute)
                    guard case .string(let text) = try WireAnyValue(pair.value), text.count > 0 else { return }
                    switch String(decoding: pair.key, as: UTF8.self) {
                    case "node_name": node = String(decoding: text, as: UTF8.self)
                    case "service.name": serviceName = String(decoding: text, as: UTF8.self)
                    case "log_name": resourceLogName = String(decoding: text, as: UTF8.self)
                    default: break
                    }
                }
            }
            let sender = node ?? serviceName ?? "unknown"
            try WireReader.forEach(2, in: resourceLogs) { (scopeLogs) throws(WireReader.Malformed) in
                var scopeName = "-"
                try WireReader.forEach(1, in: scopeLogs) { (scope) throws(WireReader.Malformed) in
                    try WireReader.forEach(1, in: scope) { name in if name.count > 0 { scopeName = String(decoding: name, as: UTF8.self) } }
                }
                let input = receiver + "/" + sender + "/" + (resourceLogName ?? scopeName)
                var lines: [UInt8] = []
                lines.reserveCapacity(scopeLogs.count)
                var fields = FieldRecordWriter()
                var count = 0
                try WireReader.forEach(2, in: scopeLogs) { (record) throws(WireReader.Malformed) in
                    try add(record, lines: &lines, fields: &fields)
                    count += 1
                }
                guard count > 0 else { return }
                mapped.records += count
                mapped.recordsByInput[input, default: 0] += count
                if !lines.isEmpty { mapped.batches.append(PushInbox.Batch(input: input, records: .lines(lines))) }
                if !fields.isEmpty { mapped.batches.append(PushInbox.Batch(input: input, records: .fields(fields, format: "otlp-attributes"))) }
            }
        }
        return mapped
    }

    /// One `LogRecord`: its fields when its attributes (or a key-value body) hold a counted one,
    /// else its string body as a line.
    private func add(_ record: UnsafeRawBufferPointer, lines: inout [UInt8], fields: inout FieldRecordWriter) throws(WireReader.Malformed) {
        var time: UInt64 = 0, observed: UInt64 = 0
        var body = UnsafeRawBufferPointer(start: nil, count: 0)
        var attributesHoldFields = false
        var reader = WireReader(record)
        while let (field, value) = try reader.next() {
            switch (field, value) {
            case (1, .fixed64(let nanos)): time = nanos
            case (11, .fixed64(let nanos)): observed = nanos
            case (5, .bytes(let bytes)): body = bytes
            case (6, .bytes(let bytes)) where !attributesHoldFields: attributesHoldFields = try holdsCountedField(WireKeyValue(bytes))
            default: break
            }
        }
        let nanos = time != 0 ? time : observed
        if attributesHoldFields { return try addFields(keyValues: record, field: 6, nanos: nanos, to: &fields) }
        switch try WireAnyValue(body) {
        case .keyValues(let list) where try holdsCountedField(in: list):
            try addFields(keyValues: list, field: 1, nanos: nanos, to: &fields)
        case .string(let text):
            var count = text.count
            while count > 0, text[count - 1] == 10 || text[count - 1] == 13 { count -= 1 }
            // An empty line would be skipped as blank, and the record lost from the counts.
            if count == 0 { lines.append(45) } else { lines.append(contentsOf: UnsafeRawBufferPointer(rebasing: text[..<count])) }
            lines.append(10)
        default:
            // No access-log line and no fields: a record that lacks every field.
            fields.beginRecord()
            fields.text(.other, "")
            fields.endRecord()
        }
    }

    /// Writes the `KeyValue`s numbered `field` in `message` as one record's fields.
    private func addFields(keyValues message: UnsafeRawBufferPointer, field: Int, nanos: UInt64, to writer: inout FieldRecordWriter)
        throws(WireReader.Malformed)
    {
        writer.beginRecord()
        var sawTime = false
        try WireReader.forEach(field, in: message) { (bytes) throws(WireReader.Malformed) in
            let pair = try WireKeyValue(bytes)
            guard let kind = keys.kind(ofKey: pair.key) else { return }
            sawTime = sawTime || kind == .startTime
            switch try WireAnyValue(pair.value) {
            case .string(let text): writer.text(kind, text)
            case .int(let number) where kind != .startTime: writer.number(kind, number)
            case .double(let number) where kind != .startTime && number.isFinite && abs(number) < 1e18: writer.number(kind, Int64(number))
            case .int(let number): writer.text(kind, String(number))
            case .double(let number): writer.text(kind, String(number))
            case .bool(let flag): writer.text(kind, flag ? "true" : "false")
            case .keyValues, .other: break
            }
        }
        // Envoy's logger sets a record's time to its request's start.
        if !sawTime, nanos != 0 { writer.number(.startTime, Int64(nanos / 1000)) }
        // Counted keys whose values hold nothing usable: a record that lacks every field, not one lost.
        if writer.isRecordEmpty { writer.text(.other, "") }
        writer.endRecord()
    }

    private func holdsCountedField(_ pair: WireKeyValue) -> Bool {
        keys.kind(ofKey: pair.key).map(FieldSet.countedBy.contains) ?? false
    }

    private func holdsCountedField(in list: UnsafeRawBufferPointer) throws(WireReader.Malformed) -> Bool {
        var found = false
        try WireReader.forEach(1, in: list) { (bytes) throws(WireReader.Malformed) in
            if !found { found = holdsCountedField(try WireKeyValue(bytes)) }
        }
        return found
    }
}
