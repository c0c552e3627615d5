import AlertDelivery
import AlertRules
import RecordCounting
import ArgumentParser
import FlagMetrics
import Foundation
import Logging

/// `--webhook URL` and the rules file's `receivers:` section, made into one dispatcher.
enum DeliveryArguments {
    /// Receivers named by the arguments; empty when there are none.
    static func receivers(webhooks: [String], rulesFile: String?) throws -> [ReceiverConfig] {
        var receivers: [ReceiverConfig] = []
        if let rulesFile {
            do {
                receivers = try ReceiverFile.parse(try String(contentsOfFile: rulesFile, encoding: .utf8))
            } catch {
                throw ValidationError("--rules: \(rulesFile): receivers: \(error)")
            }
        }
        for (index, url) in webhooks.enumerated() {
            do {
                receivers.append(try ReceiverConfig(webhook: url, name: webhooks.count == 1 ? "webhook" : "webhook-\(index + 1)"))
            } catch {
                throw ValidationError("--webhook: \(error)")
            }
        }
        return receivers
    }

    /// A dispatcher spooling under `stateDirectory` (or a temporary folder, said on stderr), or
    /// nil without receivers unless `reloadable` (a rules file a reload may give receivers).
    /// Delivery logs go to standard error.
    static func dispatcher(_ receivers: [ReceiverConfig], rules: [AlertRule], stateDirectory: String?,
                           reloadable: Bool = false, diagnostics: StandardError) throws -> AlertDispatcher?
    {
        guard !receivers.isEmpty || reloadable else { return nil }
        let logger = Logger(label: "flagwatch.delivery") { DiagnosticLogHandler(label: $0) }
        let spool = stateDirectory ?? NSTemporaryDirectory() + "flagwatch-spool-\(getpid())"
        if stateDirectory == nil, !receivers.isEmpty {
            diagnostics.write("flagwatch: no state directory: undelivered notifications are spooled in \(spool) and not kept across restarts")
        }
        return try AlertDispatcher(receivers: receivers, rules: rules, stateDirectory: spool, logger: logger)
    }

    /// `flagwatch_notifications_total{receiver,result}` for the metrics endpoint.
    static func notificationSeries(_ dispatcher: AlertDispatcher?) -> [ExtraSeries] {
        guard let dispatcher else { return [] }
        var byReceiver: [String: [String: Int]] = [:]
        for endpoint in dispatcher.statistics {
            for (result, count) in [("sent", endpoint.sent), ("retried", endpoint.retried), ("failed", endpoint.failed), ("dropped", endpoint.dropped)] {
                byReceiver[endpoint.receiver, default: [:]][result, default: 0] += count
            }
        }
        return byReceiver.sorted { $0.key < $1.key }.flatMap { receiver, results in
            results.sorted { $0.key < $1.key }.map {
                ExtraSeries(name: "flagwatch_notifications_total", help: "Notifications by receiver and outcome (retried counts attempts tried again).",
                            labels: [("receiver", receiver), ("result", $0.key)], value: Double($0.value))
            }
        }
    }
}

/// Delivery logs on standard error, as `StandardError` lines: they quote cluster names (from
/// the log) and receivers' response bodies, which must not act on the terminal either.
struct DiagnosticLogHandler: LogHandler {
    let label: String
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .info

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let fields = metadata.merging(event.metadata ?? [:]) { $1 }.sorted { $0.key < $1.key }.map { " \($0.key)=\($0.value)" }.joined()
        let now = Int64(Date().timeIntervalSince1970 * 1_000_000)
        StandardError().write("\(RFC3339.string(micros: now)) \(event.level) \(label):\(fields) \(event.message)")
    }
}
