// libFuzzer target: the rules file parser (YAML through Yams).
// Invariants: an error has a printable description; rules that parse, rendered with
// `RuleFile.render`, parse back to the same rules; the rules' cluster globs match in
// bounded time.
import AccessLogFormat
import FuzzSupport
import AlertRules

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRulesParser(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let yaml = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    let rules: [AlertRule]
    do {
        rules = try RuleFile.parse(yaml)
    } catch {
        _ = error.description
        return 0
    }
    let rendered = RuleFile.render(rules)
    do {
        let again = try RuleFile.parse(rendered)
        check(again == rules, "rendered rules parse to other rules:\n\(rendered)")
    } catch {
        fatalError("rendered rules do not parse (\(error)):\n\(rendered)")
    }
    for rule in rules {
        for key in ["outbound|8080||payments.default.svc.cluster.local", "BlackHoleCluster", "", "-"] + rule.include {
            _ = rule.applies(to: key)
        }
    }
    return 0
}
