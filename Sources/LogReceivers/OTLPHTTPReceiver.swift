import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import ReceiverProtos
import SwiftProtobuf

/// OTLP/HTTP: `POST /v1/logs` with a protobuf (`application/x-protobuf`) or JSON
/// (`application/json`) `ExportLogsServiceRequest`, answered in the same encoding; 429 with
/// `Retry-After` when the inbox stays full, 400 for a body that does not decode, 413 past the
/// size limit, 401 without the token.
final class OTLPHTTPReceiver: Sendable {
    static let receiver = "otlp-http"
    private let channel: Channel
    let port: Int

    struct Handling: Sendable {
        let mapping: OTLPLogMapping
        let admission: Admission
        let statistics: ReceiverStatistics
        let token: BearerToken
        let maxMessageBytes: Int
    }

    init(host: String, port: Int, tls: NIOSSLContext?, handling: Handling, group: EventLoopGroup) throws {
        channel = try ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls { try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls)) }
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(ExportHandler(handling: handling))
                }
            }
            .bind(host: host, port: port)
            .wait()
        self.port = channel.localAddress?.port ?? port
    }

    func close() { try? channel.close().wait() }
}

private final class ExportHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let handling: OTLPHTTPReceiver.Handling
    private var head: HTTPRequestHead?
    private var body: ByteBuffer?
    private var tooLarge = false

    init(handling: OTLPHTTPReceiver.Handling) { self.handling = handling }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            body = context.channel.allocator.buffer(capacity: 0)
            tooLarge = false
        case .body(var part):
            guard !tooLarge else { return }
            if (body?.readableBytes ?? 0) + part.readableBytes > handling.maxMessageBytes {
                tooLarge = true
                body = nil
            } else {
                body?.writeBuffer(&part)
            }
        case .end:
            guard let head else { return }
            self.head = nil
            let bytes = body.map { Array($0.readableBytesView) } ?? []
            body = nil
            handle(head, bytes, context: context)
        }
    }

    private func handle(_ head: HTTPRequestHead, _ bytes: [UInt8], context: ChannelHandlerContext) {
        let receiver = OTLPHTTPReceiver.receiver, statistics = handling.statistics
        guard head.uri.split(separator: "?", maxSplits: 1).first == "/v1/logs" else {
            return respond(context, head, .notFound, "not found: OTLP logs are POSTed to /v1/logs\n")
        }
        guard head.method == .POST else { return respond(context, head, .methodNotAllowed, "POST only\n") }
        if let expected = handling.token.expected {
            guard let given = head.headers.first(name: "authorization"), BearerToken.matches(header: given, expected: expected) else {
                statistics.count(receiver, .unauthorized)
                return respond(context, head, .unauthorized, "missing or wrong bearer token\n")
            }
        }
        if tooLarge {
            statistics.count(receiver, .malformed)
            return respond(context, head, .payloadTooLarge, "a request larger than \(handling.maxMessageBytes) bytes\n")
        }
        if let encoding = head.headers.first(name: "content-encoding"), encoding.lowercased() != "identity" {
            statistics.count(receiver, .malformed)
            return respond(context, head, .unsupportedMediaType, "Content-Encoding \(encoding) is not read; send it uncompressed\n")
        }
        let contentType = head.headers.first(name: "content-type")?.split(separator: ";").first?.trimmingSpaces.lowercased() ?? ""
        let json: Bool
        switch contentType {
        case "application/x-protobuf", "application/protobuf": json = false
        case "application/json": json = true
        default:
            statistics.count(receiver, .malformed)
            return respond(context, head, .unsupportedMediaType, "Content-Type '\(contentType)': expected application/x-protobuf or application/json\n")
        }
        let handling = self.handling
        let mapped: OTLPLogMapping.Mapped
        do {
            if json {
                var options = JSONDecodingOptions()
                options.ignoreUnknownFields = true
                mapped = try handling.mapping.map(ExportLogsRequest(jsonUTF8Bytes: bytes, options: options))
            } else {
                mapped = try bytes.withUnsafeBytes { (bytes) throws(WireReader.Malformed) in try handling.mapping.map(serialized: bytes) }
            }
        } catch {
            statistics.count(receiver, .malformed)
            return respond(context, head, .badRequest, "an ExportLogsServiceRequest that does not decode: \(error)\n")
        }
        let loop = context.eventLoop
        let bound = NIOLoopBound((self, context), eventLoop: loop)
        Task {
            let admitted = await handling.admission.admit(mapped.batches)
            if admitted { statistics.accepted(receiver, recordsByInput: mapped.recordsByInput) } else { statistics.count(receiver, .refused) }
            loop.execute {
                let (handler, context) = bound.value
                guard admitted else {
                    return handler.respond(context, head, .tooManyRequests, "records wait to be counted; send again later\n", retryAfter: 1)
                }
                let response = ExportLogsResponse()
                let body: [UInt8] = json ? Array((try? response.jsonUTF8Bytes()) ?? Array("{}".utf8)) : ((try? response.serializedBytes()) ?? [])
                handler.respond(context, head, .ok, body, contentType: json ? "application/json" : "application/x-protobuf")
            }
        }
    }

    private func respond(_ context: ChannelHandlerContext, _ head: HTTPRequestHead, _ status: HTTPResponseStatus, _ text: String,
                         retryAfter: Int? = nil)
    {
        respond(context, head, status, Array(text.utf8), contentType: "text/plain; charset=utf-8", retryAfter: retryAfter)
    }

    private func respond(_ context: ChannelHandlerContext, _ head: HTTPRequestHead, _ status: HTTPResponseStatus, _ body: [UInt8],
                         contentType: String, retryAfter: Int? = nil)
    {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: contentType)
        headers.add(name: "Content-Length", value: String(body.count))
        if let retryAfter { headers.add(name: "Retry-After", value: String(retryAfter)) }
        if !head.isKeepAlive { headers.add(name: "Connection", value: "close") }
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: status, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: body)))), promise: nil)
        let keepAlive = head.isKeepAlive, channel = context.channel
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in
            if !keepAlive { channel.close(promise: nil) }
        }
    }
}

extension Substring {
    var trimmingSpaces: Substring {
        var text = self
        while text.first == " " { text = text.dropFirst() }
        while text.last == " " { text = text.dropLast() }
        return text
    }
}
