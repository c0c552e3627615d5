import AccessLogFormat
import LiveTail
import ReceiverProtos

typealias ExportLogsRequest = Opentelemetry_Proto_Collector_Logs_V1_ExportLogsServiceRequest
typealias ExportLogsResponse = Opentelemetry_Proto_Collector_Logs_V1_ExportLogsServiceResponse
typealias OTLPValue = Opentelemetry_Proto_Common_V1_AnyValue
typealias OTLPAttribute = Opentelemetry_Proto_Common_V1_KeyValue

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

    func map(_ request: ExportLogsRequest) -> Mapped {
        var mapped = Mapped()
        for resourceLogs in request.resourceLogs {
            let resource = resourceLogs.resource.attributes
            let node = stringAttribute(resource, "node_name") ?? stringAttribute(resource, "service.name") ?? "unknown"
            let resourceLogName = stringAttribute(resource, "log_name")
            for scopeLogs in resourceLogs.scopeLogs {
                let logName = resourceLogName ?? (scopeLogs.scope.name.isEmpty ? "-" : scopeLogs.scope.name)
                let input = receiver + "/" + node + "/" + logName
                var lines: [UInt8] = []
                var fields = FieldRecordWriter()
                for record in scopeLogs.logRecords {
                    if !addFields(record, to: &fields) { addLine(record.body, to: &lines, fields: &fields) }
                }
                let count = scopeLogs.logRecords.count
                guard count > 0 else { continue }
                mapped.records += count
                mapped.recordsByInput[input, default: 0] += count
                if !lines.isEmpty { mapped.batches.append(PushInbox.Batch(input: input, records: .lines(lines))) }
                if !fields.isEmpty { mapped.batches.append(PushInbox.Batch(input: input, records: .fields(fields, format: "otlp-attributes"))) }
            }
        }
        return mapped
    }

    /// Writes the record's fields when its attributes or key-value body hold a counted one.
    private func addFields(_ record: Opentelemetry_Proto_Logs_V1_LogRecord, to writer: inout FieldRecordWriter) -> Bool {
        var source = record.attributes
        if !holdsCountedField(source) {
            guard case .kvlistValue(let list)? = record.body.value, holdsCountedField(list.values) else { return false }
            source = list.values
        }
        writer.beginRecord()
        var sawTime = false
        for attribute in source {
            guard let kind = keys.kind(ofKey: attribute.key) else { continue }
            sawTime = sawTime || kind == .startTime
            switch attribute.value.value {
            case .stringValue(let text)?: writer.text(kind, text)
            case .intValue(let number)? where kind != .startTime: writer.number(kind, number)
            case .doubleValue(let number)? where kind != .startTime && number.isFinite && abs(number) < 1e18: writer.number(kind, Int64(number))
            case .intValue(let number)?: writer.text(kind, String(number))
            case .doubleValue(let number)?: writer.text(kind, String(number))
            case .boolValue(let flag)?: writer.text(kind, flag ? "true" : "false")
            default: continue
            }
        }
        // Envoy's logger sets a record's time to its request's start.
        let nanos = record.timeUnixNano != 0 ? record.timeUnixNano : record.observedTimeUnixNano
        if !sawTime, nanos != 0 { writer.number(.startTime, Int64(nanos / 1000)) }
        writer.endRecord()
        return true
    }

    private func holdsCountedField(_ attributes: [OTLPAttribute]) -> Bool {
        attributes.contains { attribute in keys.kind(ofKey: attribute.key).map(FieldSet.countedBy.contains) ?? false }
    }

    /// The body as one line; a body that is no string holds no access-log line, and is
    /// counted as a record that lacks every field.
    private func addLine(_ body: OTLPValue, to lines: inout [UInt8], fields: inout FieldRecordWriter) {
        guard case .stringValue(let text)? = body.value else {
            fields.beginRecord()
            fields.text(.other, "")
            fields.endRecord()
            return
        }
        var utf8 = text.utf8[...]
        while let last = utf8.last, last == 10 || last == 13 { utf8 = utf8.dropLast() }
        // An empty line would be skipped as blank, and the record lost from the counts.
        if utf8.isEmpty { utf8 = "-".utf8[...] }
        lines.append(contentsOf: utf8)
        lines.append(10)
    }

    private func stringAttribute(_ attributes: [OTLPAttribute], _ key: String) -> String? {
        guard let attribute = attributes.first(where: { $0.key == key }), case .stringValue(let value)? = attribute.value.value,
              !value.isEmpty
        else { return nil }
        return value
    }
}
