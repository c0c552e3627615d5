/// The probable cause of a failed request, read from its response flags, failure details and
/// upstream cluster. The set is small and fixed, so that it is safe to route alerts on and
/// to count per cluster in a fixed-size table; `Causes.md` gives each one's evidence rule and
/// what to check.
public enum FailureCause: UInt8, CaseIterable, Sendable {
    case connectionRefused, connectTimeout, networkUnreachable, connectFailed
    case tlsMismatch, certificateExpired, certificateVerifyFailed, clientCertificateRequired, tlsSecretMissing,
        tlsHandshakeFailed
    case noHealthyUpstream, noRoute, clusterNotFound, circuitOpen, upstreamTimeout, streamTimeout, upstreamReset,
        protocolError, retriesExhausted
    case rateLimited, authzDenied, egressBlocked, dnsFailure, loadShed, faultInjected, downstreamDisconnect
    case unknown

    /// The name reports, alert labels and `flagwatch explain` print.
    public var name: String { FailureCause.names[Int(rawValue)] }

    public init?(name: String) {
        guard let index = FailureCause.names.firstIndex(of: name) else { return nil }
        self.init(rawValue: UInt8(index))
    }

    private static let names = [
        "connection-refused", "connect-timeout", "network-unreachable", "connect-failed",
        "tls-mismatch", "certificate-expired", "certificate-verify-failed", "client-certificate-required",
        "tls-secret-missing", "tls-handshake-failed",
        "no-healthy-upstream", "no-route", "cluster-not-found", "circuit-open", "upstream-timeout", "stream-timeout",
        "upstream-reset", "protocol-error", "retries-exhausted",
        "rate-limited", "authz-denied", "egress-blocked", "dns-failure", "load-shed", "fault-injected",
        "downstream-disconnect",
        "unknown",
    ]

    /// One line on what the cause means, for `explain` and alert annotations.
    public var summary: String {
        switch self {
        case .connectionRefused: return "nothing listens on the upstream address: the backend is down or the port (targetPort) is wrong"
        case .connectTimeout: return "the upstream did not answer the connection attempt in time: host down, firewall or NetworkPolicy dropping packets"
        case .networkUnreachable: return "no network path to the upstream address: wrong address family, routing, or an endpoint that no longer exists"
        case .connectFailed: return "the upstream connection failed; the log does not say why (its format has no failure details)"
        case .tlsMismatch: return "one side speaks TLS and the other plaintext: DestinationRule tls.mode against PeerAuthentication mTLS mode"
        case .certificateExpired: return "a certificate in the TLS handshake has expired"
        case .certificateVerifyFailed: return "the peer's certificate was rejected: SAN does not match, or it is signed by an unknown CA"
        case .clientCertificateRequired: return "the upstream demands a client certificate that was not sent (mTLS required)"
        case .tlsSecretMissing: return "the proxy has no certificate to use yet: SDS did not deliver the secret"
        case .tlsHandshakeFailed: return "the TLS handshake with the upstream failed for another reason"
        case .noHealthyUpstream: return "the cluster has no healthy endpoint: no ready pods, or all ejected by health checks or outlier detection"
        case .noRoute: return "no route or filter chain matches the request"
        case .clusterNotFound: return "the route names a cluster the proxy does not have"
        case .circuitOpen: return "a circuit breaker (connection pool limit) rejected the request"
        case .upstreamTimeout: return "the upstream did not respond within the route timeout"
        case .streamTimeout: return "a stream or connection exceeded its idle timeout or maximum duration"
        case .upstreamReset: return "the upstream closed or reset an established connection"
        case .protocolError: return "a peer sent HTTP the codec could not parse, or headers Envoy rejects"
        case .retriesExhausted: return "every retry failed; the attempts' own cause is not in the line"
        case .rateLimited: return "a rate limit (local or global) rejected the request"
        case .authzDenied: return "an authorization policy (RBAC, ext_authz, JWT) denied the request"
        case .egressBlocked: return "outbound traffic to an unknown destination is blocked (outboundTrafficPolicy REGISTRY_ONLY)"
        case .dnsFailure: return "the upstream host name could not be resolved"
        case .loadShed: return "the proxy shed load: overload manager or EDS drop_overloads"
        case .faultInjected: return "a fault-injection rule aborted or delayed the request"
        case .downstreamDisconnect: return "the client went away before the response was complete"
        case .unknown: return "the flags and details name no known cause"
        }
    }
}

/// Saved (in `tail`'s checkpoints) by name, so that a state file reads the same whatever the
/// order of the cases; a name this build does not know reads as `unknown`.
extension FailureCause: Codable {
    public init(from decoder: any Decoder) throws {
        self = FailureCause(name: try decoder.singleValueContainer().decode(String.self)) ?? .unknown
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(name)
    }
}
