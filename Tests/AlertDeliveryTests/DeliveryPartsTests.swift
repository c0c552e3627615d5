@testable import AlertDelivery
import AlertRules
import Foundation
import NIOCore
import Testing
import TestSupport

/// The parts the delivery loop is made of, one by one.
struct DeliveryPartsTests {
    func notification(_ event: AlertEvent, _ sequence: UInt64, repeatIndex: Int = 0) -> AlertNotification {
        var notification = AlertNotification(event, sequence: sequence)
        notification.repeatIndex = repeatIndex
        return notification
    }

    @Test func aFullQueueDropsTheOldestRepeatFirst() {
        var queue = DeliveryQueue(capacity: 3)
        let now = NIODeadline.now()
        let a = Events.firing(cluster: "a"), b = Events.firing(cluster: "b"), c = Events.firing(cluster: "c")
        #expect(queue.append(Pending(notification: notification(a, 1), readyAt: now)) == nil)
        #expect(queue.append(Pending(notification: notification(b, 2, repeatIndex: 1), readyAt: now)) == nil)
        #expect(queue.append(Pending(notification: notification(c, 3, repeatIndex: 2), readyAt: now)) == nil)
        #expect(queue.append(Pending(notification: notification(a, 4), readyAt: now))?.sequence == 2)
        #expect(queue.append(Pending(notification: notification(b, 5), readyAt: now))?.sequence == 3)
        // No repeat left: the oldest goes.
        #expect(queue.append(Pending(notification: notification(c, 6), readyAt: now))?.sequence == 1)
        #expect(queue.items.map(\.notification.sequence) == [4, 5, 6])
    }

    @Test func aBatchHoldsOneNotificationPerAlert() {
        var queue = DeliveryQueue(capacity: 10)
        let now = NIODeadline.now()
        let events = [Events.firing(cluster: "a"), Events.firing(cluster: "b"), Events.resolved(cluster: "a"), Events.firing(cluster: "c")]
        for (i, event) in events.enumerated() { _ = queue.append(Pending(notification: notification(event, UInt64(i + 1)), readyAt: now)) }
        #expect(queue.takeBatch(limit: 64).map(\.sequence) == [1, 2, 4])
        #expect(queue.takeBatch(limit: 64).map(\.sequence) == [3])
        for (i, event) in events.enumerated() { _ = queue.append(Pending(notification: notification(event, UInt64(i + 1)), readyAt: now)) }
        #expect(queue.takeBatch(limit: 1).map(\.sequence) == [1])
        #expect(queue.items.map(\.notification.sequence) == [2, 3, 4])
    }

    @Test func backoffDoublesWithJitterUpToTheCap() {
        var policy = RetryPolicy()
        policy.initialBackoff = .seconds(1)
        policy.maxBackoff = .seconds(10)
        var random = SystemRandomNumberGenerator()
        for attempt in 1...8 {
            let base = min(Swift.Duration.seconds(1 << (attempt - 1)), .seconds(10))
            for _ in 0..<50 {
                let delay = policy.delay(afterAttempt: attempt, retryAfter: nil, using: &random)
                #expect(delay >= base / 2 && delay <= base, "attempt \(attempt): \(delay)")
            }
        }
        #expect(policy.delay(afterAttempt: 1, retryAfter: .seconds(2), using: &random) == .seconds(2))
        #expect(policy.delay(afterAttempt: 1, retryAfter: .seconds(86400), using: &random) == policy.maxRetryAfter)
    }

    @Test func retryAfterInSecondsOrAsADate() throws {
        #expect(EndpointClient.retryAfter("2") == .seconds(2))
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        let later = try #require(EndpointClient.retryAfter(formatter.string(from: Date().addingTimeInterval(30))))
        #expect(later > .seconds(27) && later <= .seconds(30))
        #expect(EndpointClient.retryAfter("soon") == nil)
    }

    @Test func idempotencyKeysNameTheAlertItsStatusAndStart() {
        let firing = notification(Events.firing(), 1)
        let fingerprint = Events.firing().fingerprint
        #expect(firing.idempotencyKey == "\(fingerprint)-firing-1767225600")
        #expect(notification(Events.firing(), 9, repeatIndex: 3).idempotencyKey == "\(fingerprint)-firing-1767225600-r3")
        #expect(notification(Events.resolved(), 2).idempotencyKey == "\(fingerprint)-resolved-1767225600")
        let batch = [firing, notification(Events.firing(cluster: "b"), 2)]
        #expect(EndpointClient.idempotencyKey(batch) == EndpointClient.idempotencyKey(batch))
        #expect(EndpointClient.idempotencyKey(batch).hasPrefix("batch-"))
    }

    @Test func webhookEnvelopeIsAlertmanagersVersion4() throws {
        var receiver = ReceiverConfig(name: "oncall", kind: .webhook, endpoints: [Endpoint("http://127.0.0.1:1/")])
        receiver.externalURL = "https://flagwatch.example.com"
        let batch = [notification(Events.firing(), 1), notification(Events.resolved(cluster: "b"), 2)]
        let body = Payload.render(batch, for: receiver, nowMicros: 0)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any])
        #expect(Set(json.keys) == ["version", "groupKey", "truncatedAlerts", "status", "receiver", "groupLabels", "commonLabels", "commonAnnotations", "externalURL", "alerts"])
        #expect(json["version"] as? String == "4" && json["status"] as? String == "firing" && json["receiver"] as? String == "oncall")
        #expect(json["commonLabels"] as? [String: String]
            == ["alertname": "UpstreamConnectionFailure", "cause": "connection-refused", "flag": "UF", "severity": "warning"])
        let alerts = try #require(json["alerts"] as? [[String: Any]])
        #expect(alerts.count == 2)
        #expect(Set(alerts[0].keys) == ["status", "labels", "annotations", "startsAt", "endsAt", "generatorURL", "fingerprint"])
        #expect(alerts[0]["startsAt"] as? String == "2026-01-01T00:00:00Z" && alerts[0]["endsAt"] as? String == "0001-01-01T00:00:00Z")
        #expect(alerts[1]["status"] as? String == "resolved" && alerts[1]["endsAt"] as? String == "2026-01-01T00:02:00Z")
        #expect(alerts[0]["fingerprint"] as? String == Events.firing().fingerprint)
        #expect((alerts[0]["labels"] as? [String: String])?["cluster"] == "outbound|9080||reviews.default.svc.cluster.local")
        // The next commands, filled in from the cluster name.
        let runbook = try #require((alerts[0]["annotations"] as? [String: String])?["runbook"])
        #expect(runbook.hasPrefix("kubectl get endpoints reviews -n default\n"))
    }

    @Test func alertmanagerAlertsStayValidForFourResends() throws {
        var receiver = ReceiverConfig(name: "am", kind: .alertmanager, endpoints: [Endpoint("http://127.0.0.1:1")])
        receiver.resendInterval = .seconds(60)
        let now: Int64 = 1_767_229_200_000_000 // an hour after the alert started
        let body = Payload.render([notification(Events.firing(), 1), notification(Events.resolved(cluster: "b"), 2)], for: receiver, nowMicros: now)
        let alerts = try #require(try JSONSerialization.jsonObject(with: Data(body)) as? [[String: Any]])
        #expect(alerts[0]["endsAt"] as? String == "2026-01-01T01:04:00Z")
        #expect(alerts[1]["endsAt"] as? String == "2026-01-01T00:02:00Z")
        #expect(alerts[0]["generatorURL"] == nil)
    }

    @Test func slackMessageReadsAsText() throws {
        let receiver = ReceiverConfig(name: "slack", kind: .slack, endpoints: [Endpoint("http://127.0.0.1:1/")])
        var event = Events.firing(cluster: "a<b>&c")
        event.annotations["summary"] = "42 UF on a<b>&c"
        let body = Payload.render([notification(event, 1)], for: receiver, nowMicros: 0)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any])
        // Slack reads `text` as mrkdwn: a name's < > & are shown, never a mention or a link.
        #expect(json["text"] as? String == "FIRING: UpstreamConnectionFailure on a&lt;b&gt;&amp;c")
        let blocks = try #require(json["blocks"] as? [[String: Any]])
        let section = try #require((blocks[1]["text"] as? [String: String])?["text"])
        #expect(section.contains("a&lt;b&gt;&amp;c") && section.contains("42 UF of 336 requests (12.5%) in 60s"))
        #expect(section.contains("probable cause *connection-refused*") && section.contains("next:\n```\nistioctl x describe pod POD"))
        let many = (0..<45).map { notification(Events.firing(cluster: "c\($0)"), UInt64($0)) }
        let big = try #require(try JSONSerialization.jsonObject(with: Data(Payload.render(many, for: receiver, nowMicros: 0))) as? [String: Any])
        #expect((big["blocks"] as? [Any])?.count == 42 && big["text"] as? String == "flagwatch: 45 firing")
    }

    @Test func spoolKeepsNotificationsInOrderAndSetsBadFilesAside() throws {
        let directory = try TemporaryDirectory()
        let spool = try Spool(directory: directory.path + "/spool/x")
        let notifications = (1...3).map { notification(Events.firing(cluster: "c\($0)"), UInt64($0 * 7)) }
        for n in notifications.reversed() { try spool.write(n) }
        spool.remove(notifications[1])
        try "{".write(toFile: spool.directory + "/00000000000000000099.json", atomically: true, encoding: .utf8)
        try "x".write(toFile: spool.directory + "/00000000000000000100.json.tmp", atomically: true, encoding: .utf8)
        let (loaded, unreadable) = spool.load()
        #expect(loaded == [notifications[0], notifications[2]])
        #expect(unreadable.count == 1)
        #expect(try FileManager.default.contentsOfDirectory(atPath: spool.directory).sorted()
                == ["00000000000000000007.json", "00000000000000000021.json", "00000000000000000099.json.unreadable"])
    }

    @Test func redactionReplacesEverySecret() {
        let redact = Redactor(["tok-123456", "abc"])
        #expect(redact("Bearer tok-123456 and abc") == "Bearer <redacted> and abc")
    }
}
