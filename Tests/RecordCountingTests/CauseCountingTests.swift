import AccessLogFormat
import FailureCauses
import RecordCounting
import Testing

/// Causes counted by the counting core: one per record with a flag, per key, with a sample.
struct CauseCountingTests {
    /// An Istio line with the given flags, details, transport failure reason and cluster.
    static func line(_ flags: String, details: String = "via_upstream", reason: String = "-", cluster: String = "a") -> String {
        #"[2024-01-27T14:15:24.881Z] "GET / HTTP/1.1" 503 "# + flags + " " + details
            + #" - ""# + reason + #"" 0 0 1 - "-" "curl" "id" "a" "10.0.0.1:80" "# + cluster + " - - - - default"
    }

    /// Counts `lines` as one input through the real counter; returns the totals and the records.
    static func count(_ lines: [String], order: Int = 0, path: String = "access.log") -> (FlagTotals, [CountedRecord]) {
        var configuration = ReadingConfiguration()
        configuration.format = .fixed(BuiltinFormat.istio.plan)
        let counter = RecordCounter(configuration: configuration)
        var input = counter.makeInput(path: path)
        input.order = order
        var records: [CountedRecord] = []
        for line in lines {
            var bytes = line
            bytes.withUTF8 { memory in
                let buffer = UnsafeRawBufferPointer(memory)
                counter.prepare(&input, head: buffer)
                if let record = counter.count(buffer, &input) { records.append(record) }
            }
        }
        return (counter.totals(), records)
    }

    static let refused = "upstream_reset_before_response_started{connection_failure,delayed_connect_error:_Connection_refused}"

    @Test func everyFlaggedRecordGetsExactlyOneCause() {
        let (totals, records) = Self.count([
            Self.line("URX,UF", details: Self.refused, reason: "delayed_connect_error:_Connection_refused"),
            Self.line("UF"),
            Self.line("-"),
            Self.line("UH", details: "no_healthy_upstream", cluster: "b"),
            Self.line("UH", cluster: "BlackHoleCluster"),
        ])
        // URX with UF is the UF's cause, counted once (not once per flag).
        #expect(totals.keys["a"]?.causes == ["connection-refused": 1, "connect-failed": 1])
        #expect(totals.keys["b"]?.causes == ["no-healthy-upstream": 1])
        #expect(totals.keys["BlackHoleCluster"]?.causes == ["egress-blocked": 1])
        #expect(totals.causes.values.reduce(0, +) == 4)
        // The record without a flag has no cause; the others carry theirs to the windows.
        #expect(records.map(\.cause) == [FailureCause.connectionRefused.rawValue, FailureCause.connectFailed.rawValue,
                                         CountedRecord.noCause, FailureCause.noHealthyUpstream.rawValue,
                                         FailureCause.egressBlocked.rawValue])
    }

    @Test func theSampleIsTheFirstLineOfEachCause() throws {
        let first = Self.line("UF", details: Self.refused)
        let (totals, _) = Self.count([Self.line("-"), first, Self.line("URX,UF", details: Self.refused), Self.line("UF")],
                                     order: 3, path: "x.log")
        let sample = try #require(totals.keys["a"]?.causeSamples["connection-refused"])
        #expect(sample == CauseSample(line: first, file: "x.log", lineNumber: 2, inputOrder: 3))
        #expect(totals.keys["a"]?.causeSamples["connect-failed"]?.lineNumber == 4)
    }

    /// Merging keeps the earliest sample (input order, then line) whichever side it is on.
    @Test func mergingKeepsTheEarliestSampleInEitherOrder() {
        let (early, _) = Self.count([Self.line("-"), Self.line("UF", details: Self.refused)], order: 0)
        let (late, _) = Self.count([Self.line("UF", details: Self.refused)], order: 1)
        var ab = early
        ab.merge(late)
        var ba = late
        ba.merge(early)
        #expect(ab == ba)
        #expect(ab.keys["a"]?.causeSamples["connection-refused"]?.inputOrder == 0)
        #expect(ab.keys["a"]?.causes == ["connection-refused": 2])
    }

    @Test func theDominantCauseHasTheMostRecordsAndTiesGoToTheFirstListed() {
        let totals = KeyTotals(causes: ["upstream-reset": 3, "connection-refused": 3, "unknown": 1])
        #expect(totals.dominantCause?.cause == .connectionRefused)
        #expect(totals.dominantCause?.count == 3)
        #expect(KeyTotals().dominantCause == nil)
    }
}
