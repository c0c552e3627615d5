import AccessLogFormat
import RecordCounting
import Testing

struct FlagCounterTests {
    /// Counts a few hand-made lines through the real tokenizer.
    static func count(_ lines: [String]) -> FlagTotals {
        let tokenizer = LineTokenizer(internedKeys: [.upstreamCluster])
        let plan = BuiltinFormat.istio.plan
        let counter = FlagCounter()
        for line in lines {
            var bytes = line
            // Extension codes are read from the line's memory: count while it is alive.
            let failure = bytes.withUTF8 { memory -> MalformedReason? in
                let failure = tokenizer.tokenize(UnsafeRawBufferPointer(memory), plan: plan)
                if failure == nil { counter.count(tokenizer.record, key: tokenizer.record.cluster, tokenizer: tokenizer) }
                return failure
            }
            precondition(failure == nil, line)
        }
        return counter.totals { tokenizer.clusters.string(for: $0) }
    }

    static func line(flags: String, cluster: String) -> String {
        #"[2024-01-27T14:15:24.881Z] "GET / HTTP/1.1" 503 "# + flags
            + #" via_upstream - "-" 0 0 1 - "-" "curl" "id" "a" "10.0.0.1:80" "# + cluster + " - - - - default"
    }

    @Test func countsRequestsFlagsAndFailedRequests() {
        let totals = Self.count([
            Self.line(flags: "UF,URX", cluster: "a"), Self.line(flags: "URX,UF", cluster: "a"),
            Self.line(flags: "-", cluster: "a"), Self.line(flags: "DC", cluster: "b"), Self.line(flags: "UH", cluster: "b"),
        ])
        #expect(totals.keys["a"] == KeyTotals(requests: 3, upstreamFailures: 2, flags: ["UF": 2, "URX": 2]))
        #expect(totals.keys["b"] == KeyTotals(requests: 2, upstreamFailures: 1, flags: ["DC": 1, "UH": 1]))
        #expect(totals.flags == ["UF": 2, "URX": 2, "DC": 1, "UH": 1])
        #expect(totals.requests == 5)
    }

    @Test func extensionCodesAreKeptByName() {
        let totals = Self.count([Self.line(flags: "XYZ,UF", cluster: "a"), Self.line(flags: "XYZ", cluster: "a"),
                                 Self.line(flags: "UpstreamConnectionFailure", cluster: "a")])
        #expect(totals.keys["a"]?.flags == ["XYZ": 2, "UF": 2])
    }

    /// A log with endless distinct codes (broken or hostile) cannot grow the counter without end.
    @Test func extensionCodesPastTheCapCountTogether() {
        let codes = (0..<(FlagCounter.maxExtensionCodes + 44)).map { "X\($0)" }
        let totals = Self.count(codes.map { Self.line(flags: $0, cluster: "a") })
        let flags = totals.keys["a"]?.flags ?? [:]
        #expect(flags.count == FlagCounter.maxExtensionCodes + 1)
        #expect(flags[FlagCounter.otherExtensionCode] == 44)
        #expect(flags.values.reduce(0, +) == codes.count)
    }

    @Test func mergingIsAdditiveAndOrderFree() {
        let a = Self.count([Self.line(flags: "UF", cluster: "x"), Self.line(flags: "-", cluster: "y")])
        let b = Self.count([Self.line(flags: "UH", cluster: "x")])
        var ab = a
        ab.merge(b)
        var ba = b
        ba.merge(a)
        #expect(ab == ba)
        #expect(ab.keys["x"] == KeyTotals(requests: 2, upstreamFailures: 2, flags: ["UF": 1, "UH": 1]))
    }

    @Test func manyKeysGrowTheCounter() {
        let totals = Self.count((0..<500).map { Self.line(flags: $0 % 5 == 0 ? "UF" : "-", cluster: "c\($0)") })
        #expect(totals.keys.count == 500)
        #expect(totals.flags == ["UF": 100])
        #expect(totals.keys["c495"] == KeyTotals(requests: 1, upstreamFailures: 1, flags: ["UF": 1]))
    }
}
