import AsyncHTTPClient
import NIOCore
import NIOHTTP1
import Synchronization

/// Reads a receiver's answer into an ``AttemptOutcome``, keeping the status line apart from the
/// body: once the status line is in, the outcome is known. A receiver that answers `200` with no
/// `Content-Length` and then closes TLS without close_notify (Python's `http.server` behind
/// `ssl`) ends the body with an error; the status still says it was delivered, and retrying would
/// send the same alert again.
final class AttemptResponse: HTTPClientResponseDelegate {
    typealias Response = AttemptOutcome

    /// The body is kept only to quote a refusal.
    static let bodyLimit = 16 << 10

    private struct Answer {
        var head: HTTPResponseHead?
        var body: [UInt8] = []
    }

    private let answer = Mutex(Answer())

    func didReceiveHead(task: HTTPClient.Task<Response>, _ head: HTTPResponseHead) -> EventLoopFuture<Void> {
        answer.withLock { $0.head = head }
        return task.eventLoop.makeSucceededVoidFuture()
    }

    func didReceiveBodyPart(task: HTTPClient.Task<Response>, _ buffer: ByteBuffer) -> EventLoopFuture<Void> {
        answer.withLock {
            let room = AttemptResponse.bodyLimit - $0.body.count
            if room > 0 { $0.body += buffer.readableBytesView.prefix(room) }
        }
        return task.eventLoop.makeSucceededVoidFuture()
    }

    func didFinishRequest(task: HTTPClient.Task<Response>) throws -> AttemptOutcome {
        // A finished request has had its head.
        outcome ?? .retry(.network, retryAfter: nil, detail: "no response")
    }

    /// The outcome the status line gave, if it came; nil before that.
    var outcome: AttemptOutcome? {
        answer.withLock { answer in
            answer.head.map { EndpointClient.outcome(status: Int($0.status.code), headers: $0.headers, body: String(decoding: answer.body, as: UTF8.self)) }
        }
    }
}
