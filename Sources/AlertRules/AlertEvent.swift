import FailureCauses
import Foundation
import RecordCounting

/// What `tail` prints and sends and `scan --alerts` replays: one alert starting or ending.
public struct AlertEvent: Sendable, Equatable {
    public enum Status: String, Sendable { case firing, resolved }

    public var status: Status
    public var rule: String
    public var cluster: String
    public var flags: [String]
    public var count: Int
    public var requests: Int
    public var ratio: Double
    public var window: Int
    /// Microseconds since 1970.
    public var startsAt: Int64
    public var endsAt: Int64?
    public var labels: [String: String]
    public var annotations: [String: String]
    /// The probable cause (`FailureCause.name`), also the `cause` label; nil until attributed.
    public var cause: String?

    /// A stable identity of the alert: the same rule on the same key has the same
    /// fingerprint on every machine and after a restart (a hash of the sorted label set).
    public var fingerprint: String { AlertEvent.fingerprint(labels) }

    public init(status: Status, rule: AlertRule, cluster: String, count: Int, requests: Int, startsAt: Int64, endsAt: Int64?) {
        self.status = status
        self.rule = rule.name
        self.cluster = cluster
        flags = rule.flagCodes
        self.count = count
        self.requests = requests
        ratio = requests > 0 ? Double(count) / Double(requests) : 0
        window = rule.window
        self.startsAt = startsAt
        self.endsAt = endsAt
        var labels = rule.labels
        labels["alertname"] = rule.name
        labels["cluster"] = cluster
        labels["flag"] = rule.flagCodes.joined(separator: ",")
        labels["severity"] = rule.severity
        self.labels = labels
        let values = ["cluster": cluster, "flag": labels["flag"]!, "count": String(count), "ratio": Percent.string(ratio)]
        annotations = rule.annotations.mapValues { AlertEvent.expand($0, values) }
    }

    /// Names the alert's cause: the `cause` label (a fixed set of names, safe to route and group
    /// on), `{{cause}}` in the annotations, and a `runbook` annotation with the commands to run
    /// next for this cluster (one a line), unless the rule has a runbook of its own.
    public mutating func attribute(_ cause: FailureCause) {
        self.cause = cause.name
        labels["cause"] = cause.name
        annotations = annotations.mapValues { AlertEvent.expand($0, ["cause": cause.name]) }
        if annotations["runbook"] == nil {
            annotations["runbook"] = Runbook.commands(for: cause, cluster: cluster).joined(separator: "\n")
        }
    }

    /// Replaces `{{name}}` placeholders; unknown ones are left as written.
    static func expand(_ template: String, _ values: [String: String]) -> String {
        var out = template
        for (name, value) in values { out = out.replacingOccurrences(of: "{{\(name)}}", with: value) }
        return out
    }

    /// FNV-1a 64 over `name=value` pairs sorted by name, as 16 hex digits.
    public static func fingerprint(_ labels: [String: String]) -> String {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for (name, value) in labels.sorted(by: { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }) {
            for byte in name.utf8 + [0x3D] + value.utf8 + [0] {
                hash ^= UInt64(byte)
                hash = hash &* 0x0000_0100_0000_01B3
            }
        }
        let hex = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}

extension AlertEvent: Encodable {
    enum CodingKeys: String, CodingKey {
        case status, rule, cluster, flags, cause, count, requests, ratio, window, startsAt, endsAt, fingerprint, labels, annotations
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(status.rawValue, forKey: .status)
        try container.encode(rule, forKey: .rule)
        try container.encode(cluster, forKey: .cluster)
        try container.encode(flags, forKey: .flags)
        try container.encodeIfPresent(cause, forKey: .cause)
        try container.encode(count, forKey: .count)
        try container.encode(requests, forKey: .requests)
        try container.encode(ratio, forKey: .ratio)
        try container.encode("\(window)s", forKey: .window)
        try container.encode(RFC3339.string(micros: startsAt), forKey: .startsAt)
        try container.encode(endsAt.map { RFC3339.string(micros: $0) }, forKey: .endsAt)
        try container.encode(fingerprint, forKey: .fingerprint)
        try container.encode(labels, forKey: .labels)
        try container.encode(annotations, forKey: .annotations)
    }

    /// One line of JSON, keys sorted: the `--alerts json` output.
    public var jsonLine: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self)
    }
}
