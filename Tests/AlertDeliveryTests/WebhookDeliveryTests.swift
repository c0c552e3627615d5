import AlertDelivery
import AlertRules
import Foundation
import Logging
import Testing
import TestSupport

/// Real deliveries to `Support/receiver.py` on 127.0.0.1.
struct WebhookDeliveryTests: DeliveryTestSuite {
    let directory: TemporaryDirectory
    let logs = LogCapture()

    init() throws {
        directory = try TemporaryDirectory()
    }

    @Test func deliversASignedAuthorizedEnvelopeWithItsKey() async throws {
        let server = try TestReceiver(in: directory, hmacSecret: "hmac-key-0123")
        var receiver = ReceiverConfig.quickWebhook(server.url)
        receiver.signingSecret = Secret("hmac-key-0123")
        receiver.authorization = .bearer(Secret("token-abcdef"))
        let dispatcher = try dispatcher([receiver])
        let event = Events.firing()
        dispatcher.submit(event)
        #expect(await eventually { server.requests.count == 1 })
        dispatcher.shutdown(deadline: .seconds(2))
        let request = try #require(server.requests.first)
        #expect(request.path == "/hook")
        #expect(request.signatureOK == true)
        #expect(request.headers["authorization"] == "Bearer token-abcdef")
        #expect(request.headers["content-type"] == "application/json")
        #expect(request.headers["idempotency-key"] == "\(event.fingerprint)-firing-1767225600")
        #expect(request.json["version"] as? String == "4" && request.json["receiver"] as? String == "hook")
        let labels = try #require(request.alerts.first?["labels"] as? [String: String])
        #expect(labels["alertname"] == "UpstreamConnectionFailure" && labels["cluster"] == event.cluster && labels["flag"] == "UF" && labels["severity"] == "warning")
        #expect(labels["cause"] == "connection-refused")
        #expect((request.alerts.first?["annotations"] as? [String: String])?["runbook"]?.contains("kubectl get endpoints reviews -n default") == true)
        #expect(dispatcher.statistics.first?.sent == 1 && dispatcher.statistics.first?.attempts == 1)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path + "/state/spool").count == 1)
        #expect(directory.files(under: "state/spool").isEmpty, "a delivered notification leaves the spool")
    }

    @Test func slackGetsAMessageAndItsSecretURLIsNeverLogged() async throws {
        let server = try TestReceiver(in: directory, script: ["500"])
        let receivers = try ReceiverFile.parse("receivers:\n  - {name: slack, type: slack, urlEnv: SLACK_URL}\n",
                                               environment: ["SLACK_URL": server.url + "/T000/B000/XXXXSECRET"])
        var slack = receivers[0]
        slack.retry.initialBackoff = .milliseconds(50)
        let dispatcher = try dispatcher([slack])
        dispatcher.submit(Events.firing())
        #expect(await eventually { dispatcher.statistics[0].sent == 1 })
        dispatcher.shutdown(deadline: .seconds(2))
        let request = try #require(server.requests.last)
        #expect(request.path == "/hook/T000/B000/XXXXSECRET")
        #expect(request.json["text"] as? String == "FIRING: UpstreamConnectionFailure on outbound|9080||reviews.default.svc.cluster.local")
        #expect((request.json["blocks"] as? [Any])?.count == 2)
        #expect(dispatcher.statistics[0].endpoint == "http://127.0.0.1:\(server.port)/…")
        #expect(logs.text.contains("HTTP 500") && !logs.text.contains("XXXXSECRET"))
    }

    @Test func serverErrorsAreRetriedWithTheSameKey() async throws {
        let server = try TestReceiver(in: directory, script: ["500", "500", "500"])
        let dispatcher = try dispatcher([.quickWebhook(server.url)])
        dispatcher.submit(Events.firing())
        #expect(await eventually { dispatcher.statistics[0].sent == 1 })
        dispatcher.shutdown(deadline: .seconds(2))
        let requests = server.requests
        #expect(requests.map(\.answer) == ["500", "500", "500", "200"])
        #expect(Set(requests.compactMap { $0.headers["idempotency-key"] }).count == 1)
        let stats = dispatcher.statistics[0]
        #expect(stats.retried == 3 && stats.serverErrors == 3 && stats.attempts == 4 && stats.failed == 0 && stats.queued == 0)
    }

    @Test func tooManyRequestsWaitsForRetryAfter() async throws {
        let server = try TestReceiver(in: directory, script: ["429:2"])
        let dispatcher = try dispatcher([.quickWebhook(server.url)])
        dispatcher.submit(Events.firing())
        #expect(await eventually { dispatcher.statistics[0].sent == 1 })
        dispatcher.shutdown(deadline: .seconds(2))
        let requests = server.requests
        try #require(requests.count == 2)
        #expect(requests[1].time - requests[0].time >= 1.95, "Retry-After: 2 was not honoured (quick backoff would be 50 ms)")
        #expect(dispatcher.statistics[0].throttled == 1 && dispatcher.statistics[0].retried == 1)
    }

    @Test func aRequestPastTheTimeoutIsRetried() async throws {
        let server = try TestReceiver(in: directory, script: ["delay:10"])
        var receiver = ReceiverConfig.quickWebhook(server.url)
        receiver.timeout = .milliseconds(700)
        let dispatcher = try dispatcher([receiver])
        dispatcher.submit(Events.firing())
        #expect(await eventually { dispatcher.statistics[0].sent == 1 })
        dispatcher.shutdown(deadline: .seconds(2))
        let requests = server.requests
        try #require(requests.count == 2)
        #expect(requests[1].time - requests[0].time < 5, "the 10 s answer was not cut off by the 0.7 s timeout")
        #expect(dispatcher.statistics[0].timeouts == 1 && dispatcher.statistics[0].retried == 1)
    }

    @Test func otherClientErrorsAreNotRetriedAndAreLoggedWithoutSecrets() async throws {
        let server = try TestReceiver(in: directory, script: ["400", "echo401"])
        var receiver = ReceiverConfig.quickWebhook(server.url)
        receiver.authorization = .basic(username: "flagwatch", password: Secret("pass-word-42"))
        let dispatcher = try dispatcher([receiver])
        dispatcher.submit(Events.firing(cluster: "a"))
        #expect(await eventually { dispatcher.statistics[0].failed == 1 })
        dispatcher.submit(Events.firing(cluster: "b"))
        #expect(await eventually { dispatcher.statistics[0].failed == 2 })
        dispatcher.shutdown(deadline: .seconds(2))
        #expect(server.requests.count == 2)
        let stats = dispatcher.statistics[0]
        #expect(stats.clientErrors == 2 && stats.retried == 0 && stats.sent == 0)
        #expect(logs.text.contains("HTTP 400") && logs.text.contains("refused by the test receiver"))
        #expect(logs.text.contains("bad credentials: Basic <redacted>"))
        #expect(!logs.text.contains("pass-word-42") && !logs.text.contains(Data("flagwatch:pass-word-42".utf8).base64EncodedString()))
        #expect(directory.files(under: "state/spool").isEmpty, "refused notifications are not kept")
    }

    @Test func aReceiverThatIsDownGetsEverythingWhenItComesUp() async throws {
        let port = try freePort()
        let dispatcher = try dispatcher([.quickWebhook("http://127.0.0.1:\(port)/hook")])
        for cluster in ["a", "b", "c"] { dispatcher.submit(Events.firing(cluster: cluster)) }
        #expect(await eventually { dispatcher.statistics[0].networkErrors >= 2 })
        #expect(dispatcher.statistics[0].queued == 3)
        let server = try TestReceiver(in: directory, port: port)
        #expect(await eventually { dispatcher.statistics[0].sent == 3 })
        dispatcher.shutdown(deadline: .seconds(2))
        let clusters = server.requests.flatMap(\.alerts).compactMap { ($0["labels"] as? [String: String])?["cluster"] }
        #expect(clusters.sorted() == ["a", "b", "c"])
    }

    @Test func theSpoolOutlivesTheDispatcher() async throws {
        let port = try freePort()
        let receiver = ReceiverConfig.quickWebhook("http://127.0.0.1:\(port)/hook")
        let first = try dispatcher([receiver])
        for cluster in ["a", "b"] { first.submit(Events.firing(cluster: cluster)) }
        first.submit(Events.resolved(cluster: "a"))
        #expect(await eventually { first.statistics[0].networkErrors >= 1 })
        #expect(directory.files(under: "state/spool").count == 3, "spooled before the first attempt, so a crash loses nothing")
        first.shutdown(deadline: .milliseconds(300))
        #expect(directory.files(under: "state/spool").count == 3)

        let server = try TestReceiver(in: directory, port: port)
        let second = try dispatcher([receiver])
        #expect(await eventually { second.statistics[0].sent == 3 })
        second.shutdown(deadline: .seconds(2))
        #expect(second.statistics[0].restored == 3)
        let received = server.requests.flatMap(\.alerts).map { "\(($0["labels"] as? [String: String])?["cluster"] ?? "?") \($0["status"] ?? "?")" }
        #expect(received.sorted() == ["a firing", "a resolved", "b firing"])
        let firstOfA = received.firstIndex(of: "a firing"), resolvedA = received.firstIndex(of: "a resolved")
        #expect(firstOfA! < resolvedA!, "a resolution never overtakes its firing")
        #expect(directory.files(under: "state/spool").isEmpty)
    }

    @Test func anAcceptedNotificationIsInTheSpoolWhenSubmitReturns() throws {
        let receiver = ReceiverConfig.quickWebhook("http://127.0.0.1:\(try freePort())/hook")
        let dispatcher = try dispatcher([receiver, .quickWebhook(receiver.endpoints[0].url, name: "second")])
        let events = ["a", "b", "c"].map { Events.firing(cluster: $0) }
        #expect(dispatcher.submit(events, waitingUpTo: .seconds(2)))
        // No waiting here: accepted means written.
        #expect(directory.files(under: "state/spool").count == 6)
        dispatcher.shutdown(deadline: .zero)
    }

    @Test func groupWaitBatchesAndResolvedIsSentOnce() async throws {
        let server = try TestReceiver(in: directory)
        var receiver = ReceiverConfig.quickWebhook(server.url)
        receiver.groupWait = .milliseconds(400)
        let rule = Events.rule(repeatInterval: 1)
        let dispatcher = try dispatcher([receiver], rules: [rule])
        for cluster in ["a", "b", "c"] { dispatcher.submit(Events.firing(rule, cluster: cluster)) }
        #expect(await eventually { server.requests.count >= 1 })
        #expect(server.requests.first?.alerts.count == 3)
        for cluster in ["a", "b", "c"] { dispatcher.submit(Events.resolved(rule, cluster: cluster)) }
        #expect(await eventually { dispatcher.statistics[0].sent >= 6 })
        try await Task.sleep(for: .milliseconds(2500))
        dispatcher.shutdown(deadline: .seconds(2))
        let resolved = server.requests.flatMap(\.alerts).filter { $0["status"] as? String == "resolved" }
        #expect(resolved.count == 3, "a resolution is sent once, never repeated")
        let keys = server.requests.compactMap { $0.headers["idempotency-key"] }
        #expect(Set(keys).count == keys.count, "repeats and resolutions have keys of their own")
    }

    @Test func firingAlertsAreRepeatedUntilResolved() async throws {
        let server = try TestReceiver(in: directory)
        let rule = Events.rule(repeatInterval: 1)
        let dispatcher = try dispatcher([.quickWebhook(server.url)], rules: [rule])
        let event = Events.firing(rule)
        dispatcher.submit(event)
        #expect(await eventually { server.requests.count >= 3 })
        dispatcher.submit(Events.resolved(rule))
        #expect(await eventually { server.requests.last?.alerts.first?["status"] as? String == "resolved" })
        let count = server.requests.count
        try await Task.sleep(for: .milliseconds(1500))
        dispatcher.shutdown(deadline: .seconds(2))
        #expect(server.requests.count == count, "no repeat after the resolution")
        let keys = server.requests.compactMap { $0.headers["idempotency-key"] }
        #expect(Array(keys.prefix(3)) == ["", "-r1", "-r2"].map { "\(event.fingerprint)-firing-1767225600\($0)" })
    }

    @Test func aFullQueueDropsAndCounts() async throws {
        let port = try freePort()
        var receiver = ReceiverConfig.quickWebhook("http://127.0.0.1:\(port)/hook")
        receiver.queueCapacity = 2
        let dispatcher = try dispatcher([receiver])
        for cluster in ["a", "b", "c", "d", "e"] { dispatcher.submit(Events.firing(cluster: cluster)) }
        #expect(await eventually { dispatcher.statistics[0].dropped == 2 })
        // One batch in flight, two waiting; the two oldest waiting were dropped.
        #expect(dispatcher.statistics[0].queued == 3)
        dispatcher.shutdown(deadline: .milliseconds(100))
        #expect(directory.files(under: "state/spool").count == 3)
        #expect(logs.text.contains("queue full"))
    }

    @Test func eachReceiverGetsWhatItMatchesAndAHangingOneDelaysNoOther() async throws {
        let pages = try TestReceiver(in: directory)
        let everything = try TestReceiver(in: directory)
        // Hangs far longer than the test can take, even on a loaded machine, so it is never retried.
        let hanging = try TestReceiver(in: directory, script: ["delay:600"])
        var critical = ReceiverConfig.quickWebhook(pages.url, name: "pages")
        critical.match = ReceiverMatch(severities: ["critical"])
        var slow = ReceiverConfig.quickWebhook(hanging.url, name: "slow")
        slow.timeout = .seconds(600)
        let dispatcher = try dispatcher([critical, .quickWebhook(everything.url, name: "all"), slow])
        let start = ContinuousClock.now
        for index in 0..<20 {
            dispatcher.submit(Events.firing(Events.rule(severity: index % 4 == 0 ? "critical" : "warning"), cluster: "c\(index)"))
        }
        let submitTime = ContinuousClock.now - start
        #expect(await eventually { everything.requests.flatMap(\.alerts).count == 20 && pages.requests.flatMap(\.alerts).count == 5 })
        #expect(submitTime < .milliseconds(500), "submit waited: \(submitTime)")
        #expect(hanging.requests.count == 1, "the slow receiver still holds its first request")
        dispatcher.shutdown(deadline: .milliseconds(200))
        #expect(dispatcher.statistics.map(\.receiver) == ["pages", "all", "slow"])
        #expect(dispatcher.statistics[2].sent == 0 && dispatcher.statistics[2].queued == 20)
    }
}
