// libFuzzer target: the JSON tokenizer (`json_format` logs, keys scanned over raw bytes).
// The first input byte picks: the standard keys, auto-detection among all formats, or keys
// set by `--json-keys` given as the first line. The rest is lines (`\n`).
// Invariants: a parsed line's field ranges, prefix and extension flags lie inside the line;
// decoded values are in range; interned ids name a stored key.
import AccessLogFormat
import FuzzSupport

let standardPlan = BuiltinFormat.json.plan
let allPlans: [LinePlan] = BuiltinFormat.allCases.map(\.plan)

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
