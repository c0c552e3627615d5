// libFuzzer target: the JSON tokenizer (`json_format` logs, keys scanned over raw bytes).
// The first input byte picks: the standard keys, auto-detection among all formats, or keys
// set by `--json-keys` given as the first line. The rest is lines (`\n`).
// Invariants: a parsed line's field ranges, prefix and extension flags lie inside the line;
// decoded values are in range; interned ids name a stored key.
import AccessLogFormat

let standardPlan = BuiltinFormat.json.plan
let allPlans: [LinePlan] = BuiltinFormat.allCases.map(\.plan)

/// Crashes when the last successfully tokenized `line` broke an invariant.
func checkRecord(_ tokenizer: LineTokenizer, _ plan: LinePlan, _ line: UnsafeRawBufferPointer) {
    let start = line.baseAddress!, end = start + line.count
    func inside(_ bytes: UnsafeRawBufferPointer, _ what: String) {
        guard let b = bytes.baseAddress else { return }
        check(bytes.count >= 0 && b >= start && b + bytes.count <= end, "\(what): range outside the line")
    }
    for kind in FieldKind.allCases {
        guard let value = tokenizer.value(of: kind) else { continue }
        check(plan.hasField(kind), "a value for \(kind), which the format lacks")
        inside(value, "\(kind)")
    }
    let record = tokenizer.record
    check((0..<line.count).contains(tokenizer.prefixLength), "prefix longer than the line")
    if plan.formatString == "json" {
        check(line[tokenizer.prefixLength] == UInt8(ascii: "{"), "the object does not start where the prefix ends")
    }
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
public func fuzzJSONTokenizer(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 1 else { return 0 }
    let mode = data[0] % 3
    let copy = UnsafeMutableRawBufferPointer.allocate(byteCount: size - 1, alignment: 1)
    defer { copy.deallocate() }
    copy.copyMemory(from: UnsafeRawBufferPointer(start: data + 1, count: size - 1))
    var text = UnsafeRawBufferPointer(copy)
    let tokenizer = LineTokenizer(internedKeys: [.upstreamCluster, .authority, .upstreamHost, .route])
    switch mode {
    case 0, 2:
        var plan = standardPlan
        if mode == 2 {
            // `--json-keys cluster=KEY,...` on the first line.
            let newline = LineSplitter.newline(in: text.baseAddress!, from: 0, end: text.count)
            let overrides = String(decoding: text[..<newline], as: UTF8.self)
            text = UnsafeRawBufferPointer(rebasing: text[min(newline + 1, text.count)...])
            do {
                plan = LinePlan(jsonKeys: try JSONKeys(overrides: overrides))
            } catch {
                _ = error.description
                return 0
            }
        }
        forEachLine(text) { line in
            if tokenizer.tokenize(line, plan: plan) == nil { checkRecord(tokenizer, plan, line) }
        }
    default:
        let parser = LineParser(choosingAmong: allPlans, tokenizer: tokenizer)
        parser.chooseFormat(from: text)
        forEachLine(text) { line in
            if parser.parse(line) == nil { checkRecord(tokenizer, parser.currentPlan, line) }
        }
    }
    return 0
}

/// `precondition` that prints its message in release builds too (libFuzzer builds are -O).
func check(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String) {
    if !condition() { fatalError(message()) }
}
