import AlertRules
import Foundation

/// One place alerts go: how to reach it, which alerts it wants and how hard to try.
/// Read from the rules file's `receivers:` section (``ReceiverFile``) or made from a
/// `--webhook URL` flag (``ReceiverConfig/init(webhook:name:)``).
public struct ReceiverConfig: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        /// A JSON envelope shaped like Alertmanager's webhook payload (version "4").
        case webhook
        /// Alertmanager's own API, `POST /api/v2/alerts`, on every listed instance.
        case alertmanager
        /// A Slack incoming webhook: a message a person reads.
        case slack
    }

    public var name: String
    public var kind: Kind
    /// One URL; `alertmanager` receivers list every instance of the cluster, since each must
    /// hear every alert (Alertmanagers de-duplicate among themselves, they do not forward).
    public var endpoints: [Endpoint]
    public var match = ReceiverMatch()
    /// Notifications arriving within this time of the first one go out in one request.
    public var groupWait: Swift.Duration = .zero
    public var connectTimeout: Swift.Duration = .seconds(5)
    /// The whole request: connect, send, response.
    public var timeout: Swift.Duration = .seconds(10)
    public var retry = RetryPolicy()
    /// Notifications waiting to be sent, beyond which the oldest firing repeats are dropped first.
    public var queueCapacity = 1000
    /// `alertmanager` only: how often a firing alert is sent again. Alertmanager resolves an
    /// alert it has not heard of for its `resolve_timeout` (5 minutes by default); each firing
    /// alert is sent with `endsAt` four re-sends ahead, as Prometheus does, so Alertmanager
    /// resolves it by itself when flagwatch stops.
    public var resendInterval: Swift.Duration = .seconds(60)
    public var tls = TLSOptions()
    public var authorization: Authorization?
    /// Signs each request: `X-Flagwatch-Signature: sha256=HMAC(secret, timestamp "." body)`.
    public var signingSecret: Secret?
    /// Where a reader finds more (`externalURL` and `generatorURL` in payloads).
    public var externalURL: String?

    public init(name: String, kind: Kind, endpoints: [Endpoint]) {
        self.name = name
        self.kind = kind
        self.endpoints = endpoints
    }

    /// A generic JSON webhook from `--webhook URL`. The URL is on the command line, so it must
    /// not carry a password: credentials go in the rules file's `auth`, read from the environment
    /// or a file.
    public init(webhook url: String, name: String) throws(ReceiverConfigError) {
        if let problem = Endpoint.problem(url, allowsPassword: false) { throw ReceiverConfigError(message: "--webhook \(Endpoint(url).display): \(problem)") }
        self.init(name: name, kind: .webhook, endpoints: [Endpoint(url)])
    }

    /// Every credential, for redaction; a secret URL also by its path and query alone, which
    /// is where its token is and what an error message may quote.
    var secrets: [String] {
        let urls = endpoints.filter(\.isSecret).map(\.url)
        let tails = urls.compactMap(URLComponents.init(string:)).flatMap { [$0.percentEncodedPath, $0.percentEncodedQuery].compactMap { $0 } }
        var values = urls + tails.filter { $0.count > 1 } + [signingSecret?.value].compactMap { $0 }
        switch authorization {
        case .bearer(let token): values.append(token.value)
        case .basic(let user, let password): values += [password.value, Authorization.basicCredentials(user, password)]
        case nil: break
        }
        return values
    }
}

/// A receiver that cannot be used (outside a file, where ``RuleFileError`` gives the position).
public struct ReceiverConfigError: Error, CustomStringConvertible, Equatable, Sendable {
    public var message: String
    public var description: String { message }
}

/// A receiver URL. URLs of Slack's incoming webhooks and many others carry their token in the
/// path: those read from the environment or a file are secrets and are never logged.
public struct Endpoint: Sendable, Equatable {
    public var url: String
    public var isSecret: Bool

    public init(_ url: String, isSecret: Bool = false) {
        self.url = url
        self.isSecret = isSecret
    }

    /// What logs and statistics show: the whole URL without user info, query or fragment; only
    /// scheme, host and port for a secret one.
    public var display: String {
        guard var parts = URLComponents(string: url) else { return "<invalid URL>" }
        parts.user = nil
        parts.password = nil
        parts.query = nil
        parts.fragment = nil
        let hidesPath = isSecret && !parts.path.isEmpty
        if hidesPath { parts.path = "" }
        return (parts.string ?? "<invalid URL>") + (hidesPath ? "/…" : "")
    }

    /// Why `url` cannot be used, or nil.
    static func problem(_ url: String, allowsPassword: Bool) -> String? {
        guard let parts = URLComponents(string: url), let scheme = parts.scheme?.lowercased(),
              ["http", "https"].contains(scheme), let host = parts.host, !host.isEmpty
        else { return "expected an http:// or https:// URL with a host" }
        if !allowsPassword, parts.password != nil { return "a password does not belong in a URL on the command line; use the rules file's auth" }
        return nil
    }
}

/// Which alerts a receiver wants: every listed field must match (patterns with `*` and `?`,
/// any of a field's patterns will do); an empty field matches everything.
public struct ReceiverMatch: Sendable, Equatable {
    public var rules: [String] = []
    public var severities: [String] = []
    public var clusters: [String] = []

    public init(rules: [String] = [], severities: [String] = [], clusters: [String] = []) {
        self.rules = rules
        self.severities = severities
        self.clusters = clusters
    }

    public func accepts(_ event: AlertEvent) -> Bool {
        func matches(_ patterns: [String], _ value: String) -> Bool { patterns.isEmpty || patterns.contains { Glob.matches($0, value) } }
        return matches(rules, event.rule) && matches(severities, event.labels["severity"] ?? "") && matches(clusters, event.cluster)
    }
}

/// Certificates are verified against the system's roots, or against `caFile` alone.
public struct TLSOptions: Sendable, Equatable {
    /// PEM file with the CA certificates that sign the receiver's certificate.
    public var caFile: String?
    /// Accept any certificate. Logged as a warning at start: anyone on the path can read and
    /// change the alerts and the credentials sent with them.
    public var insecureSkipVerify = false

    public init(caFile: String? = nil, insecureSkipVerify: Bool = false) {
        self.caFile = caFile
        self.insecureSkipVerify = insecureSkipVerify
    }
}

public enum Authorization: Sendable, Equatable {
    case bearer(Secret)
    case basic(username: String, password: Secret)

    var headerValue: String {
        switch self {
        case .bearer(let token): "Bearer \(token.value)"
        case .basic(let user, let password): "Basic \(Authorization.basicCredentials(user, password))"
        }
    }

    static func basicCredentials(_ user: String, _ password: Secret) -> String {
        Data("\(user):\(password.value)".utf8).base64EncodedString()
    }
}

/// Exponential backoff with jitter for network errors, 5xx and 429; other 4xx are not retried.
/// Retries go on until the notification is delivered, dropped from a full queue, or the
/// dispatcher shuts down (then it waits in the spool).
public struct RetryPolicy: Sendable, Equatable {
    /// The wait after the first failure; it doubles with each further one.
    public var initialBackoff: Swift.Duration = .milliseconds(500)
    /// A receiver back from an outage waits at most this long for the next try.
    public var maxBackoff: Swift.Duration = .seconds(30)
    /// A `Retry-After` beyond this is cut to it (a receiver asking for a day would stall the queue).
    public var maxRetryAfter: Swift.Duration = .seconds(600)

    public init() {}

    /// How long to wait after failed attempt number `attempt` (1-based): what `Retry-After`
    /// asked for, else a random wait between half and all of `initialBackoff × 2^(attempt-1)`,
    /// capped at `maxBackoff`. The jitter keeps many flagwatch instances from retrying in step.
    func delay(afterAttempt attempt: Int, retryAfter: Swift.Duration?, using random: inout some RandomNumberGenerator) -> Swift.Duration {
        if let retryAfter { return min(max(retryAfter, .zero), maxRetryAfter) }
        let doublings = min(max(attempt - 1, 0), 40)
        let base = min(initialBackoff * Double(UInt64(1) << UInt64(doublings)), maxBackoff)
        return base / 2 + base / 2 * Double.random(in: 0...1, using: &random)
    }
}
