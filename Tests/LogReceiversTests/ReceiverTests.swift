import AccessLogFormat
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import GRPCProtobuf
@testable import LiveTail
@testable import LogReceivers
import ReceiverProtos
import Testing
import TestSupport

/// The receivers as senders meet them: real gRPC and HTTP clients on 127.0.0.1, each test with
/// its own receivers on free ports and its own inbox, which nobody drains unless the test does.
@Suite struct ReceiverTests {
    @Test(.timeLimit(.minutes(1)))
    func sendersWithoutTheRightTokenAreRefusedAndCounted() async throws {
        var settings = ReceiverTests.settings(grpc: true, http: true, als: true)
        settings.token = BearerToken("s3cret")
        let inbox = PushInbox(capacityBytes: 1 << 20)
        try await withReceivers(settings, inbox: inbox) { receivers in
            let request = ReceiverTests.export(node: "node-a", log: "otel", bodies: ["a line"])
            let refused: [String?] = [nil, "Bearer wrong", "s3cret", "Basic s3cret", "Bearer s3cret2"]
            try await withClient(port: receivers.port("otlp-grpc")) { client in
                let logs = LogsService.Client(wrapping: client)
                for header in refused {
                    let code = try await ReceiverTests.exportCode(logs, request, metadata: header.map { ["authorization": .string($0)] } ?? [:])
                    #expect(code == .unauthenticated, "authorization: \(header ?? "none")")
                }
                #expect(try await ReceiverTests.exportCode(logs, request, metadata: ["authorization": "Bearer s3cret"]) == nil)
            }
            let body = try request.serializedBytes() as Data
            for header in refused {
                let reply = try await ReceiverTests.post(port: receivers.port("otlp-http"), body, headers: header.map { ["Authorization: \($0)"] } ?? [])
                #expect(reply.status == 401, "authorization: \(header ?? "none"): \(reply)")
            }
            // The scheme is case-insensitive (RFC 7235), the token not.
            #expect(try await ReceiverTests.post(port: receivers.port("otlp-http"), body, headers: ["Authorization: bearer s3cret"]).status == 200)

            try await withClient(port: receivers.port("envoy-als")) { client in
                let als = AccessLogService.Client(wrapping: client)
                let message = ReceiverTests.alsMessage(node: "node-a", log: "als", entries: [ReceiverTests.alsEntry(code: 200)])
                let withoutToken = try await ReceiverTests.streamCode(als, [message])
                let withToken = try await ReceiverTests.streamCode(als, [message], metadata: ["authorization": "Bearer s3cret"])
                #expect(withoutToken == .unauthenticated)
                #expect(withToken == nil)
            }

            let messages = receivers.statistics.messages
            #expect(messages["otlp-grpc"] == [.unauthorized: refused.count, .accepted: 1])
            #expect(messages["otlp-http"] == [.unauthorized: refused.count, .accepted: 1])
            #expect(messages["envoy-als"] == [.unauthorized: 1, .accepted: 1])
            #expect(receivers.statistics.records == ["otlp-grpc/node-a/otel": 1, "otlp-http/node-a/otel": 1, "envoy-als/node-a/als": 1])
            // Nothing a refused sender sent reached the inbox.
            #expect(inbox.counters.batches == 3)
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func aFullInboxRefusesExportsInsteadOfGrowing() async throws {
        var settings = ReceiverTests.settings(grpc: true, http: true)
        settings.patience = .milliseconds(100)
        let capacity = 64 << 10
        let inbox = PushInbox(capacityBytes: capacity)
        // One record of 20 KiB: its batch is the body and its newline.
        let request = ReceiverTests.export(node: "node-a", log: "otel", bodies: [String(repeating: "x", count: 20 << 10)])
        let messageBytes = (20 << 10) + 1
        try await withReceivers(settings, inbox: inbox) { receivers in
            try await withClient(port: receivers.port("otlp-grpc")) { client in
                let logs = LogsService.Client(wrapping: client)
                var answered = 0, refusal: RPCError.Code?
                while refusal == nil, answered < 10 {
                    let started = ContinuousClock.now
                    refusal = try await ReceiverTests.exportCode(logs, request)
                    if refusal == nil {
                        answered += 1
                    } else {
                        // It waited its patience for room before giving up.
                        #expect(ContinuousClock.now - started >= settings.patience)
                    }
                    #expect(inbox.queuedBytes <= capacity)
                }
                #expect(refusal == .resourceExhausted)
                #expect(answered == capacity / messageBytes)

                let reply = try await ReceiverTests.post(port: receivers.port("otlp-http"), try request.serializedBytes())
                #expect(reply.status == 429, "\(reply)")
                #expect(reply.headers["retry-after"] == "1", "\(reply)")
                // The refused messages left nothing behind.
                #expect(inbox.counters == PushInbox.Counters(batches: answered, bytes: answered * messageBytes))

                // Once the follow loop has taken what waited, the sender's retry is accepted.
                #expect(inbox.take(maxBytes: .max).count == answered)
                #expect(try await ReceiverTests.exportCode(logs, request) == nil)
                #expect(try await ReceiverTests.post(port: receivers.port("otlp-http"), try request.serializedBytes()).status == 200)

                let messages = receivers.statistics.messages
                #expect(messages["otlp-grpc"] == [.accepted: answered + 1, .refused: 1])
                #expect(messages["otlp-http"] == [.accepted: 1, .refused: 1])
                #expect(receivers.statistics.records["otlp-grpc/node-a/otel"] == answered + 1)
            }
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func messagesThatDoNotDecodeAreAnsweredClearlyAndTheReceiverKeepsServing() async throws {
        var settings = ReceiverTests.settings(grpc: true, http: true)
        settings.maxMessageBytes = 16 << 10
        let inbox = PushInbox(capacityBytes: 1 << 20)
        let good = ReceiverTests.export(node: "node-a", log: "otel", bodies: ["a line"])
        try await withReceivers(settings, inbox: inbox) { receivers in
            let port = try receivers.port("otlp-http")
            let notProtobuf = Data("not a protobuf".utf8)
            let cases: [(String, Data, String, [String], Int, String)] = [
                ("garbage as protobuf", notProtobuf, "application/x-protobuf", [], 400, "does not decode"),
                ("garbage as JSON", Data("{\"resourceLogs\": [".utf8), "application/json", [], 400, "does not decode"),
                ("past the limit", Data(count: 32 << 10), "application/x-protobuf", [], 413, "larger than 16384 bytes"),
                ("text", Data("a line".utf8), "text/plain", [], 415, "expected application/x-protobuf or application/json"),
                ("gzip", try good.serializedBytes(), "application/x-protobuf", ["Content-Encoding: gzip"], 415, "uncompressed"),
            ]
            for (name, body, contentType, headers, status, message) in cases {
                let reply = try await ReceiverTests.post(port: port, body, contentType: contentType, headers: headers)
                #expect(reply.status == status, "\(name): \(reply)")
                #expect(reply.body.contains(message), "\(name): \(reply)")
            }
            #expect(try await ReceiverTests.post(port: port, try good.serializedBytes()).status == 200)

            try await withClient(port: receivers.port("otlp-grpc")) { client in
                let logs = LogsService.Client(wrapping: client)
                do {
                    _ = try await logs.export(request: ClientRequest(message: good), serializer: RawBytes(bytes: Array(notProtobuf)),
                                              deserializer: ProtobufDeserializer<LogsResponse>())
                    Issue.record("garbage was accepted")
                } catch let error as RPCError {
                    #expect(error.code == .invalidArgument)
                    #expect(error.message.contains("ExportLogsServiceRequest that does not decode"), "\(error)")
                }
                #expect(try await ReceiverTests.exportCode(logs, good) == nil)
            }

            let messages = receivers.statistics.messages
            #expect(messages["otlp-http"] == [.malformed: cases.count, .accepted: 1])
            #expect(messages["otlp-grpc"] == [.malformed: 1, .accepted: 1])
            #expect(inbox.counters.batches == 2)
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func envoyAccessLogStreamsAreCountedByTheirFirstMessagesIdentifier() async throws {
        let inbox = PushInbox(capacityBytes: 1 << 20)
        try await withReceivers(ReceiverTests.settings(als: true), inbox: inbox) { receivers in
            var failed = ReceiverTests.alsEntry(code: 503, cluster: "outbound|80||a")
            failed.commonProperties.responseFlags.upstreamConnectionFailure = true
            failed.commonProperties.responseFlags.upstreamRetryLimitExceeded = true
            let first = ReceiverTests.alsMessage(node: "node-a", log: "als", entries: [failed, ReceiverTests.alsEntry(code: 200, cluster: "outbound|80||a")])
            // Envoy sends the identifier once, in the stream's first message.
            let later = ReceiverTests.alsMessage(node: nil, log: nil, entries: [ReceiverTests.alsEntry(code: 204, cluster: "outbound|80||b")])
            try await withClient(port: receivers.port("envoy-als")) { client in
                let als = AccessLogService.Client(wrapping: client)
                let identified = try await ReceiverTests.streamCode(als, [first, later])
                let anonymous = try await ReceiverTests.streamCode(als, [later, first])
                #expect(identified == nil)
                #expect(anonymous == .invalidArgument)
            }

            #expect(receivers.statistics.records == ["envoy-als/node-a/als": 3])
            #expect(receivers.statistics.messages["envoy-als"] == [.accepted: 2, .malformed: 1])
            let taken = inbox.take(maxBytes: .max)
            #expect(taken.map(\.input) == ["envoy-als/node-a/als", "envoy-als/node-a/als"])
            #expect(taken.flatMap(ReceiverTests.described) == [
                "flags=UF,URX cluster=outbound|80||a code=503 bytes-received=0 bytes-sent=0",
                "flags=- cluster=outbound|80||a code=200 bytes-received=0 bytes-sent=0",
                "flags=- cluster=outbound|80||b code=204 bytes-received=0 bytes-sent=0",
            ])
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func otlpJSONOverHTTPIsCountedUnderTheSendersNodeAndLogName() async throws {
        let inbox = PushInbox(capacityBytes: 1 << 20)
        // OTLP/JSON as exporters write it: lowerCamelCase keys, 64-bit integers as strings.
        let json = """
            {"resourceLogs": [{
              "resource": {"attributes": [
                {"key": "node_name", "value": {"stringValue": "sidecar~10.0.0.7~pod-a.default"}},
                {"key": "log_name", "value": {"stringValue": "otel_attributes"}},
                {"key": "service.name", "value": {"stringValue": "ignored-beside-node_name"}}]},
              "scopeLogs": [{"scope": {"name": "envoy"}, "logRecords": [
                {"timeUnixNano": "1700000000000000000", "attributes": [
                  {"key": "response_code", "value": {"intValue": "503"}},
                  {"key": "response_flags", "value": {"stringValue": "UF"}},
                  {"key": "upstream_cluster", "value": {"stringValue": "outbound|80||a"}}]},
                {"timeUnixNano": "1700000000000000000", "body": {"stringValue": "a line\\n"}, "unknownField": true}]}]}]}
            """
        try await withReceivers(ReceiverTests.settings(http: true), inbox: inbox) { receivers in
            let reply = try await ReceiverTests.post(port: receivers.port("otlp-http"), Data(json.utf8), contentType: "application/json; charset=utf-8")
            #expect(reply.status == 200, "\(reply)")
            #expect(reply.headers["content-type"] == "application/json")
            #expect(try LogsResponse(jsonString: reply.body) == LogsResponse())

            #expect(receivers.statistics.records == ["otlp-http/sidecar~10.0.0.7~pod-a.default/otel_attributes": 2])
            #expect(receivers.statistics.messages["otlp-http"] == [.accepted: 1])
            let taken = inbox.take(maxBytes: .max)
            #expect(taken.flatMap(ReceiverTests.described) == ["a line", "code=503 flags=UF cluster=outbound|80||a time=1700000000"])
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func everyALSResponseFlagMapsToTheFlagEnvoyPrints() {
        // Envoy's ResponseFlags fields in proto order, with the code %RESPONSE_FLAGS% prints.
        let fields: [(WritableKeyPath<ALSResponseFlags, Bool>, String)] = [
            (\.failedLocalHealthcheck, "LH"), (\.noHealthyUpstream, "UH"), (\.upstreamRequestTimeout, "UT"), (\.localReset, "LR"),
            (\.upstreamRemoteReset, "UR"), (\.upstreamConnectionFailure, "UF"), (\.upstreamConnectionTermination, "UC"),
            (\.upstreamOverflow, "UO"), (\.noRouteFound, "NR"), (\.delayInjected, "DI"), (\.faultInjected, "FI"),
            (\.rateLimited, "RL"), (\.rateLimitServiceError, "RLSE"), (\.downstreamConnectionTermination, "DC"),
            (\.upstreamRetryLimitExceeded, "URX"), (\.streamIdleTimeout, "SI"), (\.invalidEnvoyRequestHeaders, "IH"),
            (\.downstreamProtocolError, "DPE"), (\.upstreamMaxStreamDurationReached, "UMSDR"), (\.responseFromCacheFilter, "RFCF"),
            (\.noFilterConfigFound, "NFCF"), (\.durationTimeout, "DT"), (\.upstreamProtocolError, "UPE"), (\.noClusterFound, "NC"),
            (\.overloadManager, "OM"), (\.dnsResolutionFailure, "DF"), (\.downstreamRemoteReset, "DR"),
        ]
        var all = ALSResponseFlags()
        for (field, code) in fields {
            var proto = ALSResponseFlags()
            proto[keyPath: field] = true
            all[keyPath: field] = true
            #expect(AccessLogEntryMapping.flags(proto).members.map(\.shortCode) == [code])
        }
        // UAEX is a message (the reason), not a boolean: its presence is the flag.
        var unauthorized = ALSResponseFlags()
        unauthorized.unauthorizedDetails = .init()
        all.unauthorizedDetails = .init()
        #expect(AccessLogEntryMapping.flags(unauthorized).members.map(\.shortCode) == ["UAEX"])
        #expect(AccessLogEntryMapping.flags(ALSResponseFlags()).isEmpty)
        // No two fields share a flag; DO and UDO have no field.
        #expect(Set(AccessLogEntryMapping.flags(all).members.map(\.shortCode)) == Set(ResponseFlag.allCases.map(\.shortCode)).subtracting(["DO", "UDO"]))
    }

    @Test(.timeLimit(.minutes(1)))
    func otlpRecordsWithAccessLogAttributesBecomeFieldsAndOtherBodiesLines() throws {
        var request = ReceiverTests.export(node: nil, log: nil, bodies: ["first line\r\n", ""])
        request.resourceLogs[0].resource.attributes = [ReceiverTests.attribute("service.name", "checkout")]
        request.resourceLogs[0].scopeLogs[0].scope.name = "envoy"
        var attributes = LogRecord()
        attributes.attributes = [ReceiverTests.attribute("response_code", 503), ReceiverTests.attribute("upstream_cluster", "outbound|80||a"),
                                 ReceiverTests.attribute("user", "not a field")]
        attributes.observedTimeUnixNano = 1_700_000_000_000_000_000
        var keyValueBody = LogRecord()
        keyValueBody.body.kvlistValue.values = [ReceiverTests.attribute("response_flags", "UH"), ReceiverTests.attribute("response_code", 503)]
        var numberBody = LogRecord()
        numberBody.body.intValue = 7
        request.resourceLogs[0].scopeLogs[0].logRecords += [attributes, keyValueBody, numberBody]

        let mapped = try OTLPLogMapping(receiver: "otlp-grpc", keys: .standard).map(request)
        // service.name names the node when no node_name is given, the scope the log.
        #expect(mapped.recordsByInput == ["otlp-grpc/checkout/envoy": 5])
        #expect(mapped.batches.map(\.input) == ["otlp-grpc/checkout/envoy", "otlp-grpc/checkout/envoy"])
        guard case .lines(let lines)? = mapped.batches.first?.records else { Issue.record("no lines batch first"); return }
        // An empty body stays a record (`-`), not a blank line that would be skipped.
        #expect(String(decoding: lines, as: UTF8.self) == "first line\n-\n")
        #expect(mapped.batches.dropFirst().flatMap(ReceiverTests.described) == [
            "code=503 cluster=outbound|80||a time=1700000000",
            "flags=UH code=503",
            // A body that is no string holds no access-log fields: a record without them.
            "other=",
        ])
    }
}

// MARK: - Helpers

typealias LogsService = Opentelemetry_Proto_Collector_Logs_V1_LogsService
typealias AccessLogService = Envoy_Service_Accesslog_V3_AccessLogService
typealias LogsRequest = Opentelemetry_Proto_Collector_Logs_V1_ExportLogsServiceRequest
typealias LogsResponse = Opentelemetry_Proto_Collector_Logs_V1_ExportLogsServiceResponse
typealias LogRecord = Opentelemetry_Proto_Logs_V1_LogRecord
typealias ALSMessage = Envoy_Service_Accesslog_V3_StreamAccessLogsMessage
typealias ALSEntry = Envoy_Data_Accesslog_V3_HTTPAccessLogEntry
typealias ALSResponseFlags = Envoy_Data_Accesslog_V3_ResponseFlags

extension ReceiverTests {
    struct HTTPReply: CustomStringConvertible {
        var status: Int
        /// Names lowercased.
        var headers: [String: String]
        var body: String
        var description: String { "\(status) \(headers) \(body.debugDescription)" }
    }

    /// The receivers asked for, each on a free port of 127.0.0.1.
    static func settings(grpc: Bool = false, http: Bool = false, als: Bool = false) -> ReceiverSettings {
        let any = ReceiverSettings.Address(host: "127.0.0.1", port: 0)
        var settings = ReceiverSettings()
        settings.otlpGRPC = grpc ? any : nil
        settings.otlpHTTP = http ? any : nil
        settings.envoyALS = als ? any : nil
        return settings
    }

    static func export(node: String?, log: String?, bodies: [String]) -> LogsRequest {
        var scope = Opentelemetry_Proto_Logs_V1_ScopeLogs()
        scope.logRecords = bodies.map { body in
            var record = LogRecord()
            record.body.stringValue = body
            return record
        }
        var resource = Opentelemetry_Proto_Logs_V1_ResourceLogs()
        if let node { resource.resource.attributes.append(attribute("node_name", node)) }
        if let log { resource.resource.attributes.append(attribute("log_name", log)) }
        resource.scopeLogs = [scope]
        var request = LogsRequest()
        request.resourceLogs = [resource]
        return request
    }

    static func attribute(_ key: String, _ value: String) -> Opentelemetry_Proto_Common_V1_KeyValue {
        var attribute = Opentelemetry_Proto_Common_V1_KeyValue()
        attribute.key = key
        attribute.value.stringValue = value
        return attribute
    }

    static func attribute(_ key: String, _ value: Int64) -> Opentelemetry_Proto_Common_V1_KeyValue {
        var attribute = Opentelemetry_Proto_Common_V1_KeyValue()
        attribute.key = key
        attribute.value.intValue = value
        return attribute
    }

    static func alsEntry(code: UInt32, cluster: String = "") -> ALSEntry {
        var entry = ALSEntry()
        entry.commonProperties.upstreamCluster = cluster
        entry.response.responseCode.value = code
        return entry
    }

    /// A message of HTTP entries; with the identifier when `node` is given.
    static func alsMessage(node: String?, log: String?, entries: [ALSEntry]) -> ALSMessage {
        var message = ALSMessage()
        if let node {
            message.identifier.node.id = node
            message.identifier.logName = log ?? ""
        }
        message.httpLogs.logEntry = entries
        return message
    }

    /// Each record of the batch, as samples print it; a lines batch's lines as they are.
    static func described(_ batch: PushInbox.Batch) -> [String] {
        switch batch.records {
        case .lines(let bytes):
            return String(decoding: bytes, as: UTF8.self).split(separator: "\n").map(String.init)
        case .fields(let writer, _):
            var records: [String] = []
            writer.bytes.withUnsafeBytes { bytes in FieldRecords.forEach(in: bytes) { records.append(FieldRecords.describe($0)) } }
            return records
        }
    }

    /// The export's status: nil when it was answered OK.
    static func exportCode(_ logs: LogsService.Client<HTTP2ClientTransport.Posix>, _ request: LogsRequest,
                           metadata: Metadata = [:]) async throws -> RPCError.Code?
    {
        do {
            _ = try await logs.export(request, metadata: metadata)
            return nil
        } catch let error as RPCError {
            return error.code
        }
    }

    /// Sends the messages on one stream, as Envoy does, and closes it: nil when answered OK.
    static func streamCode(_ als: AccessLogService.Client<HTTP2ClientTransport.Posix>, _ messages: [ALSMessage],
                           metadata: Metadata = [:]) async throws -> RPCError.Code?
    {
        do {
            _ = try await als.streamAccessLogs(metadata: metadata) { writer in try await writer.write(contentsOf: messages) }
            return nil
        } catch let error as RPCError {
            return error.code
        }
    }

    /// POSTs to /v1/logs with curl.
    static func post(port: Int, _ body: Data, contentType: String = "application/x-protobuf", headers: [String] = []) async throws -> HTTPReply {
        // No `Expect: 100-continue`, for which curl would wait a second on every larger body.
        var arguments = ["/usr/bin/curl", "-sS", "-i", "--max-time", "20", "-H", "Expect:", "-H", "Content-Type: \(contentType)", "--data-binary", "@-"]
        for header in headers { arguments += ["-H", header] }
        arguments.append("http://127.0.0.1:\(port)/v1/logs")
        let run = try await offPool { [arguments] in try ChildProcess.run(arguments, stdin: body) }
        try #require(run.status == 0, "curl: \(String(decoding: run.stderr, as: UTF8.self))")
        let text = String(decoding: run.stdout, as: UTF8.self)
        let parts = text.components(separatedBy: "\r\n\r\n")
        let lines = parts[0].components(separatedBy: "\r\n")
        let status = try #require(lines.first?.split(separator: " ").dropFirst().first.flatMap { Int($0) }, "\(text)")
        var fields: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            fields[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return HTTPReply(status: status, headers: fields, body: parts.dropFirst().joined(separator: "\r\n\r\n"))
    }
}

/// A serializer that sends the given bytes whatever the message: what a broken sender puts on the wire.
struct RawBytes: MessageSerializer {
    let bytes: [UInt8]
    func serialize<Bytes: GRPCContiguousBytes>(_ message: LogsRequest) throws -> Bytes { Bytes(bytes) }
}

extension PushReceivers {
    func port(_ receiver: String) throws -> Int {
        try #require(listening.first { $0.receiver == receiver }?.address.port, "\(receiver) is not listening")
    }
}

/// Starts the receivers, runs `body` and stops them, however `body` ends. Starting and stopping
/// block their thread until the servers are up or down, so they run on threads of their own,
/// not on the concurrency pool the servers need meanwhile.
func withReceivers(_ settings: ReceiverSettings, inbox: PushInbox, _ body: (PushReceivers) async throws -> Void) async throws {
    let receivers = try await offPool { try PushReceivers(settings, inbox: inbox) }
    do {
        try await body(receivers)
    } catch {
        _ = try? await offPool { receivers.stop() }
        throw error
    }
    try await offPool { receivers.stop() }
}

func withClient(port: Int, _ body: (GRPCClient<HTTP2ClientTransport.Posix>) async throws -> Void) async throws {
    try await withGRPCClient(transport: .http2NIOPosix(target: .ipv4(address: "127.0.0.1", port: port), transportSecurity: .plaintext)) {
        try await body($0)
    }
}

/// Runs blocking work (a child process, the receivers' start and stop) on a thread of its own.
func offPool<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try work() }) }.start()
    }
}
