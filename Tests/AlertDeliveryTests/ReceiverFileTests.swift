import AlertDelivery
import AlertRules
import Foundation
import Testing
import TestSupport

struct ReceiverFileTests {
    @Test func everyKeyIsRead() throws {
        let directory = try TemporaryDirectory()
        try "s3cret-hmac-key\n".write(toFile: directory.path + "/hmac", atomically: true, encoding: .utf8)
        let receivers = try ReceiverFile.parse("""
            rules:
              - name: a
                flags: [UF]
            receivers:
              - name: oncall
                type: webhook
                url: https://hooks.example.com/flagwatch
                match: {rule: ["Upstream*"], severity: critical, cluster: ["outbound|*||payments.*", "payments"]}
                groupWait: 500ms
                timeout: 4s
                connectTimeout: 1s
                queueCapacity: 50
                retry: {initialBackoff: 200ms, maxBackoff: 30s, maxRetryAfter: 2m}
                tls: {caFile: /etc/flagwatch/ca.pem}
                auth: {bearerTokenEnv: ONCALL_TOKEN}
                hmac: {secretFile: \(directory.path)/hmac}
                externalURL: https://flagwatch.example.com
              - name: am
                type: alertmanager
                urls: [http://127.0.0.1:9093, http://127.0.0.1:9094/]
                resendInterval: 30s
                auth: {username: flagwatch, passwordEnv: AM_PASSWORD}
                tls: {insecureSkipVerify: true}
              - name: slack
                type: slack
                urlEnv: SLACK_URL
            """, environment: ["ONCALL_TOKEN": "tok-123456", "AM_PASSWORD": "pw-abcdef", "SLACK_URL": "https://hooks.slack.com/services/T0/B0/XYZSECRET"])
        #expect(receivers.map(\.name) == ["oncall", "am", "slack"])
        let oncall = receivers[0]
        #expect(oncall.kind == .webhook && oncall.endpoints == [Endpoint("https://hooks.example.com/flagwatch")])
        #expect(oncall.match == ReceiverMatch(rules: ["Upstream*"], severities: ["critical"], clusters: ["outbound|*||payments.*", "payments"]))
        #expect(oncall.groupWait == .milliseconds(500) && oncall.timeout == .seconds(4) && oncall.connectTimeout == .seconds(1))
        #expect(oncall.queueCapacity == 50)
        #expect(oncall.retry.initialBackoff == .milliseconds(200) && oncall.retry.maxBackoff == .seconds(30) && oncall.retry.maxRetryAfter == .seconds(120))
        #expect(oncall.tls == TLSOptions(caFile: "/etc/flagwatch/ca.pem"))
        #expect(oncall.authorization == .bearer(Secret("tok-123456")))
        #expect(oncall.signingSecret == Secret("s3cret-hmac-key"))
        #expect(oncall.externalURL == "https://flagwatch.example.com")
        let am = receivers[1]
        #expect(am.kind == .alertmanager && am.endpoints.map(\.url) == ["http://127.0.0.1:9093", "http://127.0.0.1:9094/"])
        #expect(am.resendInterval == .seconds(30) && am.tls.insecureSkipVerify)
        #expect(am.authorization == .basic(username: "flagwatch", password: Secret("pw-abcdef")))
        let slack = receivers[2]
        #expect(slack.endpoints == [Endpoint("https://hooks.slack.com/services/T0/B0/XYZSECRET", isSecret: true)])
        #expect(slack.endpoints[0].display == "https://hooks.slack.com/…")
    }

    @Test func aFileWithoutReceiversHasNone() throws {
        #expect(try ReceiverFile.parse("rules:\n  - name: a\n    flags: [UF]\n").isEmpty)
    }

    @Test func secretsNeverPrint() throws {
        let receivers = try ReceiverFile.parse("""
            receivers:
              - {name: a, type: webhook, url: "http://127.0.0.1:1/", auth: {bearerTokenEnv: T}, hmac: {secretEnv: H}}
            """, environment: ["T": "bearer-value-1", "H": "hmac-value-2"])
        let printed = "\(receivers) \(String(reflecting: receivers))"
        #expect(!printed.contains("bearer-value-1") && !printed.contains("hmac-value-2"))
        #expect(printed.contains("<redacted>"))
    }

    @Test(arguments: [
        ("receivers:\n  - name: a\n    type: pager\n    url: http://x/\n", 3, 11, "unknown receiver type"),
        ("receivers:\n  - name: a\n    type: webhook\n", 2, 5, "needs 'url'"),
        ("receivers:\n  - name: a\n    type: webhook\n    url: ftp://x/\n", 4, 10, "http:// or https://"),
        ("receivers:\n  - name: a\n    type: webhook\n    url: http://x/\n    colour: red\n", 5, 5, "unknown key 'colour'"),
        ("receivers:\n  - name: a\n    type: webhook\n    url: http://x/\n    auth: {bearerToken: abc}\n", 5, 12, "never written here"),
        ("receivers:\n  - name: a\n    type: webhook\n    url: http://x/\n    auth: {bearerTokenEnv: NOPE}\n", 5, 28, "NOPE is not set"),
        ("receivers:\n  - name: a\n    type: webhook\n    url: http://x/\n    hmac: {secretFile: /nonexistent/key}\n", 5, 24, "cannot read"),
        ("receivers:\n  - name: a\n    type: webhook\n    url: http://x/\n    groupWait: soon\n", 5, 16, "duration"),
        ("receivers:\n  - name: a\n    type: webhook\n    urls: [http://x/]\n", 4, 5, "unknown key 'urls'"),
        ("receivers:\n  - name: a\n    type: webhook\n    url: http://x/\n  - name: a\n    type: slack\n    url: http://y/\n", 5, 5, "duplicate"),
        ("receivers:\n  - name: a\n    type: webhook\n    url: http://x/\n    match: {team: x}\n", 5, 13, "unknown key 'team'"),
        ("receivers: [\n", 2, 1, ""),
    ])
    func errorsGiveLineAndColumn(text: String, line: Int, column: Int, message: String) {
        do {
            _ = try ReceiverFile.parse(text, environment: [:])
            Issue.record("parsed: \(text)")
        } catch {
            #expect(error.line == line, "\(error)")
            #expect(error.column == column, "\(error)")
            #expect(message.isEmpty || error.message.contains(message), "\(error)")
        }
    }

    @Test func commandLineWebhookRefusesAPassword() throws {
        #expect(throws: ReceiverConfigError.self) { try ReceiverConfig(webhook: "https://user:hunter22@hooks.example.com/x", name: "webhook") }
        #expect(throws: ReceiverConfigError.self) { try ReceiverConfig(webhook: "hooks.example.com/x", name: "webhook") }
        let receiver = try ReceiverConfig(webhook: "https://hooks.example.com/x?team=a", name: "webhook")
        #expect(receiver.kind == .webhook && receiver.endpoints[0].display == "https://hooks.example.com/x")
    }

    @Test func matchOnRuleSeverityAndCluster() {
        let critical = Events.firing(Events.rule("PaymentsUF", severity: "critical"), cluster: "outbound|8080||payments.prod.svc")
        let warning = Events.firing(Events.rule("PaymentsUF", severity: "warning"), cluster: "outbound|8080||payments.prod.svc")
        let other = Events.firing(Events.rule("PaymentsUF", severity: "critical"), cluster: "outbound|80||web.prod.svc")
        let match = ReceiverMatch(rules: ["Payments*"], severities: ["critical", "page"], clusters: ["*payments*"])
        #expect(match.accepts(critical) && !match.accepts(warning) && !match.accepts(other))
        #expect(ReceiverMatch().accepts(other))
    }
}
