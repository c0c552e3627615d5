import AccessLogFormat
import Foundation
import Testing

/// Shapes real logs take that a first version misread (issue 19), each on lines of its kind
/// (`Tests/Corpus/written`, sources in `Tests/Corpus/SOURCES.md`).
struct RealShapeTests {
    static func parser(_ file: String, interning keys: Set<FieldKind> = [.upstreamCluster, .authority]) throws -> (LineParser, [String]) {
        let lines = try Corpus.lines(file)
        let parser = LineParser(tokenizer: LineTokenizer(internedKeys: keys))
        lines.joined(separator: "\n").withBytes { #expect(parser.chooseFormat(from: $0), "\(file): no format chosen") }
        return (parser, lines)
    }

    static func text(_ tokenizer: LineTokenizer, _ kind: FieldKind) -> String? {
        tokenizer.value(of: kind).map { String(decoding: $0, as: UTF8.self) }
    }

    @Test func istio10IsDetectedAsItselfNotAsEnvoysDefault() throws {
        let (parser, lines) = try Self.parser("written/istio-1.0.log")
        #expect(parser.currentPlan.name == "istio-1.0")
        var clusters: [String] = []
        for line in lines {
            try line.withBytes { try #require(parser.parse($0) == nil) }
            #expect(!parser.tokenizer.hadExtraFields)
            clusters.append(parser.tokenizer.clusters.string(for: parser.tokenizer.record.cluster))
        }
        #expect(clusters == ["outbound|80||edition.cnn.com", "outbound|80||httpbin.org", "outbound|443||www.example.com", "-"])
        #expect(parser.formatChanges == 0)
    }

    @Test func envoyDefaultLinesStayEnvoysDefault() throws {
        for file in ["text/21-envoy-default-misc.log", "text/48-envoy-default-misc2.log", "text/54-katacoda-envoy-default.log"] {
            let (parser, _) = try Self.parser(file)
            #expect(parser.currentPlan.name == "envoy", "\(file)")
        }
    }

    /// Once chosen, a format stays while lines match it; a line that does not changes the
    /// choice to the format that explains most of that line.
    @Test func detectionChangesOnlyWhenLinesStopMatching() throws {
        let (parser, lines) = try Self.parser("written/istio-1.0.log")
        for line in lines { line.withBytes { _ = parser.parse($0) } }
        #expect(parser.formatChanges == 0)
        let istio13 = try Corpus.lines("text/32-istio-1.log")[0]
        try istio13.withBytes { try #require(parser.parse($0) == nil) }
        #expect(parser.currentPlan.name == "istio-1.3", "istio-1.2 fits too, with one field less")
        #expect(parser.formatChanges == 1)
    }

    @Test func sparseJSONLinesAreRecordsWithAbsentFields() throws {
        let (parser, lines) = try Self.parser("written/gloo-camel-case.jsonl")
        #expect(parser.currentPlan.name == "json")
        let t = parser.tokenizer
        try lines[1].withBytes { try #require(parser.parse($0) == nil) }
        #expect(t.clusters.string(for: t.record.cluster) == "default-petstore-8080_gloo-system")
        #expect(Self.text(t, .method) == "POST")
        #expect(t.record.startMicros == .min, "untimed")
        #expect(t.record.responseCode == 0 && t.record.flags.isEmpty)
        #expect(FieldSet.countedBy.subtracting(t.presentFields) == FieldSet([.startTime, .responseCode, .responseFlags, .authority, .upstreamHost, .route]))
        try lines[2].withBytes { try #require(parser.parse($0) == nil) }
        #expect(t.record.flags == [ResponseFlags(.UF), ResponseFlags(.URX)] && t.record.responseCode == 503)
        #expect(CorpusTests.isoMillis(t.record.startMicros) == "2024-03-04T10:11:12.345Z")
        #expect(t.presentFields.isSuperset(of: FieldSet([.startTime, .responseCode, .responseFlags, .upstreamCluster, .method])))
        #expect(!t.presentFields.contains(.authority))
    }

    @Test func jsonWithNoCountedFieldIsStillNotARecord() throws {
        let parser = LineParser(plan: BuiltinFormat.json.plan)
        for line in [#"{"level":"info","msg":"listener ready","path":"/healthz"}"#, #"{"method":"GET"}"#] {
            #expect(line.withBytes { parser.parse($0) } == .missingFields, "\(line)")
        }
    }

    @Test(arguments: [("written/docker-json-file.log", Envelope.log), ("written/filebeat.jsonl", .message),
                      ("written/loki-logcli.jsonl", .line), ("written/cloudwatch-events.jsonl", .message)])
    func shipperEnvelopesAreReadByTheLineInside(file: String, envelope: Envelope) throws {
        let (parser, lines) = try Self.parser(file, interning: [.upstreamCluster])
        let t = parser.tokenizer
        for (index, line) in lines.enumerated() {
            let place = "\(file):\(index + 1)"
            try line.withBytes { try #require(parser.parse($0) == nil, "\(place)") }
            #expect(t.envelope == envelope, "\(place)")
            // Compared with what a JSON decoder finds inside the envelope.
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            let inside = try #require(object[envelope == .log ? "log" : envelope == .message ? "message" : "line"] as? String)
            let expected = inside.hasSuffix("\n") ? String(inside.dropLast()) : inside
            #expect(String(decoding: t.recordLine, as: UTF8.self) == expected, "\(place)")
            #expect(t.clusters.string(for: t.record.cluster).hasPrefix("outbound|"), "\(place)")
            #expect(t.record.responseCode == 503 || t.record.responseCode == 200, "\(place)")
        }
    }

    @Test func dockerEnvelopeKeepsAQuoteInTheUserAgent() throws {
        let (parser, lines) = try Self.parser("written/docker-json-file.log")
        #expect(parser.currentPlan.name == "istio")
        try lines[0].withBytes { try #require(parser.parse($0) == nil) }
        #expect(Self.text(parser.tokenizer, .userAgent) == #"Mozilla/5.0 (X11; Linux x86_64) "quoted" agent"#)
        #expect(parser.tokenizer.record.flags == [ResponseFlags(.UF), ResponseFlags(.URX)])
    }

    @Test func jsonStringEscapesAreUnescaped() throws {
        let parser = LineParser(plan: BuiltinFormat.envoy.plan, tokenizer: LineTokenizer(internedKeys: [.authority]))
        // \u00e9 (2 UTF-8 bytes), a surrogate pair (4), \/ and \t inside the user agent.
        let envelope = #"{"log":"[2024-05-01T12:00:00.000Z] \"GET \/a HTTP\/1.1\" 503 UH 0 19 0 - \"-\" \"caf\u00e9 \ud83d\ude00\tx\" \"id\" \"h\u00e9st\" \"-\"\r\n"}"#
        try envelope.withBytes { try #require(parser.parse($0) == nil) }
        #expect(Self.text(parser.tokenizer, .userAgent) == "café 😀\tx")
        #expect(Self.text(parser.tokenizer, .path) == "/a")
        #expect(parser.tokenizer.authorities.string(for: parser.tokenizer.record.authority) == "hést")
        // Not an envelope: no envelope key, or not a string.
        for line in [#"{"msg":"[2024-05-01T12:00:00.000Z] x"}"#, #"{"log":{"file":"a"}}"#, #"{"log":"[unterminated}"#] {
            #expect(line.withBytes { parser.parse($0) } != nil, "\(line)")
        }
    }

    @Test func aPathRightAfterAnotherOperatorIsSplitWhereItStarts() throws {
        let format = #"[%START_TIME%] "%REQ(:METHOD)% %REQ(:AUTHORITY)%%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE% %RESPONSE_FLAGS% %UPSTREAM_CLUSTER%"#
        let parser = LineParser(plan: try LinePlan(formatString: format), tokenizer: LineTokenizer(internedKeys: [.upstreamCluster]))
        let expected: [(authority: String, path: String)] = [("api.example.com", "/v1/items?id=7"), ("proxy.example.com:443", "-"),
                                                             ("-", "/healthz"), ("my-host.example-1.com", "/a-b/c")]
        for (line, want) in zip(try Corpus.lines("written/authority-path.log"), expected) {
            try line.withBytes { try #require(parser.parse($0) == nil, "\(line)") }
            #expect(Self.text(parser.tokenizer, .authority) == want.authority)
            #expect(Self.text(parser.tokenizer, .path) == want.path)
            #expect(Self.text(parser.tokenizer, .protocol)?.hasPrefix("HTTP/") == true)
        }
        // Other pairs still cannot be told apart.
        #expect(throws: FormatError.self) { try LinePlan(formatString: "%RESPONSE_CODE%%RESPONSE_FLAGS%") }
        #expect(throws: FormatError.self) { try LinePlan(formatString: "%REQ(:PATH)%%REQ(:PATH)%") }
        // At the end of the format and alone.
        let tail = try LinePlan(formatString: "%RESPONSE_CODE% %REQ(:AUTHORITY)%%REQ(:PATH)%")
        try "503 a.b/c d".withBytes { try #require(LineParser(plan: tail).parse($0) == nil) }
    }

    @Test func omitEmptyValuesLeavesAnEmptyClusterUnkeyed() throws {
        let (parser, lines) = try Self.parser("written/omit-empty-values.log")
        #expect(parser.currentPlan.name == "istio")
        try lines[0].withBytes { try #require(parser.parse($0) == nil) }
        let t = parser.tokenizer
        #expect(Self.text(t, .upstreamCluster) == "")
        #expect(t.record.cluster == AccessRecord.noKey, "the same id as a format without the field: counted under `-`")
        #expect(t.record.flags == [ResponseFlags(.NR)] && t.record.responseCode == 404)
        #expect(t.record.upstreamServiceMillis == AccessRecord.missing)
        #expect(Self.text(t, .upstreamHost) == "")
    }
}
