// What the tokenizer targets share: the invariants of a tokenized line, and line splitting.
import AccessLogFormat

/// `precondition` that prints its message in release builds too (libFuzzer builds are -O).
public func check(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String) {
    if !condition() { fatalError(message()) }
}

/// Crashes when the last successfully tokenized `line` broke an invariant: field ranges,
/// prefix and extension flags inside the line, decoded values in range, interned ids naming a
/// stored key. A text line holds every field of its format; a JSON line need not hold every key,
/// but its object starts where the prefix ends. A line in an envelope is checked as the line
/// inside it.
public func checkRecord(_ tokenizer: LineTokenizer, _ plan: LinePlan, _ envelopeOrLine: UnsafeRawBufferPointer) {
    let line = tokenizer.recordLine
    check(tokenizer.envelope != nil || (line.baseAddress == envelopeOrLine.baseAddress && line.count == envelopeOrLine.count),
          "a line outside an envelope not read in place")
    check(line.count <= envelopeOrLine.count, "the line inside an envelope is longer than the envelope")
    let start = line.baseAddress!, end = start + line.count
    func inside(_ bytes: UnsafeRawBufferPointer, _ what: String) {
        guard let b = bytes.baseAddress else { return }
        check(bytes.count >= 0 && b >= start && b + bytes.count <= end, "\(what): range outside the line")
    }
    let isJSON = plan.formatString == "json"
    for kind in FieldKind.allCases {
        guard let value = tokenizer.value(of: kind) else {
            check(!plan.hasField(kind) || isJSON, "no value for \(kind), which the format has")
            continue
        }
        check(plan.hasField(kind), "a value for \(kind), which the format lacks")
        inside(value, "\(kind)")
    }
    let record = tokenizer.record
    check((0...line.count).contains(tokenizer.prefixLength), "prefix longer than the line")
    if isJSON {
        check(tokenizer.prefixLength < line.count && line[tokenizer.prefixLength] == UInt8(ascii: "{"),
              "the object does not start where the prefix ends")
    }
    check(record.responseCode < 1000, "response code \(record.responseCode)")
    check(record.unknownFlagCount <= 8, "too many extension flags")
    for i in 0..<Int(record.unknownFlagCount) { inside(tokenizer.unknownFlag(i), "extension flag \(i)") }
    for value in [record.bytesReceived, record.bytesSent, record.durationMillis, record.upstreamServiceMillis] {
        check(value >= AccessRecord.missing, "negative count \(value)")
    }
    for kind in [FieldKind.upstreamCluster, .authority, .upstreamHost, .route] {
        let id = record.key(kind)
        guard id != AccessRecord.noKey, id != ByteInterner.overflow, let interner = tokenizer.interner(for: kind) else { continue }
        check(Int(id) < interner.count, "\(kind) id \(id) past \(interner.count) keys")
        _ = interner.string(for: id)
    }
}

/// Calls `body` with each line of `bytes` (without `\n`).
public func forEachLine(_ bytes: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) -> Void) {
    guard let base = bytes.baseAddress else { return }
    var start = 0
    while start <= bytes.count {
        let end = LineSplitter.newline(in: base, from: start, end: bytes.count)
        body(UnsafeRawBufferPointer(rebasing: bytes[start..<end]))
        start = end + 1
    }
}
