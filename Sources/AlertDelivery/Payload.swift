import AlertRules
import RecordCounting
import Foundation

/// The request bodies, one per receiver kind.
enum Payload {
    static func render(_ batch: [AlertNotification], for receiver: ReceiverConfig, nowMicros: Int64) -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data: Data?
        switch receiver.kind {
        case .webhook: data = try? encoder.encode(WebhookEnvelope(batch, receiver))
        case .alertmanager: data = try? encoder.encode(batch.map { PostableAlert($0, receiver, nowMicros: nowMicros) })
        case .slack: data = try? encoder.encode(SlackMessage(batch))
        }
        // Encoding strings, numbers and string maps cannot fail.
        return Array(data ?? Data())
    }
}

/// Alertmanager's webhook payload (version 4), so consumers written for Alertmanager read it
/// unchanged. A firing alert's `endsAt` is the zero time, as Alertmanager sends it.
struct WebhookEnvelope: Encodable {
    struct Alert: Encodable {
        var status: String
        var labels: [String: String]
        var annotations: [String: String]
        var startsAt: String
        var endsAt: String
        var generatorURL: String
        var fingerprint: String
    }

    var version = "4"
    var groupKey: String
    var truncatedAlerts = 0
    var status: String
    var receiver: String
    var groupLabels: [String: String] = [:]
    var commonLabels: [String: String]
    var commonAnnotations: [String: String]
    var externalURL: String
    var alerts: [Alert]

    init(_ batch: [AlertNotification], _ config: ReceiverConfig) {
        groupKey = "{}:{receiver=\"\(config.name)\"}"
        status = batch.contains { $0.status == .firing } ? "firing" : "resolved"
        receiver = config.name
        commonLabels = WebhookEnvelope.common(batch.map(\.labels))
        commonAnnotations = WebhookEnvelope.common(batch.map(\.annotations))
        externalURL = config.externalURL ?? ""
        alerts = batch.map {
            Alert(status: $0.status.rawValue, labels: $0.labels, annotations: $0.annotations,
                  startsAt: RFC3339.string(micros: $0.startsAt),
                  endsAt: $0.status == .resolved ? RFC3339.string(micros: $0.endsAt ?? $0.startsAt) : "0001-01-01T00:00:00Z",
                  generatorURL: config.externalURL ?? "", fingerprint: $0.fingerprint)
        }
    }

    /// The pairs every map has.
    static func common(_ maps: [[String: String]]) -> [String: String] {
        guard var shared = maps.first else { return [:] }
        for map in maps.dropFirst() { shared = shared.filter { map[$0.key] == $0.value } }
        return shared
    }
}

/// One alert of Alertmanager's `POST /api/v2/alerts`. A firing alert is valid for four
/// re-send intervals, as Prometheus does: if flagwatch stops, Alertmanager resolves it then.
struct PostableAlert: Encodable {
    var labels: [String: String]
    var annotations: [String: String]
    var startsAt: String
    var endsAt: String
    var generatorURL: String?

    init(_ notification: AlertNotification, _ config: ReceiverConfig, nowMicros: Int64) {
        labels = notification.labels
        annotations = notification.annotations
        startsAt = RFC3339.string(micros: notification.startsAt)
        let validFor = config.resendInterval * 4
        let validMicros = validFor.components.seconds * 1_000_000 + validFor.components.attoseconds / 1_000_000_000_000
        // Alertmanager refuses an end before the start, so a start ahead of this clock moves it.
        let endsMicros = notification.status == .resolved
            ? max(notification.endsAt ?? nowMicros, notification.startsAt)
            : max(nowMicros, notification.startsAt) + validMicros
        endsAt = RFC3339.string(micros: endsMicros)
        generatorURL = config.externalURL
    }
}

/// A Slack incoming-webhook message: `text` for notifications and clients without blocks, one
/// section per alert for the channel.
struct SlackMessage: Encodable {
    struct Text: Encodable {
        var type: String
        var text: String
    }

    struct Block: Encodable {
        var type: String
        var text: Text?
        var elements: [Text]?
    }

    var text: String
    var blocks: [Block]

    /// Slack allows 50 blocks a message; the rest are counted in a last line.
    static let shownAlerts = 40

    init(_ batch: [AlertNotification]) {
        // `text` is mrkdwn too (the notification and the fallback): a cluster named `<!channel>`
        // must not mention the channel, nor `<https://…|…>` make a link.
        text = batch.count == 1 ? SlackMessage.escape(SlackMessage.headline(batch[0])) : SlackMessage.summary(batch)
        blocks = [Block(type: "header", text: Text(type: "plain_text", text: String(SlackMessage.summary(batch).prefix(150))))]
        for notification in batch.prefix(SlackMessage.shownAlerts) {
            blocks.append(Block(type: "section", text: Text(type: "mrkdwn", text: SlackMessage.section(notification))))
        }
        if batch.count > SlackMessage.shownAlerts {
            blocks.append(Block(type: "context", elements: [Text(type: "mrkdwn", text: "…and \(batch.count - SlackMessage.shownAlerts) more")]))
        }
    }

    static func headline(_ n: AlertNotification) -> String {
        "\(n.status == .firing ? "FIRING" : "RESOLVED"): \(n.rule) on \(n.cluster)"
    }

    static func summary(_ batch: [AlertNotification]) -> String {
        let firing = batch.filter { $0.status == .firing }.count
        let parts = [(firing, "firing"), (batch.count - firing, "resolved")].filter { $0.0 > 0 }.map { "\($0.0) \($0.1)" }
        return "flagwatch: " + parts.joined(separator: ", ")
    }

    static func section(_ n: AlertNotification) -> String {
        let icon = n.status == .firing ? ":red_circle:" : ":large_green_circle:"
        var lines = ["\(icon) *\(escape(headline(n)))*"]
        if let summary = n.annotations["summary"] ?? n.annotations["description"] { lines.append(escape(summary)) }
        lines.append("\(n.count) \(n.flags.joined(separator: "/")) of \(n.requests) requests (\(Percent.string(n.ratio))) in \(n.window)s · severity \(escape(n.labels["severity"] ?? "?"))")
        lines.append("since \(RFC3339.string(micros: n.startsAt))" + (n.status == .resolved ? ", resolved \(RFC3339.string(micros: n.endsAt ?? n.startsAt))" : ""))
        if let cause = n.labels["cause"] { lines.append("probable cause *\(escape(cause))*") }
        if let runbook = n.annotations["runbook"], !runbook.isEmpty, n.status == .firing { lines.append("next:\n```\n\(escape(runbook))\n```") }
        return String(lines.joined(separator: "\n").prefix(2900))
    }

    /// The three characters Slack's mrkdwn reserves.
    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }
}
