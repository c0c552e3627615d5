import AccessLogFormat
import AlertRules
import Testing

/// Inputs the fuzz targets (`Tests/Fuzz`, `bash Tests/fuzz.sh`) crashed on, byte-exact.
struct RuleFileFuzzRegressionTests {
    /// FuzzRulesParser crash-7b273087 (one of its own seeds): a rule name holding a tab was
    /// rendered as `"a\x9b"`, which YAML reads as `a` + U+009B, so the rendered file named
    /// another rule. Control characters are now escaped with two hex digits.
    @Test func renderedRulesWithATabParseBackToTheSameRules() throws {
        let input = #"""
rules:
  - name: "a\tb"
    flags: UF
    window: 1500ms
    labels: {k: v}
    clusters: {include: ["outbound|*"], exclude: ["*canary*"]}
"""#
        let rules = try RuleFile.parse(input + "\n")
        #expect(rules.map(\.name) == ["a\tb"])
        let rendered = RuleFile.render(rules)
        #expect(try RuleFile.parse(rendered) == rules)
    }

    /// Every character YAML will not take raw in a double-quoted scalar (controls, C1
    /// controls, line and paragraph separators, BOM, noncharacters) survives render and parse.
    @Test func everyUnprintableCharacterRoundTrips() throws {
        let awkward: [Unicode.Scalar] = (0..<0x20).map { Unicode.Scalar(UInt8($0)) } + (0x7F...0x9F).map { Unicode.Scalar(UInt8($0)) }
            + ["\u{2028}", "\u{2029}", "\u{FEFF}", "\u{FFFE}", "\u{FFFF}", "\\", "\"", "é", "\u{1F600}"]
        var rule = AlertRule(name: "name", flags: ResponseFlags(.UF))
        var text = ""
        for scalar in awkward { text.unicodeScalars.append(scalar); text += "b" }
        rule.name = "a" + text
        rule.severity = text
        rule.include = [text, "x" + text]
        rule.labels = [text: text]
        rule.annotations = ["summary": text]
        let rendered = RuleFile.render([rule])
        #expect(try RuleFile.parse(rendered) == [rule])
    }
}
