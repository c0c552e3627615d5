import AccessLogFormat
import AlertRules
import FlagAggregation
import Testing

/// A rule over every cause, on untagged records (`ByCauseRuleTests` has the tagged ones).
struct LiveEvaluatorTests {
    static var rule: AlertRule {
        var rule = AlertRule(name: "UF", flags: ResponseFlags(.UF))
        rule.byCause = false
        rule.window = 10
        rule.minCount = 5
        rule.minRatio = 0.5
        return rule
    }

    @Test func firesOnTheBatchAndResolvesWhenTheWindowEmpties() {
        let windows = LiveWindows(horizon: 60)
        var evaluator = LiveEvaluator(rules: [Self.rule])
        for _ in 0..<6 { windows.add(key: 0, second: 100, flags: ResponseFlags(.UF).rawValue) }
        let fired = evaluator.evaluate(key: 0, name: "c", second: 100, windows: windows, secondEnded: false)
        #expect(fired.map(\.status) == [.firing])
        #expect(fired.first?.count == 6)
        // Still firing: not sent again.
        #expect(evaluator.evaluate(key: 0, name: "c", second: 100, windows: windows, secondEnded: true).isEmpty)
        var resolved: [AlertEvent] = []
        for second in Int64(101)...112 { resolved += evaluator.evaluate(key: 0, name: "c", second: second, windows: windows, secondEnded: true) }
        #expect(resolved.map(\.status) == [.resolved])
        #expect(resolved.first?.endsAt == 111_000_000)
    }

    @Test func reloadKeepsStateOfUnchangedRules() {
        let windows = LiveWindows(horizon: 60)
        var evaluator = LiveEvaluator(rules: [Self.rule])
        for _ in 0..<6 { windows.add(key: 0, second: 100, flags: ResponseFlags(.UF).rawValue) }
        _ = evaluator.evaluate(key: 0, name: "c", second: 100, windows: windows, secondEnded: false)
        var other = Self.rule
        other.name = "UF2"
        evaluator.replaceRules([Self.rule, other])
        let events = evaluator.evaluate(key: 0, name: "c", second: 100, windows: windows, secondEnded: false)
        #expect(events.map(\.rule) == ["UF2"])
        #expect(evaluator.activeAlerts.filter { $0.state == .firing }.count == 2)
    }

    @Test func savedTracksRestore() {
        let windows = LiveWindows(horizon: 60)
        var evaluator = LiveEvaluator(rules: [Self.rule])
        for _ in 0..<6 { windows.add(key: 7, second: 100, flags: ResponseFlags(.UF).rawValue) }
        _ = evaluator.evaluate(key: 7, name: "c", second: 100, windows: windows, secondEnded: false)
        var restored = LiveEvaluator(rules: [Self.rule])
        restored.restore(key: 7, evaluator.savedTracks[7]!)
        #expect(restored.evaluate(key: 7, name: "c", second: 101, windows: windows, secondEnded: true).isEmpty)
        #expect(restored.activeAlerts.map(\.state) == [.firing])
    }
}
