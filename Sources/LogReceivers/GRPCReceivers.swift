import AccessLogFormat
import GRPCCore
import GRPCProtobuf
import LiveTail
import ReceiverProtos
import SwiftProtobuf

typealias LogsService = Opentelemetry_Proto_Collector_Logs_V1_LogsService
typealias AccessLogService = Envoy_Service_Accesslog_V3_AccessLogService

/// Decodes protobuf messages, counting those that do not decode (answered `INVALID_ARGUMENT`
/// with what was wrong, never fatal).
struct CountingDeserializer<Message: SwiftProtobuf.Message>: MessageDeserializer {
    let receiver: String
    let statistics: ReceiverStatistics

    func deserialize<Bytes: GRPCContiguousBytes>(_ bytes: Bytes) throws -> Message {
        do {
            return try ProtobufDeserializer<Message>().deserialize(bytes)
        } catch {
            statistics.count(receiver, .malformed)
            let cause = (error as? RPCError)?.cause.map { "\($0)" } ?? "\(error)"
            throw RPCError(code: .invalidArgument, message: "flagwatch: a \(Message.protoMessageName) that does not decode: \(cause)")
        }
    }
}

extension BearerToken {
    /// Throws `UNAUTHENTICATED` unless the call carries the token.
    func check(_ metadata: Metadata, receiver: String, statistics: ReceiverStatistics) throws {
        guard let expected else { return }
        let given = metadata["authorization"].compactMap { value -> String? in
            if case .string(let text) = value { return text }
            return nil
        }.first
        guard let given, BearerToken.matches(header: given, expected: expected) else {
            statistics.count(receiver, .unauthorized)
            throw RPCError(code: .unauthenticated, message: "flagwatch: missing or wrong bearer token")
        }
    }
}

/// A message's bytes as they came, for a handler that reads them in place.
struct SerializedBytes: MessageDeserializer {
    func deserialize<Bytes: GRPCContiguousBytes>(_ bytes: Bytes) throws -> [UInt8] { bytes.withUnsafeBytes { Array($0) } }
}

/// OTLP/gRPC `LogsService/Export`, its requests read in place (`OTLPLogMapping.map(serialized:)`).
struct OTLPLogsGRPCService: RegistrableRPCService {
    static let receiver = "otlp-grpc"
    let mapping: OTLPLogMapping
    let admission: Admission
    let statistics: ReceiverStatistics
    let token: BearerToken

    func registerMethods<Transport: ServerTransport>(with router: inout RPCRouter<Transport>) {
        router.registerHandler(
            forMethod: LogsService.Method.Export.descriptor,
            deserializer: SerializedBytes(),
            serializer: ProtobufSerializer<ExportLogsResponse>(),
            handler: { request, context in
                try token.check(request.metadata, receiver: Self.receiver, statistics: statistics)
                let single = try await ServerRequest(stream: request)
                return StreamingServerResponse(single: ServerResponse(message: try await export(single.message)))
            }
        )
    }

    func export(_ request: [UInt8]) async throws -> ExportLogsResponse {
        let mapped: OTLPLogMapping.Mapped
        do {
            mapped = try request.withUnsafeBytes { (bytes) throws(WireReader.Malformed) in try mapping.map(serialized: bytes) }
        } catch {
            statistics.count(Self.receiver, .malformed)
            throw RPCError(code: .invalidArgument, message: "flagwatch: an ExportLogsServiceRequest that does not decode: \(error)")
        }
        guard await admission.admit(mapped.batches) else {
            statistics.count(Self.receiver, .refused)
            throw RPCError(code: .resourceExhausted,
                           message: "flagwatch: \(admission.inbox.capacityBytes) bytes of records wait to be counted; send again later")
        }
        statistics.accepted(Self.receiver, recordsByInput: mapped.recordsByInput)
        return ExportLogsResponse()
    }
}

/// Envoy's `AccessLogService/StreamAccessLogs`: one stream per Envoy and log, the identifier
/// in its first message. The stream is read no faster than its records are taken in, so a
/// full inbox holds Envoy back (it buffers, then drops and counts what it dropped).
struct AccessLogGRPCService: AccessLogService.SimpleServiceProtocol {
    static let receiver = "envoy-als"
    let admission: Admission
    let statistics: ReceiverStatistics
    let token: BearerToken

    func registerMethods<Transport: ServerTransport>(with router: inout RPCRouter<Transport>) {
        router.registerHandler(
            forMethod: AccessLogService.Method.StreamAccessLogs.descriptor,
            deserializer: CountingDeserializer<StreamAccessLogsMessage>(receiver: Self.receiver, statistics: statistics),
            serializer: ProtobufSerializer<Envoy_Service_Accesslog_V3_StreamAccessLogsResponse>(),
            handler: { request, context in
                try token.check(request.metadata, receiver: Self.receiver, statistics: statistics)
                let response = try await self.streamAccessLogs(request: request.messages, context: context)
                return StreamingServerResponse(single: ServerResponse(message: response))
            }
        )
    }

    func streamAccessLogs(request: RPCAsyncSequence<StreamAccessLogsMessage, any Error>, context: ServerContext) async throws
        -> Envoy_Service_Accesslog_V3_StreamAccessLogsResponse
    {
        var input: String?
        for try await message in request {
            if input == nil {
                guard message.hasIdentifier else {
                    statistics.count(Self.receiver, .malformed)
                    throw RPCError(code: .invalidArgument, message: "flagwatch: the stream's first message carries no identifier")
                }
                input = AccessLogEntryMapping.inputName(message.identifier)
            }
            var writer = FieldRecordWriter()
            let count = AccessLogEntryMapping.write(message, into: &writer)
            guard count > 0, let input else { continue }
            let batch = PushInbox.Batch(input: input, records: .fields(writer, format: AccessLogEntryMapping.format))
            guard await admission.admit([batch], forever: true) else { break }
            statistics.accepted(Self.receiver, recordsByInput: [input: count])
        }
        return Envoy_Service_Accesslog_V3_StreamAccessLogsResponse()
    }
}
