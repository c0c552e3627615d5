import AccessLogFormat
import AlertRules
import Testing

/// Rules replayed over hand-made histories: each test is named after what it proves.
struct RuleScenarioTests {
    static let t0: Int64 = 1_782_000_000 * 1_000_000
    static let uf = ResponseFlags(.UF).rawValue

    /// Replays `rules` over a history: for each second, (requests, of which flagged with UF).
    /// Seconds come in any order; the evaluator takes them in time order, as a scan's merge gives them.
    static func find(_ seconds: [(at: Int, requests: Int, flagged: Int)], rules: [AlertRule], key: String = "c")
        -> (spikes: [Spike], events: [AlertEvent])
    {
        var evaluator = HistoryEvaluator(rules: rules, resolutionSeconds: 1, names: [key])
        for second in seconds.sorted(by: { $0.at < $1.at }) where second.requests > 0 {
            let counts = [UInt32(second.requests)] + rules.map { $0.flags.rawValue & uf != 0 ? UInt32(second.flagged) : 0 }
            counts.withUnsafeBufferPointer { evaluator.add(key: 0, bucket: t0 / 1_000_000 + Int64(second.at), counts: $0) }
        }
        evaluator.finish()
        return (evaluator.spikes, evaluator.events)
    }

    /// A rule over every cause: these histories count flags, not causes (`ByCauseRuleTests` has those).
    static func rule(_ configure: (inout AlertRule) -> Void = { _ in }) -> AlertRule {
        var rule = AlertRule(name: "UF", flags: ResponseFlags(.UF))
        rule.byCause = false
        configure(&rule)
        return rule
    }

    /// `seconds` of steady traffic, `requests` a second, `flagged` of them UF.
    static func steady(_ range: Range<Int>, requests: Int, flagged: Int) -> [(at: Int, requests: Int, flagged: Int)] {
        range.map { ($0, requests, flagged) }
    }

    @Test func aSustainedBurstFiresOnceAndResolves() {
        let rule = Self.rule()
        let history = Self.steady(0..<300, requests: 10, flagged: 0) + Self.steady(300..<360, requests: 10, flagged: 5)
            + Self.steady(360..<600, requests: 10, flagged: 0)
        let (spikes, events) = Self.find(history, rules: [rule])
        #expect(spikes.count == 1)
        #expect(events.map(\.status) == [.firing, .resolved])
        let spike = spikes[0]
        // minCount is met after 2 s of the burst, but 5 % of the window's 600 requests needs 30
        // flagged: after 6 s.
        #expect(spike.start == Self.t0 + 306 * 1_000_000)
        #expect(spike.count == 300)
        #expect(spike.peakCount == 300)
        #expect(events[0].fingerprint == events[1].fingerprint)
    }

    @Test func outOfOrderRecordsLandInTheirOwnSecond() {
        let rule = Self.rule()
        // The same burst written in reverse time order gives the same spike.
        let history = Self.steady(300..<360, requests: 10, flagged: 5)
        let forward = Self.find(history, rules: [rule])
        let backward = Self.find(history.reversed(), rules: [rule])
        #expect(forward.spikes == backward.spikes)
        #expect(forward.spikes.count == 1)
    }

    @Test func aSpikeShorterThanForDoesNotFire() {
        let rule = Self.rule { $0.forDuration = 60; $0.window = 10 }
        let short = Self.steady(0..<100, requests: 10, flagged: 0) + Self.steady(100..<130, requests: 10, flagged: 10)
            + Self.steady(130..<300, requests: 10, flagged: 0)
        #expect(Self.find(short, rules: [rule]).spikes.isEmpty)
        let long = Self.steady(0..<100, requests: 10, flagged: 0) + Self.steady(100..<200, requests: 10, flagged: 10)
            + Self.steady(200..<300, requests: 10, flagged: 0)
        let spikes = Self.find(long, rules: [rule]).spikes
        #expect(spikes.count == 1)
        #expect(spikes.first.map { $0.start } == Self.t0 + 101 * 1_000_000, "start is when the condition began to hold")
    }

    @Test func flappingIsHeldByKeepFiringFor() {
        // Bursts of 8 s every 20 s: without hysteresis each is an episode, with 30 s one.
        var history = Self.steady(0..<400, requests: 10, flagged: 0)
        for burst in stride(from: 100, to: 300, by: 20) {
            for s in burst..<(burst + 8) { history[s] = (s, 10, 10) }
        }
        let flapping = Self.rule { $0.window = 5 }
        let held = Self.rule { $0.window = 5; $0.keepFiringFor = 30 }
        #expect(Self.find(history, rules: [flapping]).spikes.count == 10)
        #expect(Self.find(history, rules: [held]).spikes.count == 1)
    }

    @Test func baselineFactorFindsASpikeOnABusyClusterAndIgnoresItsLevel() {
        // A busy cluster with a steady 2 % UF: above minCount and minRatio all the time.
        let rule = Self.rule { $0.baselineFactor = 3; $0.minRatio = 0.01 }
        let level = Self.steady(0..<1200, requests: 100, flagged: 2)
        #expect(Self.find(level, rules: [rule]).spikes.isEmpty)
        let levelRuleWithoutBaseline = Self.rule { $0.minRatio = 0.01 }
        #expect(!Self.find(level, rules: [levelRuleWithoutBaseline]).spikes.isEmpty, "a plain level rule fires on the level")
        var spiked = level
        for s in 900..<960 { spiked[s] = (s, 100, 20) }
        let spikes = Self.find(spiked, rules: [rule]).spikes
        #expect(spikes.count == 1)
        #expect(spikes.first.map { $0.start > Self.t0 + 900 * 1_000_000 && $0.start < Self.t0 + 960 * 1_000_000 } == true)
    }

    @Test func includeAndExcludeChooseKeys() {
        var rule = Self.rule()
        rule.include = ["outbound|*"]
        rule.exclude = ["*|canary|*"]
        #expect(rule.applies(to: "outbound|80||a.svc"))
        #expect(!rule.applies(to: "outbound|80|canary|a.svc"))
        #expect(!rule.applies(to: "inbound|80||"))
    }

    @Test func fingerprintIsStableAndOrderFree() {
        let a = AlertEvent.fingerprint(["alertname": "UF", "cluster": "c", "severity": "warning"])
        let b = AlertEvent.fingerprint(["severity": "warning", "cluster": "c", "alertname": "UF"])
        #expect(a == b)
        #expect(a.count == 16 && a.allSatisfy(\.isHexDigit))
        #expect(a != AlertEvent.fingerprint(["alertname": "UF", "cluster": "d", "severity": "warning"]))
    }

    @Test func annotationsExpandPlaceholders() {
        var rule = Self.rule()
        rule.annotations = ["summary": "{{count}} {{flag}} on {{cluster}} ({{ratio}}) {{unknown}}"]
        let event = AlertEvent(status: .firing, rule: rule, cluster: "api", count: 12, requests: 48, startsAt: 0, endsAt: nil)
        #expect(event.annotations["summary"] == "12 UF on api (25.0%) {{unknown}}")
        #expect(event.labels == ["alertname": "UF", "cluster": "api", "flag": "UF", "severity": "warning"])
    }
}
