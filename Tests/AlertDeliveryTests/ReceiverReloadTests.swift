import AlertDelivery
import AlertRules
import Foundation
import Testing
import TestSupport

/// SIGHUP's half in delivery: `AlertDispatcher.reload` with changed receivers and rules, against
/// real receivers on 127.0.0.1.
struct ReceiverReloadTests: DeliveryTestSuite {
    let directory: TemporaryDirectory
    let logs = LogCapture()

    init() throws {
        directory = try TemporaryDirectory()
    }

    @Test func aChangedURLTakesTheQueuedNotificationsAlong() async throws {
        let deadPort = try freePort()
        let dispatcher = try dispatcher([.quickWebhook("http://127.0.0.1:\(deadPort)/hook")])
        for cluster in ["a", "b"] { dispatcher.submit(Events.firing(cluster: cluster)) }
        #expect(await eventually { dispatcher.statistics[0].networkErrors >= 1 })
        #expect(directory.files(under: "state/spool").count == 2)

        let server = try TestReceiver(in: directory)
        try dispatcher.reload(receivers: [.quickWebhook(server.url)], rules: [Events.rule()])
        #expect(await eventually { dispatcher.statistics[0].sent == 2 })
        let clusters = server.requests.flatMap(\.alerts).compactMap { ($0["labels"] as? [String: String])?["cluster"] }
        #expect(clusters.sorted() == ["a", "b"], "queued before the reload, sent after it to the new URL")
        #expect(dispatcher.statistics.count == 1, "the same receiver, not a second one")
        #expect(dispatcher.statistics[0].endpoint.contains("\(server.port)"))
        #expect(directory.files(under: "state/spool").isEmpty, "the moved spool is emptied as they are delivered")
        dispatcher.shutdown(deadline: .seconds(2))
        // A restart finds the spool under the new URL's name: nothing was left under the old one.
        let spools = try FileManager.default.contentsOfDirectory(atPath: directory.path + "/state/spool")
        #expect(spools.count == 1, "\(spools)")
    }

    @Test func aChangedRepeatIntervalSetsTheNextRepeat() async throws {
        let server = try TestReceiver(in: directory)
        let dispatcher = try dispatcher([.quickWebhook(server.url)], rules: [Events.rule(repeatInterval: 3600)])
        dispatcher.submit(Events.firing(Events.rule(repeatInterval: 3600)))
        #expect(await eventually { server.requests.count == 1 })
        try dispatcher.reload(receivers: [.quickWebhook(server.url)], rules: [Events.rule(repeatInterval: 1)])
        // Sent a moment ago with an hour to go; a second's interval from then makes the repeat due now.
        #expect(await eventually(within: .seconds(4)) { server.requests.count >= 3 })
        dispatcher.shutdown(deadline: .seconds(2))
        let keys = server.requests.compactMap { $0.headers["idempotency-key"] }
        #expect(keys.count >= 3 && keys[1].hasSuffix("-r1") && keys[2].hasSuffix("-r2"), "\(keys)")
    }

    @Test func aChangedMatchAppliesToNewEventsAndARemovedReceiverKeepsItsSpool() async throws {
        let server = try TestReceiver(in: directory)
        let deadPort = try freePort()
        var critical = ReceiverConfig.quickWebhook(server.url, name: "pager")
        critical.match = ReceiverMatch(severities: ["critical"])
        let removed = ReceiverConfig.quickWebhook("http://127.0.0.1:\(deadPort)/hook", name: "gone")
        let dispatcher = try dispatcher([critical, removed])
        dispatcher.submit(Events.firing(cluster: "warning-before"))
        #expect(await eventually { dispatcher.statistics[1].networkErrors >= 1 })

        var everything = critical
        everything.match = ReceiverMatch()
        try dispatcher.reload(receivers: [everything], rules: [Events.rule()])
        dispatcher.submit(Events.firing(cluster: "warning-after"))
        #expect(await eventually { dispatcher.statistics.count == 1 && dispatcher.statistics[0].sent == 1 })
        let clusters = server.requests.flatMap(\.alerts).compactMap { ($0["labels"] as? [String: String])?["cluster"] }
        #expect(clusters == ["warning-after"])
        // The removed receiver's undelivered notification stays on disk for a later start that names it again.
        #expect(await eventually { directory.files(under: "state/spool").count == 1 })
        dispatcher.shutdown(deadline: .seconds(2))
    }

    @Test func aReloadThatFailsChangesNothing() async throws {
        let server = try TestReceiver(in: directory)
        let dispatcher = try dispatcher([.quickWebhook(server.url)])
        #expect(throws: ReceiverConfigError.self) {
            try dispatcher.reload(receivers: [.quickWebhook(server.url), .quickWebhook(server.url)], rules: [])
        }
        dispatcher.submit(Events.firing())
        #expect(await eventually { dispatcher.statistics[0].sent == 1 })
        dispatcher.shutdown(deadline: .seconds(2))
    }
}
