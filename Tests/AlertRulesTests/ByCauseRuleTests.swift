import AccessLogFormat
import AlertRules
import FailureCauses
import FlagAggregation
import Testing

/// A by-cause rule (the default): one alert per cluster and cause, the same live and in history.
struct ByCauseRuleTests {
    static let cluster = "outbound|8443||payments.shop.svc.cluster.local"
    static let failed = ResponseFlags([.init(.UF), .init(.URX)]).rawValue
    static let refused = FailureCause.connectionRefused, tls = FailureCause.tlsMismatch

    static var rule: AlertRule {
        var rule = AlertRule(name: "UpstreamFailure", flags: ResponseFlags([.init(.UF), .init(.URX), .init(.UH)]))
        rule.window = 10
        return rule
    }

    /// Per second: requests, and flagged records by cause.
    typealias Second = (at: Int64, requests: Int, flagged: [FailureCause: Int])

    /// Half the endpoints refuse connections from second 100, the other half speak plaintext to
    /// TLS from 105; the refusals stop at 120, the mismatch at 140.
    static let history: [Second] = (90..<170).map { second in
        var flagged: [FailureCause: Int] = [:]
        if (100..<120).contains(second) { flagged[refused] = 4 }
        if (105..<140).contains(second) { flagged[tls] = 3 }
        return (Int64(second), 20, flagged)
    }

    static func live(_ history: [Second], rules: [AlertRule] = [rule]) -> (events: [AlertEvent], evaluator: LiveEvaluator) {
        let windows = LiveWindows(horizon: 60)
        var evaluator = LiveEvaluator(rules: rules)
        var events: [AlertEvent] = []
        for second in history {
            let flaggedCount = second.flagged.values.reduce(0, +)
            for _ in 0..<(second.requests - flaggedCount) { windows.add(key: 0, second: second.at, flags: 0) }
            for (cause, count) in second.flagged {
                for _ in 0..<count { windows.add(key: 0, second: second.at, flags: failed, tag: cause.rawValue) }
            }
            events += evaluator.evaluate(key: 0, name: cluster, second: second.at, windows: windows, secondEnded: true)
        }
        return (events, evaluator)
    }

    static func replayed(_ history: [Second], rules: [AlertRule] = [rule]) -> (spikes: [Spike], events: [AlertEvent]) {
        var evaluator = HistoryEvaluator(rules: rules, resolutionSeconds: 1, names: [cluster])
        let lanes = 1 + rules.count
        for second in history {
            let flaggedCount = second.flagged.values.reduce(0, +)
            let counts = [UInt32(second.requests)] + rules.map { $0.flags.rawValue & failed != 0 ? UInt32(flaggedCount) : 0 }
            var causeCounts = Array(repeating: UInt32(0), count: FailureCause.allCases.count * lanes)
            for (cause, count) in second.flagged {
                let base = Int(cause.rawValue) * lanes
                causeCounts[base] = UInt32(count)
                for (index, rule) in rules.enumerated() where rule.flags.rawValue & failed != 0 { causeCounts[base + 1 + index] = UInt32(count) }
            }
            counts.withUnsafeBufferPointer { counts in
                causeCounts.withUnsafeBufferPointer { evaluator.add(key: 0, bucket: second.at, counts: counts, causeCounts: $0) }
            }
        }
        evaluator.finish()
        return (evaluator.spikes, evaluator.events)
    }

    /// What an event is, apart from its counts at the moment it was sent.
    static func summary(_ events: [AlertEvent]) -> [String] {
        events.map { "\($0.status) \($0.labels["cause"] ?? "-") \($0.startsAt / 1_000_000)-\(($0.endsAt ?? 0) / 1_000_000)" }
    }

    @Test func twoFailuresAtOnceAreTwoAlertsEachWithItsCause() {
        let (events, _) = Self.live(Self.history)
        // 10 s windows of 200 requests: ≥ 10 flagged and ≥ 5 %, each cause alone — the refusals
        // after their 3rd second (ending at 103), the mismatch after its 4th; each resolves when
        // fewer than 10 of its own are left in the window.
        #expect(Self.summary(events) == [
            "firing connection-refused 103-0", "firing tls-mismatch 109-0",
            "resolved connection-refused 103-128", "resolved tls-mismatch 109-147",
        ])
        let fingerprints = Set(events.map(\.fingerprint))
        #expect(fingerprints.count == 2)
        #expect(events.allSatisfy { $0.annotations["runbook"]?.contains("payments") == true })
    }

    @Test func historyReplayAlertsAsTailDoes() {
        let (spikes, events) = Self.replayed(Self.history)
        #expect(Self.summary(events) == Self.summary(Self.live(Self.history).events))
        #expect(spikes.map { $0.causes } == [["connection-refused": 80], ["tls-mismatch": 105]])
        #expect(spikes.map { $0.dominantCause?.share } == [1, 1])
    }

    /// `URX,UF` is one record with one cause: a dead backend pages once.
    @Test func aDeadBackendPagesOnce() {
        let dead: [Second] = (100..<130).map { ($0, 10, $0 < 120 ? [Self.refused: 10] : [:]) }
        #expect(Self.summary(Self.live(dead).events) == ["firing connection-refused 101-0", "resolved connection-refused 101-130"])
        #expect(Self.summary(Self.replayed(dead).events) == ["firing connection-refused 101-0", "resolved connection-refused 101-130"])
    }

    /// Each cause is held to the limits alone: a cause with 9 records in the window does not
    /// fire though the cluster's flagged records are over 10.
    @Test func aMinorCauseBelowTheLimitsDoesNotFire() {
        let mixed: [Second] = (100..<120).map { ($0, 20, $0 == 100 ? [Self.refused: 11, Self.tls: 9] : [:]) }
        #expect(Self.summary(Self.live(mixed).events).map { $0.split(separator: " ").prefix(2).joined(separator: " ") }
            == ["firing connection-refused", "resolved connection-refused"])
        var overAll = Self.rule
        overAll.byCause = false
        #expect(Self.live(mixed, rules: [overAll]).events.map { $0.labels["cause"] } == ["connection-refused", "connection-refused"])
    }

    @Test func firingCausesSurviveACheckpointAndAReload() throws {
        let upTo = Array(Self.history.prefix { $0.at < 112 })
        let (_, evaluator) = Self.live(upTo)
        let saved = try #require(evaluator.savedTracks[0])
        #expect(Set(saved.keys) == ["UpstreamFailure/connection-refused", "UpstreamFailure/tls-mismatch"])
        var restored = LiveEvaluator(rules: [Self.rule])
        restored.restore(key: 0, saved)
        #expect(Set(restored.firingEvents { _ in Self.cluster }.compactMap { $0.labels["cause"] }) == ["connection-refused", "tls-mismatch"])
        #expect(Set(restored.activeAlerts.map { "\($0.state) \($0.cause ?? "-")" }) == ["firing connection-refused", "firing tls-mismatch"])
        var other = Self.rule
        other.name = "Other"
        restored.replaceRules([other, Self.rule])
        #expect(Set(restored.activeAlerts.map { "\($0.rule) \($0.cause ?? "-")" }) == ["UpstreamFailure connection-refused", "UpstreamFailure tls-mismatch"])
    }

    /// A checkpoint from before causes had tracks of their own: the alert firing under the
    /// rule's name goes on firing under its cause, and is not sent again.
    @Test func aPlainCheckpointRestoresIntoTheTrackOfItsCause() throws {
        var plainRule = Self.rule
        plainRule.byCause = false
        let upTo = Array(Self.history.prefix { $0.at < 104 })
        let (_, plain) = Self.live(upTo, rules: [plainRule])
        let saved = try #require(plain.savedTracks[0])
        #expect(Array(saved.keys) == ["UpstreamFailure"])
        var restored = LiveEvaluator(rules: [Self.rule])
        restored.restore(key: 0, saved)
        #expect(restored.activeAlerts.map { "\($0.state) \($0.cause ?? "-")" } == ["firing connection-refused"])
    }

    @Test func ruleFilesTakeByCause() throws {
        let rules = try RuleFile.parse("rules:\n  - name: A\n    flags: [UF]\n    byCause: false\n  - name: B\n    flags: [UH]\n")
        #expect(rules.map(\.byCause) == [false, true])
        #expect(try RuleFile.parse(RuleFile.render(rules)) == rules)
        #expect(throws: RuleFileError.self) { try RuleFile.parse("rules:\n  - name: A\n    flags: [UF]\n    byCause: sometimes\n") }
    }
}
