import LogFollow
import Testing

struct ContainerLineJoinerTests {
    func take(_ joiner: inout ContainerLineJoiner, _ line: String) -> (ContainerLineJoiner.Outcome, String?) {
        var emitted: String?
        let outcome = Array(line.utf8).withUnsafeBytes { joiner.take($0) { emitted = String(decoding: $0, as: UTF8.self) } }
        return (outcome, emitted)
    }

    @Test func joinsPartialLinesUnderTheFirstHeader() {
        var joiner = ContainerLineJoiner(maxLength: 1000)
        let first = "2026-06-28T15:11:44.812345678Z stdout P [2026-06-28T15:11:44Z] \"GET"
        #expect(take(&joiner, first).0 == .held)
        #expect(joiner.heldBytes == first.utf8.count + 1)
        #expect(take(&joiner, "2026-06-28T15:11:44.812345679Z stdout P  /a HTTP/1.1\"").0 == .held)
        let (outcome, line) = take(&joiner, "2026-06-28T15:11:44.812345680Z stdout F  200 -")
        #expect(outcome == .passed)
        #expect(line == "2026-06-28T15:11:44.812345678Z stdout P [2026-06-28T15:11:44Z] \"GET /a HTTP/1.1\" 200 -")
        #expect(joiner.heldBytes == 0)
    }

    @Test func passesOtherLinesUntouched() {
        var joiner = ContainerLineJoiner(maxLength: 1000)
        for line in ["[2026-06-28T15:11:44Z] \"GET / HTTP/1.1\" 200", "2026-06-28T15:11:44Z stdout F whole", "2026 nonsense", ""] {
            #expect(take(&joiner, line) == (.passed, line))
        }
    }

    @Test func boundsTheJoinedLength() {
        var joiner = ContainerLineJoiner(maxLength: 100)
        let part = "2026-06-28T15:11:44Z stderr P " + String(repeating: "x", count: 60)
        #expect(take(&joiner, part).0 == .held)
        #expect(take(&joiner, part).0 == .tooLong)
        #expect(joiner.heldBytes == 0)
    }
}
