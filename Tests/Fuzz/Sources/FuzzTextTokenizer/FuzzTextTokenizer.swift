// libFuzzer target: the text tokenizer under the built-in formats, two custom formats and
// auto-detection. The first input byte picks the format; the rest is lines (`\n`).
// Invariants: a parsed line's field ranges, prefix and extension flags lie inside the line;
// decoded values are in range; interned ids name a stored key.
import AccessLogFormat

let customFormats = [
    #"%START_TIME(%d/%b/%Y:%H:%M:%S.%3f %z)% "%REQ(:METHOD)% %REQ(:PATH)% %PROTOCOL%" %RESPONSE_CODE% %RESPONSE_FLAGS% "%UPSTREAM_CLUSTER%" "%REQ(USER-AGENT)%" "%REQ(:AUTHORITY)%" %DURATION% %ROUTE_NAME%"#,
    #"%START_TIME(%s.%3f)%|%UPSTREAM_CLUSTER_RAW%|%RESPONSE_CODE%|%RESPONSE_FLAGS_LONG%|%BYTES_SENT%|%UPSTREAM_HOST%|%REQ(HOST)%"#,
]
let builtins: [BuiltinFormat] = [.envoy, .emissary, .istio, .istio18, .istio13, .istio12, .istio11]
let plans: [LinePlan] = builtins.map(\.plan) + customFormats.map { try! LinePlan(formatString: $0) }
let allPlans: [LinePlan] = BuiltinFormat.allCases.map(\.plan)

/// Crashes when the last successfully tokenized `line` broke an invariant.
func checkRecord(_ tokenizer: LineTokenizer, _ plan: LinePlan, _ line: UnsafeRawBufferPointer) {
    let start = line.baseAddress!, end = start + line.count
    func inside(_ bytes: UnsafeRawBufferPointer, _ what: String) {
        guard let b = bytes.baseAddress else { return }
        check(bytes.count >= 0 && b >= start && b + bytes.count <= end, "\(what): range outside the line")
    }
    for kind in FieldKind.allCases {
        guard let value = tokenizer.value(of: kind) else {
            // A text line holds every field of its format; a JSON line (auto-detection) need not.
            check(!plan.hasField(kind) || plan.formatString == "json", "no value for \(kind), which the format has")
            continue
        }
        inside(value, "\(kind)")
    }
    let record = tokenizer.record
    check((0...line.count).contains(tokenizer.prefixLength), "prefix longer than the line")
    check(record.responseCode < 1000, "response code \(record.responseCode)")
    check(record.unknownFlagCount <= 8, "too many extension flags")
    for i in 0..<Int(record.unknownFlagCount) { inside(tokenizer.unknownFlag(i), "extension flag \(i)") }
    for value in [record.bytesReceived, record.bytesSent, record.durationMillis, record.upstreamServiceMillis] {
        check(value >= AccessRecord.missing, "negative count \(value)")
    }
    for kind in [FieldKind.upstreamCluster, .authority, .upstreamHost, .route] {
        let id = record.key(kind)
        guard id != AccessRecord.noKey, id != ByteInterner.overflow else { continue }
        let interner = tokenizer.interner(for: kind)!
        check(Int(id) < interner.count, "\(kind) id \(id) past \(interner.count) keys")
        _ = interner.string(for: id)
    }
}

/// Calls `body` with each line of `bytes` (without `\n`).
func forEachLine(_ bytes: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) -> Void) {
    guard let base = bytes.baseAddress else { return }
    var start = 0
    while start <= bytes.count {
        let end = LineSplitter.newline(in: base, from: start, end: bytes.count)
        body(UnsafeRawBufferPointer(rebasing: bytes[start..<end]))
        start = end + 1
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTextTokenizer(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let selector = Int(data[0]) % (plans.count + 1)
    // A copy of exactly the input, so that ASan sees any read past its end.
    let copy = UnsafeMutableRawBufferPointer.allocate(byteCount: size - 1, alignment: 1)
    defer { copy.deallocate() }
    copy.copyMemory(from: UnsafeRawBufferPointer(start: data + 1, count: size - 1))
    let text = UnsafeRawBufferPointer(copy)
    let tokenizer = LineTokenizer(internedKeys: [.upstreamCluster, .authority, .upstreamHost, .route])
    if selector < plans.count {
        let plan = plans[selector]
        forEachLine(text) { line in
            if tokenizer.tokenize(line, plan: plan) == nil { checkRecord(tokenizer, plan, line) }
        }
    } else {
        let parser = LineParser(choosingAmong: allPlans, tokenizer: tokenizer)
        parser.chooseFormat(from: text)
        forEachLine(text) { line in
            if parser.parse(line) == nil { checkRecord(tokenizer, parser.currentPlan, line) }
        }
        check(parser.recordsByPlan.count == allPlans.count, "records by plan")
    }
    return 0
}

/// `precondition` that prints its message in release builds too (libFuzzer builds are -O).
func check(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String) {
    if !condition() { fatalError(message()) }
}
