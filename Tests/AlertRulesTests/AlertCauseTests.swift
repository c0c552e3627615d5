import AccessLogFormat
import AlertRules
import FailureCauses
import FlagAggregation
import Testing

/// The cause of an alert: a label, a runbook, the same from firing to resolution.
struct AlertCauseTests {
    static let cluster = "outbound|8080||api.default.svc.cluster.local"
    static let failed = ResponseFlags([.init(.UF), .init(.URX)]).rawValue

    static func windows(refused: Int, tls: Int, second: Int64 = 100) -> LiveWindows {
        let windows = LiveWindows(horizon: 60)
        for _ in 0..<refused { windows.add(key: 0, second: second, flags: failed, tag: FailureCause.connectionRefused.rawValue) }
        for _ in 0..<tls { windows.add(key: 0, second: second, flags: failed, tag: FailureCause.tlsMismatch.rawValue) }
        return windows
    }

    /// A dead backend writes `URX,UF`: the default rules send one alert, not one per flag.
    @Test func aDeadBackendPagesOnceWithItsCause() throws {
        let windows = Self.windows(refused: 20, tls: 0)
        var evaluator = LiveEvaluator(rules: AlertRule.defaults)
        let events = evaluator.evaluate(key: 0, name: Self.cluster, second: 100, windows: windows, secondEnded: false)
        #expect(events.count == 1)
        let event = try #require(events.first)
        #expect(event.labels["cause"] == "connection-refused")
        #expect(event.cause == "connection-refused")
        #expect(event.annotations["summary"]?.contains("probable cause connection-refused") == true)
        let runbook = try #require(event.annotations["runbook"])
        #expect(runbook.split(separator: "\n").first == "kubectl get endpoints api -n default")
        #expect(runbook.contains("istioctl proxy-config endpoints POD --cluster '\(Self.cluster)'"))
    }

    /// For a rule over every cause, the cause is the window's dominant one when the alert fires, and stays on its resolution
    /// (same labels, same fingerprint) even when the later records have another cause.
    @Test func theResolvedEventKeepsTheCauseItFiredWith() throws {
        let windows = Self.windows(refused: 12, tls: 8)
        var rule = AlertRule(name: "Failures", flags: ResponseFlags(rawValue: Self.failed))
        rule.byCause = false
        rule.window = 10
        var evaluator = LiveEvaluator(rules: [rule])
        let fired = evaluator.evaluate(key: 0, name: Self.cluster, second: 100, windows: windows, secondEnded: false)
        #expect(fired.first?.labels["cause"] == "connection-refused")
        for _ in 0..<40 { windows.add(key: 0, second: 104, flags: Self.failed, tag: FailureCause.tlsMismatch.rawValue) }
        var later: [AlertEvent] = []
        for second in Int64(100)...120 { later += evaluator.evaluate(key: 0, name: Self.cluster, second: second, windows: windows, secondEnded: true) }
        let resolved = try #require(later.first { $0.status == .resolved })
        #expect(resolved.labels["cause"] == "connection-refused")
        #expect(resolved.fingerprint == fired.first?.fingerprint)
    }

    @Test func aRestoredFiringAlertKeepsItsCause() throws {
        let windows = Self.windows(refused: 0, tls: 20)
        var evaluator = LiveEvaluator(rules: AlertRule.defaults)
        _ = evaluator.evaluate(key: 0, name: Self.cluster, second: 100, windows: windows, secondEnded: false)
        var restored = LiveEvaluator(rules: AlertRule.defaults)
        restored.restore(key: 0, try #require(evaluator.savedTracks[0]))
        let firing = restored.firingEvents { _ in Self.cluster }
        #expect(firing.map { $0.labels["cause"] } == ["tls-mismatch"])
    }

    @Test func dominantTiesGoToTheCauseListedFirst() {
        let counts: [(cause: FailureCause, count: Int)] = [(.upstreamReset, 4), (.connectionRefused, 4), (.unknown, 9)]
        #expect(FailureCause.dominant(in: counts)?.cause == .unknown)
        #expect(FailureCause.dominant(in: counts.dropLast())?.cause == .connectionRefused)
        #expect(FailureCause.dominant(in: [(cause: FailureCause.unknown, count: 0)]) == nil)
    }
}
