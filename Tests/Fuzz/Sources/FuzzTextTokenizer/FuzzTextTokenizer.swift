// libFuzzer target: the text tokenizer under the built-in text formats, two custom formats and
// auto-detection. The first input byte picks the format; the rest is lines (`\n`).
// Invariants: a parsed line's field ranges, prefix and extension flags lie inside the line;
// decoded values are in range; interned ids name a stored key.
import AccessLogFormat
import FuzzSupport

let customFormats = [
    #"%START_TIME(%d/%b/%Y:%H:%M:%S.%3f %z)% "%REQ(:METHOD)% %REQ(:PATH)% %PROTOCOL%" %RESPONSE_CODE% %RESPONSE_FLAGS% "%UPSTREAM_CLUSTER%" "%REQ(USER-AGENT)%" "%REQ(:AUTHORITY)%" %DURATION% %ROUTE_NAME%"#,
    #"%START_TIME(%s.%3f)%|%UPSTREAM_CLUSTER_RAW%|%RESPONSE_CODE%|%RESPONSE_FLAGS_LONG%|%BYTES_SENT%|%UPSTREAM_HOST%|%REQ(HOST)%"#,
]
let builtins: [BuiltinFormat] = [.envoy, .emissary, .istio, .istio18, .istio13, .istio12, .istio11, .istio10]
let plans: [LinePlan] = builtins.map(\.plan) + customFormats.map { try! LinePlan(formatString: $0) }
let allPlans: [LinePlan] = BuiltinFormat.allCases.map(\.plan)

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
