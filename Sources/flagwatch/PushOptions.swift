import AccessLogFormat
import ArgumentParser
import FlagMetrics
import Foundation
import LiveTail
import LogReceivers

/// `tail`'s pushed inputs: OTLP over gRPC and HTTP, and Envoy's gRPC access-log service.
struct PushOptions: ParsableArguments {
    @Option(name: .customLong("otlp-grpc"), help: ArgumentHelp(
        "Receive OTLP logs over gRPC (LogsService/Export) on HOST:PORT (conventionally 4317); 'PORT' binds 127.0.0.1.",
        valueName: "address"))
    var otlpGRPC: String?

    @Option(name: .customLong("otlp-http"), help: ArgumentHelp(
        "Receive OTLP logs over HTTP (POST /v1/logs, protobuf or JSON) on HOST:PORT (conventionally 4318).", valueName: "address"))
    var otlpHTTP: String?

    @Option(name: .customLong("envoy-als"), help: ArgumentHelp(
        "Receive Envoy's gRPC access-log service (envoy.service.accesslog.v3, HTTP and TCP entries) on HOST:PORT.",
        valueName: "address"))
    var envoyALS: String?

    @Option(name: .customLong("push-tls-cert"), help: ArgumentHelp("TLS certificate chain (PEM) for the receivers.", valueName: "file"))
    var tlsCertificate: String?

    @Option(name: .customLong("push-tls-key"), help: ArgumentHelp("TLS private key (PEM) for the receivers.", valueName: "file"))
    var tlsKey: String?

    @Option(name: .customLong("push-token-file"), help: ArgumentHelp(
        "Senders must present this file's token as 'authorization: Bearer TOKEN'.", valueName: "file"))
    var tokenFile: String?

    @Option(name: .customLong("push-token-env"), help: ArgumentHelp(
        "As --push-token-file, from this environment variable.", valueName: "name"))
    var tokenEnvironment: String?

    @Option(name: .customLong("push-max-message-bytes"), help: "Largest pushed message taken; larger ones are refused.")
    var maxMessageBytes = 4 << 20

    @Option(name: .customLong("push-queue-bytes"), help: "Pushed records waiting to be counted, at most; past it senders are slowed or refused.")
    var queueBytes = 32 << 20

    var isEnabled: Bool { otlpGRPC != nil || otlpHTTP != nil || envoyALS != nil }

    func validate() throws {
        for (flag, value) in [("--otlp-grpc", otlpGRPC), ("--otlp-http", otlpHTTP), ("--envoy-als", envoyALS)] {
            if let value, ListenAddress(value) == nil { throw ValidationError("\(flag): '\(value)' is not HOST:PORT, :PORT or PORT") }
        }
        if (tlsCertificate == nil) != (tlsKey == nil) { throw ValidationError("--push-tls-cert and --push-tls-key go together") }
        if tokenFile != nil, tokenEnvironment != nil { throw ValidationError("--push-token-file and --push-token-env exclude each other") }
        if maxMessageBytes < 1024 { throw ValidationError("--push-max-message-bytes must be at least 1024") }
        if queueBytes < maxMessageBytes { throw ValidationError("--push-queue-bytes must be at least --push-max-message-bytes") }
    }

    /// The receivers' settings; the token is read now (a file's trailing newline is not part of it).
    func settings(jsonKeys: String?) throws -> ReceiverSettings {
        func address(_ text: String?) -> ReceiverSettings.Address? {
            text.flatMap(ListenAddress.init).map { ReceiverSettings.Address(host: $0.host, port: $0.port) }
        }
        var settings = ReceiverSettings()
        settings.otlpGRPC = address(otlpGRPC)
        settings.otlpHTTP = address(otlpHTTP)
        settings.envoyALS = address(envoyALS)
        settings.tlsCertificate = tlsCertificate
        settings.tlsKey = tlsKey
        settings.maxMessageBytes = maxMessageBytes
        if let jsonKeys { settings.attributeKeys = try JSONKeys(overrides: jsonKeys) }
        if let tokenFile {
            guard let text = try? String(contentsOfFile: tokenFile, encoding: .utf8) else {
                throw ValidationError("--push-token-file: cannot read \(tokenFile)")
            }
            settings.token = BearerToken(try nonEmpty(text.trimmingCharacters(in: .newlines), "--push-token-file \(tokenFile)"))
        } else if let tokenEnvironment {
            guard let text = ProcessInfo.processInfo.environment[tokenEnvironment] else {
                throw ValidationError("--push-token-env: \(tokenEnvironment) is not set")
            }
            settings.token = BearerToken(try nonEmpty(text, "--push-token-env \(tokenEnvironment)"))
        }
        return settings
    }

    private func nonEmpty(_ token: String, _ source: String) throws -> String {
        guard !token.isEmpty else { throw ValidationError("\(source): the token is empty") }
        return token
    }

    /// `/metrics` series of the receivers.
    static func series(_ receivers: PushReceivers?, inbox: PushInbox?) -> [ExtraSeries] {
        guard let receivers, let inbox else { return [] }
        var series: [ExtraSeries] = []
        for (receiver, outcomes) in receivers.statistics.messages.sorted(by: { $0.key < $1.key }) {
            for outcome in ReceiverStatistics.Outcome.allCases {
                series.append(ExtraSeries(name: "flagwatch_pushed_messages_total",
                                          help: "Pushed messages by receiver and outcome (refused: the inbox stayed full; answered 429 or RESOURCE_EXHAUSTED).",
                                          labels: [("receiver", receiver), ("result", outcome.rawValue)], value: Double(outcomes[outcome] ?? 0)))
            }
        }
        for (input, records) in receivers.statistics.records.sorted(by: { $0.key < $1.key }) {
            series.append(ExtraSeries(name: "flagwatch_pushed_records_total", help: "Pushed records taken in, by input (receiver/node/log).",
                                      labels: [("input", input)], value: Double(records)))
        }
        series.append(ExtraSeries(name: "flagwatch_push_queue_bytes", help: "Bytes of pushed records waiting to be counted.",
                                  labels: [], value: Double(inbox.queuedBytes)))
        return series
    }
}
