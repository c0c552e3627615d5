import AccessLogFormat
import Foundation
import Testing

/// Every real line in the corpus parses, with the fields the corpus says it has.
@Suite(.eachInstructionSet)
struct CorpusTests {
    struct Expected {
        var file: String, line: Int, variant: String
        var fields: [String: String]
    }

    static func expectedRows() throws -> [Expected] {
        let rows = try String(contentsOf: Corpus.root.appendingPathComponent("expected-fields.tsv"), encoding: .utf8)
            .split(separator: "\n").map { $0.split(separator: "\t", omittingEmptySubsequences: false).map(String.init) }
        let header = rows[0]
        return rows.dropFirst().map { row in
            Expected(file: row[0], line: Int(row[1])!, variant: row[2],
                     fields: Dictionary(uniqueKeysWithValues: zip(header, row)))
        }
    }

    static func isoMillis(_ micros: Int64) -> String {
        let date = Date(timeIntervalSince1970: Double(micros / 1000) / 1000)
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: date)
    }

    @Test func everyTextLineMatchesItsExpectedFields() throws {
        let expected = try Self.expectedRows()
        #expect(expected.count > 100)
        var checked = 0
        for (file, rows) in Dictionary(grouping: expected, by: \.file) {
            let lines = try Corpus.lines(file)
            let parser = LineParser(tokenizer: LineTokenizer(internedKeys: [.upstreamCluster, .authority, .upstreamHost]))
            let sample = lines.joined(separator: "\n")
            sample.withBytes { #expect(parser.chooseFormat(from: $0), "\(file): no format chosen") }
            for row in rows {
                let line = lines[row.line - 1]
                try line.withBytes { bytes in
                    let failure = parser.parse(bytes)
                    try #require(failure == nil, "\(file):\(row.line) malformed: \(String(describing: failure))")
                    let t = parser.tokenizer
                    let r = t.record
                    func text(_ kind: FieldKind) -> String {
                        t.value(of: kind).map { String(decoding: $0, as: UTF8.self) } ?? "-"
                    }
                    func number(_ value: Int64) -> String { value == AccessRecord.missing ? "-" : String(value) }
                    let f = row.fields
                    let place = "\(file):\(row.line)"
                    #expect(Self.isoMillis(r.startMicros) == f["start_time"], "\(place) start")
                    #expect(text(.method) == f["method"], "\(place) method")
                    #expect(text(.path) == f["path"], "\(place) path")
                    #expect(text(.protocol) == f["protocol"], "\(place) protocol")
                    #expect(String(r.responseCode) == f["response_code"], "\(place) code")
                    let flags = Set(f["response_flags"]!.split(separator: ",").map(String.init).filter { $0 != "-" })
                    let unknown = (0..<Int(r.unknownFlagCount)).map { String(decoding: t.unknownFlag($0), as: UTF8.self) }
                    #expect(Set(r.flags.members.map(\.shortCode) + unknown) == flags, "\(place) flags")
                    #expect(number(r.bytesReceived) == f["bytes_received"], "\(place) bytes received")
                    #expect(number(r.bytesSent) == f["bytes_sent"], "\(place) bytes sent")
                    #expect(number(r.durationMillis) == f["duration_ms"], "\(place) duration")
                    #expect(text(.upstreamHost) == f["upstream_host"], "\(place) upstream host")
                    #expect(text(.authority) == f["authority"], "\(place) authority")
                    if parser.currentPlan.hasField(.upstreamCluster) {
                        #expect(text(.upstreamCluster) == f["upstream_cluster"], "\(place) cluster")
                        #expect(t.clusters.string(for: r.cluster) == f["upstream_cluster"], "\(place) interned cluster")
                    } else {
                        #expect(f["upstream_cluster"] == "-", "\(place) cluster expected but format has none")
                    }
                    checked += 1
                }
            }
        }
        #expect(checked == expected.count)
    }

    @Test func expectedVariantIsTheChosenFormat() throws {
        let names = ["envoy-default": ["envoy", "emissary"], "istio-1.1": ["istio-1.1"], "istio-1.2": ["istio-1.2"],
                     "istio-1.3-1.7": ["istio-1.3"], "istio-1.8": ["istio-1.8"], "istio-1.9+": ["istio"],
                     "istio-1.23+": ["istio"], "istio-1.9+ +custom": ["istio"], "istio-1.9+ ambient-2022 +label": ["istio"]]
        for (file, rows) in Dictionary(grouping: try Self.expectedRows(), by: \.file) {
            let parser = LineParser()
            try Corpus.lines(file).joined(separator: "\n").withBytes { _ = parser.chooseFormat(from: $0) }
            let variants = Set(rows.map(\.variant))
            if variants.count == 1 {
                #expect(names[variants.first!]?.contains(parser.currentPlan.name) == true,
                        "\(file): \(variants.first!) chose \(parser.currentPlan.name)")
            }
        }
    }

    @Test(arguments: ["prefixed"])
    func prefixedLinesParse(folder: String) throws {
        for file in try Corpus.files(in: folder) {
            let lines = try Corpus.lines(file)
            let parser = LineParser()
            lines.joined(separator: "\n").withBytes { #expect(parser.chooseFormat(from: $0), "\(file)") }
            for (index, line) in lines.enumerated() {
                line.withBytes { #expect(parser.parse($0) == nil, "\(file):\(index + 1)") }
                #expect(parser.tokenizer.record.startMicros > 1_400_000_000_000_000, "\(file):\(index + 1) time")
                // Emissary's own format starts with its `ACCESS ` prefix.
                #expect(parser.tokenizer.prefixLength > 0 || parser.currentPlan.name == "emissary", "\(file):\(index + 1) prefix")
            }
        }
    }

    @Test func noiseAndPartialLinesNeverCrash() throws {
        var malformed = 0
        for file in try Corpus.files(in: "noise") + Corpus.files(in: "partial") {
            let parser = LineParser()
            for line in try Corpus.lines(file) where line.withBytes({ parser.parse($0) }) != nil { malformed += 1 }
        }
        // Every noise line and every partial line without its timestamp is malformed.
        #expect(malformed >= 9)
    }

    @Test func bulkLogHasItsDocumentedCounts() throws {
        let lines = try Corpus.lines("bulk/hbone-wedge-istio-1.29.2-gateway-access-log.log")
        let parser = LineParser()
        lines.joined(separator: "\n").withBytes { _ = parser.chooseFormat(from: $0) }
        var noFlag = 0, dc = 0, uh = 0, uc = 0
        var clusters = Set<String>()
        for line in lines {
            try line.withBytes { try #require(parser.parse($0) == nil) }
            let r = parser.tokenizer.record
            clusters.insert(parser.tokenizer.clusters.string(for: r.cluster))
            if r.flags.isEmpty && r.unknownFlagCount == 0 { noFlag += 1 }
            if r.flags.contains(.DC) { dc += 1 }
            if r.flags.contains(.UH) { uh += 1 }
            if r.flags.contains(.UC) { uc += 1 }
        }
        #expect(lines.count == 593)
        #expect([noFlag, dc, uh, uc] == [571, 20, 1, 1] as [Int])
        #expect(clusters == ["outbound|8096||jellyfin.media.svc.cluster.local"])
        #expect(parser.currentPlan.name == "istio")
    }
}

/// JSON access logs: every corpus line parses, and its fields equal what a general JSON
/// decoder (Foundation's) reads from the same line.
struct JSONCorpusTests {
    static func expectedString(_ object: [String: Any], _ keys: [String]) -> String? {
        for key in keys {
            if let value = object[key], !(value is NSNull) {
                if let number = value as? NSNumber { return number.stringValue }
                return value as? String
            }
        }
        return nil
    }

    @Test func everyJSONLineParsesWithItsFields() throws {
        var checked = 0
        for file in try Corpus.files(in: "json") {
            let parser = LineParser(tokenizer: LineTokenizer(internedKeys: [.upstreamCluster, .authority]))
            let lines = try Corpus.lines(file)
            lines.joined(separator: "\n").withBytes { #expect(parser.chooseFormat(from: $0), "\(file)") }
            #expect(parser.currentPlan.name == "json", "\(file)")
            for (index, line) in lines.enumerated() {
                let place = "\(file):\(index + 1)"
                try line.withBytes { try #require(parser.parse($0) == nil, "\(place)") }
                let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
                let t = parser.tokenizer
                let r = t.record
                func text(_ kind: FieldKind) -> String? { t.value(of: kind).map { String(decoding: $0, as: UTF8.self) } }
                #expect(String(r.responseCode) == Self.expectedString(object, ["response_code"]) ?? "0", "\(place) code")
                let flags = Self.expectedString(object, ["response_flags"]) ?? "-"
                #expect(Set(r.flags.members.map(\.shortCode)) == Set(flags.split(separator: ",").map(String.init).filter { $0 != "-" }),
                        "\(place) flags")
                if let cluster = Self.expectedString(object, ["upstream_cluster"]), cluster != "-" {
                    let stripped = cluster.hasSuffix(";") ? String(cluster.dropLast()) : cluster
                    #expect(t.clusters.string(for: r.cluster) == stripped, "\(place) cluster")
                } else {
                    #expect(r.cluster == AccessRecord.noKey || t.clusters.string(for: r.cluster) == "-", "\(place) no cluster")
                }
                if let authority = Self.expectedString(object, ["authority", ":authority"]) {
                    #expect(text(.authority) == authority, "\(place) authority")
                }
                if let time = Self.expectedString(object, ["start_time", "timestamp"]) {
                    #expect(CorpusTests.isoMillis(r.startMicros) == time, "\(place) time")
                }
                if let sent = Self.expectedString(object, ["bytes_sent", "tx_bytes"]), sent != "-" {
                    #expect(String(r.bytesSent) == sent, "\(place) bytes sent")
                }
                if let duration = Self.expectedString(object, ["duration", "duration_ms"]), duration != "-" {
                    #expect(String(r.durationMillis) == duration, "\(place) duration")
                }
                checked += 1
            }
        }
        #expect(checked >= 20)
    }

    @Test func customKeysMapAnotherSchema() throws {
        let keys = try JSONKeys(overrides: "cluster=backend,flags=envoy_flags,code=status_code")
        let parser = LineParser(plan: LinePlan(jsonKeys: keys))
        let line = #"{"status_code": 503, "envoy_flags": "UF,URX", "backend": "payments", "nested": {"a": [1, {"b": "}"}]}, "s": "q\"uote"}"#
        try line.withBytes { try #require(parser.parse($0) == nil) }
        #expect(parser.tokenizer.clusters.string(for: parser.tokenizer.record.cluster) == "payments")
        #expect(parser.tokenizer.record.flags == [ResponseFlags(.UF), ResponseFlags(.URX)])
        #expect(throws: FormatError.self) { try JSONKeys(overrides: "nonsense") }
    }

    @Test func hostileJSONIsMalformedNotFatal() throws {
        let parser = LineParser(plan: BuiltinFormat.json.plan)
        let deep = #"{"response_code": 200, "x": "# + String(repeating: "[", count: 100_000) + "}"
        for line in [deep, #"{"response_code": 200"#, #"{"response_code" 200}"#, "{", #"{"a": "unterminated}"#, #"{"msg": "no response"}"#] {
            #expect(line.withBytes { parser.parse($0) } != nil, "\(line.prefix(40))")
        }
    }
}
