import AlertRules
import AsyncHTTPClient
import Crypto
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL

/// What one HTTP attempt came to.
enum AttemptOutcome: Sendable {
    case delivered
    /// Network error, timeout, 5xx or 429: worth another try.
    case retry(RetryReason, retryAfter: Swift.Duration?, detail: String)
    /// Any other 4xx (or an unexpected status): another try would get the same answer.
    case rejected(status: Int, body: String)
}

enum RetryReason: Sendable {
    case network, timeout, serverError, throttled
}

/// One receiver endpoint's HTTP client: its own TLS settings and timeouts, no redirects (a
/// redirect would carry the credentials and the signature to another place).
final class EndpointClient: Sendable {
    let receiver: ReceiverConfig
    let endpoint: Endpoint
    private let client: HTTPClient
    /// URL and method; each attempt adds headers and body.
    private let requestTemplate: HTTPClient.Request

    /// What can fail about an endpoint, checked before any client exists (a client must be shut
    /// down once made).
    struct Settings {
        var receiver: ReceiverConfig
        var endpoint: Endpoint
        var tls: TLSConfiguration
        var request: HTTPClient.Request

        init(_ receiver: ReceiverConfig, _ endpoint: Endpoint) throws(ReceiverConfigError) {
            self.receiver = receiver
            self.endpoint = endpoint
            tls = TLSConfiguration.makeClientConfiguration()
            if let caFile = receiver.tls.caFile {
                do {
                    tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(caFile))
                } catch {
                    throw ReceiverConfigError(message: "receiver '\(receiver.name)': cannot read CA certificates from \(caFile): \(error)")
                }
            }
            if receiver.tls.insecureSkipVerify { tls.certificateVerification = .none }
            let url = switch receiver.kind {
            case .webhook, .slack: endpoint.url
            case .alertmanager: (endpoint.url.hasSuffix("/") ? String(endpoint.url.dropLast()) : endpoint.url) + "/api/v2/alerts"
            }
            do {
                request = try HTTPClient.Request(url: url, method: .POST)
            } catch {
                throw ReceiverConfigError(message: "receiver '\(receiver.name)': cannot send to \(endpoint.display): \(error)")
            }
        }
    }

    init(_ settings: Settings, eventLoopGroup: EventLoopGroup) {
        receiver = settings.receiver
        endpoint = settings.endpoint
        requestTemplate = settings.request
        var configuration = HTTPClient.Configuration(
            tlsConfiguration: settings.tls,
            redirectConfiguration: .disallow,
            timeout: .init(connect: TimeAmount(receiver.connectTimeout), read: TimeAmount(receiver.timeout))
        )
        configuration.httpVersion = .http1Only
        // A refused connect fails the attempt now and the delivery loop retries on its own
        // schedule. The pool's own retries back off up to a minute across consecutive failures,
        // which after a long outage delayed the first send to a receiver that was back up.
        configuration.connectionPool.retryConnectionEstablishment = false
        client = HTTPClient(eventLoopGroup: eventLoopGroup, configuration: configuration)
    }

    /// Sends `batch` once, on `eventLoop`: the answer comes back there, and nothing waits for it.
    func attempt(_ batch: [AlertNotification], on eventLoop: EventLoop) -> (task: HTTPClient.Task<AttemptOutcome>, outcome: EventLoopFuture<AttemptOutcome>) {
        let now = Date()
        let body = Payload.render(batch, for: receiver, nowMicros: Int64(now.timeIntervalSince1970 * 1_000_000))
        let headers = EndpointClient.headers(for: batch, body: body, receiver: receiver, timestamp: Int(now.timeIntervalSince1970))
        var request = requestTemplate
        request.headers = headers
        request.body = .bytes(body)
        let response = AttemptResponse()
        let task = client.execute(request: request, delegate: response, eventLoop: .delegate(on: eventLoop),
                                  deadline: .now() + TimeAmount(receiver.timeout))
        let outcome = task.futureResult.hop(to: eventLoop).recover { error in
            // An error after the status line (a body cut short, an unclean TLS close) changes nothing.
            if let known = response.outcome { return known }
            if let error = error as? HTTPClientError, EndpointClient.timeouts.contains(error) { return .retry(.timeout, retryAfter: nil, detail: "\(error)") }
            return .retry(.network, retryAfter: nil, detail: "\(error)")
        }
        return (task, outcome)
    }

    static func outcome(status: Int, headers: HTTPHeaders, body: String) -> AttemptOutcome {
        let retryAfter = headers.first(name: "retry-after").flatMap(EndpointClient.retryAfter)
        switch status {
        case 200..<300: return .delivered
        case 429: return .retry(.throttled, retryAfter: retryAfter, detail: "HTTP 429")
        case 500..<600: return .retry(.serverError, retryAfter: retryAfter, detail: "HTTP \(status)")
        default: return .rejected(status: status, body: String(body.prefix(1024)))
        }
    }

    func shutdown() -> EventLoopFuture<Void> {
        client.shutdown()
    }

    static let timeouts: [HTTPClientError] = [.deadlineExceeded, .connectTimeout, .readTimeout, .writeTimeout, .tlsHandshakeTimeout]

    /// Content type, identity, signature and credentials.
    static func headers(for batch: [AlertNotification], body: [UInt8], receiver: ReceiverConfig, timestamp: Int) -> HTTPHeaders {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/json")
        headers.add(name: "User-Agent", value: "flagwatch")
        headers.add(name: "Idempotency-Key", value: idempotencyKey(batch))
        if let secret = receiver.signingSecret {
            headers.add(name: "X-Flagwatch-Timestamp", value: String(timestamp))
            headers.add(name: "X-Flagwatch-Signature", value: "sha256=" + signature(body: body, timestamp: timestamp, secret: secret))
        }
        if let authorization = receiver.authorization { headers.add(name: "Authorization", value: authorization.headerValue) }
        return headers
    }

    /// One notification's key, or for several a digest of theirs: the same batch is retried
    /// with the same key.
    static func idempotencyKey(_ batch: [AlertNotification]) -> String {
        if batch.count == 1 { return batch[0].idempotencyKey }
        let digest = SHA256.hash(data: Array(batch.map(\.idempotencyKey).joined(separator: "\n").utf8))
        return "batch-" + digest.prefix(16).map { String(format: "%02x", $0) }.joined()
    }

    /// Hex HMAC-SHA256 of `<timestamp>.<body>`: the timestamp is signed with the body, so a
    /// captured request cannot be replayed later under a fresh timestamp.
    static func signature(body: [UInt8], timestamp: Int, secret: Secret) -> String {
        let message = Array("\(timestamp).".utf8) + body
        let code = HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: Array(secret.value.utf8)))
        return code.map { String(format: "%02x", $0) }.joined()
    }

    /// `Retry-After`: seconds, or an HTTP date.
    static func retryAfter(_ value: String) -> Swift.Duration? {
        let text = value.trimmingCharacters(in: .whitespaces)
        if let seconds = Int(text) { return .seconds(max(seconds, 0)) }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        guard let date = formatter.date(from: text) else { return nil }
        return .milliseconds(max(Int(date.timeIntervalSinceNow * 1000), 0))
    }
}
