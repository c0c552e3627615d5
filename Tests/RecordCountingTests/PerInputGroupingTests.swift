import AccessLogFormat
import RecordCounting
import Testing

/// Each input is grouped by the first field of the group order its format has, keys of
/// different fields never merge, and what records lacked is counted per input.
struct PerInputGroupingTests {
    /// Tests/Corpus/text/12-simple-app-istio-ingress.log: three NR lines (cluster `-`), one UH.
    static let istio = [
        #"[2022-01-20T22:36:12.754Z] "GET / HTTP/1.1" 404 NR route_not_found - "-" 0 0 0 - "192.168.0.6" "curl/7.68.0" "4fc41716-078a-4db5-9d7c-6cd80251c8a9" "138.68.127.3" "-" - - 10.244.0.233:80 192.168.0.6:20020 - -"#,
        #"[2022-01-20T22:37:03.366Z] "GET / HTTP/1.1" 404 NR route_not_found - "-" 0 0 0 - "192.168.0.5" "curl/7.68.0" "839a54e7-b789-46c1-b45f-4cde36e0359c" "138.68.127.3" "-" - - 10.244.0.233:80 192.168.0.5:48618 - -"#,
    ]
    /// Tests/Corpus/text/21-envoy-default-misc.log, the last line also with authority `-`.
    static let envoy = [
        #"[2024-02-06T15:18:17.437Z] "GET / HTTP/1.1" 503 UF 0 91 1998 - "103.67.2.26" "curl/8.4.0" "d70640ec-2feb-46f8-9f63-24c44142c42e" "example.projectcontour.io" "10.244.8.27:8080""#,
        #"[2022-12-14T03:18:04.611Z] "GET /service/1 HTTP/1.1" 200 - 0 3329 20 18 "-" "curl/7.64.1" "7b859eea-0770-4dce-b32d-2f75a4232934" "localhost:8000" "192.168.80.3:8011""#,
        #"[2016-04-15T20:17:00.310Z] "POST /api/v1/locations HTTP/2" 204 - 154 0 226 100 "10.0.35.28" "nsq2http" "cc21d9b0-cf5c-432b-8c7e-98aeb7988cd2" "-" "tcp://10.0.2.1:80""#,
    ]
    /// Tests/Corpus/written/gloo-camel-case.jsonl: Gloo's camelCase keys, some left out.
    static let gloo = [
        #"{"httpMethod":"GET","path":"/api/pets","upstreamCluster":"default-petstore-8080_gloo-system","responseCode":200,"protocol":"HTTP/1.1"}"#,
        #"{"httpMethod":"POST","path":"/api/pets","upstreamCluster":"default-petstore-8080_gloo-system"}"#,
        #"{"httpMethod":"GET","upstreamCluster":"default-petstore-8080_gloo-system","responseFlags":"UF,URX","responseCode":503,"startTime":"2024-03-04T10:11:12.345Z"}"#,
    ]

    /// Counts each input's lines in turn, as a driver does (prepare, then every line).
    static func count(_ inputs: [(path: String, lines: [String])], _ configuration: ReadingConfiguration = ReadingConfiguration())
        -> (RecordCounter, [InputSummary])
    {
        let counter = RecordCounter(configuration: configuration)
        let summaries = inputs.map { path, lines in
            var input = counter.makeInput(path: path)
            var text = lines.joined(separator: "\n") + "\n"
            text.withUTF8 { counter.prepare(&input, head: UnsafeRawBufferPointer($0), atEnd: true) }
            for var line in lines { line.withUTF8 { _ = counter.count(UnsafeRawBufferPointer($0), &input) } }
            counter.close(input)
            return input.summary
        }
        return (counter, summaries)
    }

    @Test func eachInputIsGroupedByTheFirstFieldItsFormatHas() {
        let (counter, inputs) = Self.count([("istio.log", Self.istio), ("envoy.log", Self.envoy)])
        #expect(inputs.map(\.groupBy) == [.upstreamCluster, .authority])
        #expect(counter.keys.primary == .upstreamCluster, "the first input's field keeps plain names")
        let keys = counter.totals().keys
        #expect(keys["-"]?.requests == 2, "Istio's NR lines alone: the Envoy record without authority is not among them")
        #expect(keys["authority:-"]?.requests == 1)
        #expect(keys["authority:example.projectcontour.io"]?.flags == ["UF": 1])
        #expect(Set(keys.keys) == ["-", "authority:-", "authority:example.projectcontour.io", "authority:localhost:8000"])
        #expect(inputs.allSatisfy { $0.missingFields.isEmpty })
    }

    @Test func thePrimaryFieldIsTheFirstInputsWhateverTheOrder() {
        let (counter, _) = Self.count([("envoy.log", Self.envoy), ("istio.log", Self.istio)])
        #expect(counter.keys.primary == .authority)
        #expect(Set(counter.totals().keys.keys) == ["cluster:-", "-", "example.projectcontour.io", "localhost:8000"])
    }

    @Test func aFormatWithoutAnyFieldOfTheOrderCountsItsRecordsAsMissingIt() {
        var configuration = ReadingConfiguration()
        configuration.groupBy = [.upstreamCluster]
        let (counter, inputs) = Self.count([("envoy.log", Self.envoy)], configuration)
        #expect(inputs[0].groupBy == .upstreamCluster)
        #expect(inputs[0].missingFields == MissingFields(groupKey: 3))
        #expect(inputs[0].missingFields.sentence(groupBy: .upstreamCluster) == "3 records have no cluster (counted under -)")
        #expect(counter.totals().keys["-"]?.requests == 3)
    }

    @Test func sparseJSONRecordsCountWhatTheyLacked() {
        let (counter, inputs) = Self.count([("gloo.log", Self.gloo)])
        #expect(inputs[0].records == 3)
        #expect(inputs[0].missingFields == MissingFields(startTime: 2, responseCode: 1, responseFlags: 2))
        #expect(inputs[0].missingFields.byName(groupBy: .upstreamCluster) == ["time": 2, "responseCode": 1, "responseFlags": 2])
        #expect(inputs[0].missingFields.sentence(groupBy: .upstreamCluster)
            == "2 records have no time (untimed), 1 no response code, 2 no response flags")
        #expect(counter.untimed == 2)
    }

    @Test func anEnvelopeIsReportedPerInput() {
        // Tests/Corpus/written/docker-json-file.log's shape: Docker's json-file driver around an Istio line.
        let wrapped = #"{"log":"[2022-01-20T22:36:12.754Z] \"GET / HTTP/1.1\" 404 NR route_not_found - \"-\" 0 0 0 - \"192.168.0.6\" \"curl/7.68.0\" \"4fc41716-078a-4db5-9d7c-6cd80251c8a9\" \"138.68.127.3\" \"-\" - - 10.244.0.233:80 192.168.0.6:20020 - -\n","stream":"stdout","time":"2022-01-20T22:36:12.755Z"}"#
        let (_, inputs) = Self.count([("docker.log", [wrapped]), ("istio.log", Self.istio)])
        #expect(inputs[0].records == 1 && inputs[0].envelope == .log)
        #expect(inputs[1].envelope == nil)
    }

    @Test func takingASummaryLeavesNoMissingCountsBehind() {
        let counter = RecordCounter(configuration: ReadingConfiguration())
        var input = counter.makeInput(path: "gloo.log")
        var text = Self.gloo.joined(separator: "\n")
        text.withUTF8 { counter.prepare(&input, head: UnsafeRawBufferPointer($0), atEnd: true) }
        for var line in Self.gloo { line.withUTF8 { _ = counter.count(UnsafeRawBufferPointer($0), &input) } }
        #expect(input.takeSummary().missingFields.startTime == 2)
        #expect(input.summary.missingFields.isEmpty && input.summary.groupBy == .upstreamCluster)
    }

    @Test func namesAreOneToOneWithFieldAndValueAndReadBack() {
        let counter = RecordCounter(configuration: ReadingConfiguration())
        let keys = counter.keys
        _ = keys.field(.upstreamCluster)
        let names = ["-", "authority:-", "example.com", "authority:example.com", "cluster:authority:odd", "route:r1", "__other__"]
        let ids = names.map(keys.id(named:))
        #expect(Set(ids).count == names.count)
        #expect(ids.map(keys.name(of:)) == names)
        #expect(keys.id(named: "cluster:example.com") == keys.id(named: "example.com"), "a needless prefix names the same key")
    }
}
