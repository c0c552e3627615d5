import AccessLogFormat
import Testing

/// Which reason a broken line gets, and fields found wherever they fall against the
/// tokenizer's 64-byte index words.
@Suite(.eachInstructionSet)
struct LineShapeTests {
    static let istio = BuiltinFormat.istio.plan

    static func istioLine(code: String = "503", bytesSent: String = "91", cluster: String = "outbound|80||a.b.svc.cluster.local")
        -> String
    {
        #"[2024-01-27T14:15:24.881Z] "GET /x HTTP/1.1" "# + code + #" UF,URX via_upstream - "-" 0 "# + bytesSent
            + #" 1 - "-" "curl/8.0" "id-1" "a.b:80" "10.0.0.1:80" "# + cluster + " 10.0.0.2:1 10.0.0.3:80 10.0.0.4:2 - default"
    }

    static func tokenize(_ line: String, plan: LinePlan = istio) -> (MalformedReason?, LineTokenizer) {
        let tokenizer = LineTokenizer(internedKeys: [.upstreamCluster])
        var bytes = line
        let reason = bytes.withUTF8 { tokenizer.tokenize(UnsafeRawBufferPointer($0), plan: plan) }
        return (reason, tokenizer)
    }

    @Test func aWellFormedLineParses() {
        let (reason, tokenizer) = Self.tokenize(Self.istioLine())
        #expect(reason == nil)
        #expect(tokenizer.record.responseCode == 503)
        #expect(tokenizer.record.flags == [ResponseFlags(.UF), ResponseFlags(.URX)])
        #expect(tokenizer.record.bytesSent == 91)
    }

    @Test func valuesAreCheckedLeftToRightOnceTheShapeHolds() {
        #expect(Self.tokenize(Self.istioLine(code: "5x3")).0 == .badResponseCode)
        #expect(Self.tokenize(Self.istioLine(bytesSent: "9y")).0 == .badNumber)
        #expect(Self.tokenize(Self.istioLine(code: "5x3", bytesSent: "9y")).0 == .badResponseCode)
    }

    @Test func aLineWithoutTheFormatsShapeIsMissingFieldsWhateverItsValues() {
        let line = Self.istioLine(code: "5x3")
        let cut = String(line[..<line.range(of: " 10.0.0.2:1")!.lowerBound])
        #expect(Self.tokenize(cut).0 == .missingFields)
        #expect(Self.tokenize(#"[2024-01-27T14:15:24.881Z] "GET / HTTP/1.1" 200 - x - "unterminated"#).0 != nil)
    }

    /// Spaces, quotes and the two-byte literals `" ` and ` "` at every offset against the
    /// index's 64-bit words, including lines shorter than one word and ones that end on a word.
    @Test func fieldsAreFoundAtEveryOffsetAgainstTheIndexWords() throws {
        let plan = try LinePlan(formatString: #"%REQ(:AUTHORITY)% "%REQ(USER-AGENT)%" %RESPONSE_CODE% %UPSTREAM_CLUSTER%"#)
        for padding in 0..<140 {
            let authority = String(repeating: "a", count: padding + 1)
            let agent = "agent " + String(repeating: "u", count: padding % 67)
            let cluster = "c" + String(repeating: "k", count: (padding * 7) % 70)
            let line = authority + #" ""# + agent + #"" 204 "# + cluster
            let (reason, tokenizer) = Self.tokenize(line, plan: plan)
            try #require(reason == nil, "padding \(padding): \(String(describing: reason))")
            #expect(tokenizer.value(of: .authority).map { String(decoding: $0, as: UTF8.self) } == authority)
            #expect(tokenizer.value(of: .userAgent).map { String(decoding: $0, as: UTF8.self) } == agent)
            #expect(tokenizer.record.responseCode == 204)
            #expect(tokenizer.value(of: .upstreamCluster).map { String(decoding: $0, as: UTF8.self) } == cluster)
        }
    }
}
