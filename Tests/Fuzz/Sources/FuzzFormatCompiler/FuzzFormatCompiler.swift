// libFuzzer target: the format compiler (Envoy's `%OPERATOR(arg):N%` syntax) and the
// tokenizer running what it compiled. The input is a format string, then optionally a NUL
// byte and lines (`\n`) to tokenize with it.
// Invariants: an error has a printable description and a column inside the format; a
// format that compiles, re-rendered from its elements, parses to the same elements and
// compiles to the same fields; lines parsed with it keep their ranges inside the line.
import AccessLogFormat
import FuzzSupport

/// The format string `elements` were parsed from, up to operator columns and number spellings.
func render(_ elements: [FormatElement]) -> String {
    var bytes: [UInt8] = []
    for element in elements {
        switch element {
        case .literal(let literal): bytes += literal
        case .field(let op):
            bytes += Array("%\(op.name)".utf8)
            if let argument = op.argument { bytes += Array("(\(argument))".utf8) }
            if let truncation = op.truncation { bytes += Array(":\(truncation)".utf8) }
            bytes += [UInt8(ascii: "%")]
        }
    }
    return String(decoding: bytes, as: UTF8.self)
}

func withoutColumns(_ elements: [FormatElement]) -> [FormatElement] {
    elements.map { element in
        guard case .field(var op) = element else { return element }
        op.column = 0
        return .field(op)
    }
}

/// A line that fits the format, as far as simple values go.
func sampleLine(_ elements: [FormatElement]) -> [UInt8] {
    var bytes: [UInt8] = []
    for element in elements {
        switch element {
        case .literal(let literal): bytes += literal
        case .field(let op):
            let value: String
            switch op.kind {
            case .startTime: value = op.argument == nil ? "2024-01-02T03:04:05.678Z" : "1704164645.678"
            case .responseCode: value = "503"
            case .responseFlags: value = "UF,URX"
            case .bytesReceived, .bytesSent, .duration, .upstreamServiceTime: value = "12"
            case .upstreamCluster: value = "outbound|80||a.b.svc.cluster.local"
            default: value = "x"
            }
            bytes += Array(value.utf8)
        }
    }
    return bytes
}

/// Tokenizes exactly `bytes` (a copy of their own, so ASan sees a read past the end).
func tokenize(_ bytes: some Collection<UInt8>, _ tokenizer: LineTokenizer, _ plan: LinePlan) {
    let copy = UnsafeMutableRawBufferPointer.allocate(byteCount: bytes.count, alignment: 1)
    defer { copy.deallocate() }
    copy.copyBytes(from: bytes)
    let line = UnsafeRawBufferPointer(copy)
    if tokenizer.tokenize(line, plan: plan) == nil { checkRecord(tokenizer, plan, line) }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzFormatCompiler(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = UnsafeBufferPointer(start: data, count: size)
    let nul = input.firstIndex(of: 0) ?? size
    let format = String(decoding: input[..<nul], as: UTF8.self)
    let elements: [FormatElement]
    do {
        elements = try FormatStringParser.parse(format)
    } catch {
        check(error.column >= 1 && error.column <= format.unicodeScalars.count + 1, "error column \(error.column)")
        _ = error.description
        do {
            _ = try LinePlan(formatString: format)
            fatalError("LinePlan compiled a format the parser rejects")
        } catch {}
        return 0
    }
    let plan: LinePlan
    do {
        plan = try LinePlan(formatString: format)
    } catch {
        check(error.column >= 1 && error.column <= format.unicodeScalars.count + 1, "error column \(error.column)")
        _ = error.description
        return 0
    }
    // Rendering the elements back gives a format with the same elements and fields.
    let rendered = render(elements)
    let again: [FormatElement]
    do {
        again = try FormatStringParser.parse(rendered)
    } catch {
        fatalError("re-rendered format \(rendered.debugDescription) fails: \(error)")
    }
    check(withoutColumns(again) == withoutColumns(elements), "re-rendered format parses differently")
    let replan: LinePlan
    do {
        replan = try LinePlan(formatString: rendered)
    } catch {
        fatalError("re-rendered format \(rendered.debugDescription) does not compile: \(error)")
    }
    check(replan.fieldKinds == plan.fieldKinds, "re-rendered format compiles to other fields")

    let tokenizer = LineTokenizer(internedKeys: [.upstreamCluster])
    tokenize(sampleLine(elements), tokenizer, plan)
    var start = nul + 1
    while start <= size {
        let end = input[start...].firstIndex(of: UInt8(ascii: "\n")) ?? size
        tokenize(input[start..<end], tokenizer, plan)
        start = end + 1
    }
    return 0
}
