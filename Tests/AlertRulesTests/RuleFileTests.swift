import AccessLogFormat
import AlertRules
import Testing

struct RuleFileTests {
    @Test func defaultsRoundTripThroughYAML() throws {
        let text = RuleFile.render(AlertRule.defaults)
        #expect(try RuleFile.parse(text) == AlertRule.defaults)
        #expect(AlertRule.defaults.map(\.flagCodes) == [["UH", "UF", "URX"]])
        #expect(AlertRule.defaults.allSatisfy { $0.window == 60 && $0.minCount == 10 && $0.minRatio == 0.05 })
    }

    @Test func everyKeyIsRead() throws {
        let rules = try RuleFile.parse("""
            rules:
              - name: Payments
                flags: [UF, URX]
                window: 2m
                minCount: 5
                minRatio: 0.1
                minRequests: 20
                baselineFactor: 4
                for: 30s
                keepFiringFor: 1m
                repeatInterval: 1h
                clusters: {include: ["outbound|*||payments.*"], exclude: ["*canary*"]}
                severity: critical
                labels: {team: payments}
                annotations: {summary: "{{count}} on {{cluster}}"}
            """)
        let rule = try #require(rules.first)
        #expect(rule.flags == [ResponseFlags(.UF), ResponseFlags(.URX)])
        #expect([rule.window, rule.minCount, rule.minRequests, rule.forDuration, rule.keepFiringFor, rule.repeatInterval]
                == [120, 5, 20, 30, 60, 3600])
        #expect(rule.minRatio == 0.1 && rule.baselineFactor == 4)
        #expect(rule.include == ["outbound|*||payments.*"] && rule.exclude == ["*canary*"])
        #expect(rule.severity == "critical" && rule.labels == ["team": "payments"])
    }

    @Test(arguments: [
        ("rules:\n  - name: a\n    flags: [UF, NOPE]\n", 3, 17, "unknown response flag"),
        ("rules:\n  - name: a\n    flags: [UF]\n    window: soon\n", 4, 13, "duration"),
        ("rules:\n  - name: a\n    flags: [UF]\n    minRatio: 2\n", 4, 15, "number"),
        ("rules:\n  - name: a\n    flags: [UF]\n    colour: red\n", 4, 5, "unknown key 'colour'"),
        ("rules:\n  - flags: [UF]\n", 2, 5, "needs a 'name'"),
        ("rules:\n  - name: a\n    flags: [UF]\n  - name: a\n    flags: [UH]\n", 4, 5, "duplicate"),
        ("rules: [\n", 2, 1, ""),
        ("other: 1\n", 1, 1, "unknown top-level key"),
    ])
    func errorsGiveLineAndColumn(text: String, line: Int, column: Int, message: String) {
        do {
            _ = try RuleFile.parse(text)
            Issue.record("parsed: \(text)")
        } catch {
            #expect(error.line == line, "\(error)")
            #expect(error.column == column, "\(error)")
            #expect(message.isEmpty || error.message.contains(message), "\(error)")
        }
    }
}
