import AccessLogFormat

/// What decided a record's cause.
public enum Evidence: Equatable, Sendable {
    /// The upstream cluster (`BlackHoleCluster`).
    case cluster
    /// The value of a failure-detail field.
    case detail(FieldKind)
    /// A response flag, the others and the details naming no more precise cause.
    case flag(ResponseFlag)
    /// Only extension flags, which name no known cause.
    case extensionFlag
}

/// A record's cause and what it was read from.
public struct Diagnosis: Equatable, Sendable {
    public var cause: FailureCause
    public var evidence: Evidence
}

/// Finds the cause of each failed record: exactly one per record with a response flag.
///
/// The rules, most precise first: a `BlackHoleCluster` record is blocked egress; then the
/// upstream transport failure reason, the response code details and the connection
/// termination details, in that order, where one names a cause (`FailureClassifier.cause(ofDetail:)`);
/// then the flags, by rank (a connection failure before the retries it exhausted: `URX,UF`
/// is the UF's cause).
///
/// A detail's verdict is computed once per distinct value (the tokenizer interns them) and
/// kept in a table indexed by the value's id, so `classify` reads a few bytes of memory and
/// allocates nothing. One classifier per tokenizer, used on the thread that tokenizes.
public final class FailureClassifier {
    private let details: ByteInterner
    /// Per detail id: 0 not yet computed, 1 names no cause, else `FailureCause.rawValue + 2`.
    private let verdicts: UnsafeMutableBufferPointer<UInt8>
    private static let notComputed: UInt8 = 0
    private static let noCause: UInt8 = 1

    /// A classifier for the records of `tokenizer`.
    public convenience init(tokenizer: LineTokenizer) { self.init(details: tokenizer.failureDetails) }

    /// A classifier for records whose failure-detail ids are in `details`.
    public init(details: ByteInterner) {
        self.details = details
        verdicts = .allocate(capacity: max(details.limit, 1))
        verdicts.initialize(repeating: FailureClassifier.notComputed)
    }

    deinit { verdicts.deallocate() }

    /// The cause of `record`, nil when it has no response flag.
    @inline(__always)
    public func classify(_ record: AccessRecord, cluster: ClusterKind) -> FailureCause? {
        diagnose(record, cluster: cluster)?.cause
    }

    /// The cause of `record` and its evidence, nil when it has no response flag.
    public func diagnose(_ record: AccessRecord, cluster: ClusterKind) -> Diagnosis? {
        guard !record.flags.isEmpty || record.unknownFlagCount > 0 else { return nil }
        if cluster == .blackHole { return Diagnosis(cause: .egressBlocked, evidence: .cluster) }
        if let cause = verdict(record.upstreamTransportFailureReason) {
            return Diagnosis(cause: cause, evidence: .detail(.upstreamTransportFailureReason))
        }
        if let cause = verdict(record.responseCodeDetails) {
            return Diagnosis(cause: cause, evidence: .detail(.responseCodeDetails))
        }
        if let cause = verdict(record.connectionTerminationDetails) {
            return Diagnosis(cause: cause, evidence: .detail(.connectionTerminationDetails))
        }
        return FailureClassifier.cause(ofFlags: record.flags, upstreamHostChosen: record.upstreamHostChosen)
    }

    @inline(__always)
    private func verdict(_ id: UInt32) -> FailureCause? {
        guard Int(id) < verdicts.count else { return nil }  // noKey and overflow ("other") name no cause
        // Safe: `id` was checked against the table's size above.
        var code = verdicts[Int(id)]
        if code == FailureClassifier.notComputed {
            code = details.withBytes(of: id) { bytes in
                FailureClassifier.cause(ofDetail: String(decoding: bytes, as: UTF8.self)).map { $0.rawValue &+ 2 }
                    ?? FailureClassifier.noCause
            }
            verdicts[Int(id)] = code
        }
        return code == FailureClassifier.noCause ? nil : FailureCause(rawValue: code &- 2)
    }

    /// The cause a flag set names, when no detail names one.
    public static func cause(ofFlags flags: ResponseFlags, upstreamHostChosen: Bool) -> Diagnosis {
        var best: (rank: UInt8, flag: ResponseFlag)?
        var bits = flags.rawValue
        while bits != 0 {
            let bit = bits.trailingZeroBitCount
            bits &= bits &- 1
            guard let flag = ResponseFlag(rawValue: bit) else { continue }
            let rank = flagRanks[bit]
            if best == nil || rank < best!.rank { best = (rank, flag) }
        }
        guard let flag = best?.flag else { return Diagnosis(cause: .unknown, evidence: .extensionFlag) }
        return Diagnosis(cause: cause(of: flag, upstreamHostChosen: upstreamHostChosen), evidence: .flag(flag))
    }

    /// Which flag of a set decides: lower first. Flags that name where a request failed
    /// outrank those that only say how it ended (retries exhausted, client gone).
    private static let flagRanks: [UInt8] = ResponseFlag.allCases.map { flag in
        switch flag {
        case .NC, .NR: return 0
        case .UH, .LH, .UO, .DF: return 1
        case .UF: return 2
        case .UT, .UMSDR, .UC, .UR, .UPE: return 3
        case .RL, .RLSE, .UAEX, .FI, .DO, .UDO, .OM: return 4
        case .DPE, .IH: return 5
        case .SI, .DT: return 6
        case .LR: return 7
        case .DC, .DR: return 8
        case .URX: return 9
        case .DI: return 10
        case .RFCF, .NFCF: return 11
        }
    }

    private static func cause(of flag: ResponseFlag, upstreamHostChosen: Bool) -> FailureCause {
        switch flag {
        case .NC: return .clusterNotFound
        case .NR: return .noRoute
        case .UH, .LH: return .noHealthyUpstream
        case .UO: return .circuitOpen
        case .DF: return .dnsFailure
        case .UF: return .connectFailed
        case .UT, .UMSDR: return .upstreamTimeout
        case .UC, .UR: return .upstreamReset
        case .UPE, .DPE, .IH: return .protocolError
        case .RL, .RLSE: return .rateLimited
        case .UAEX: return .authzDenied
        case .FI, .DI: return .faultInjected
        case .DO, .UDO, .OM: return .loadShed
        case .DC, .DR: return .downstreamDisconnect
        case .SI, .DT: return .streamTimeout
        case .URX: return .retriesExhausted
        // Envoy reset the stream itself: towards an upstream it had picked, that upstream's
        // stream was cut; before one was picked, nothing says why.
        case .LR: return upstreamHostChosen ? .upstreamReset : .unknown
        case .RFCF, .NFCF: return .unknown
        }
    }

    /// The cause a failure-detail value names (in any of the spellings Envoy has used), or nil.
    ///
    /// Spaces (older Envoy) are read as `_` and case is ignored, so `TLS error: …` and
    /// `TLS_error:|…:TLS_error_end`, `delayed connect error: 111` and
    /// `delayed_connect_error:_111` read alike.
    public static func cause(ofDetail detail: String) -> FailureCause? {
        let text = String(detail.lowercased().map { $0 == " " ? "_" : $0 })
        func has(_ needles: String...) -> Bool { needles.contains { text.contains($0) } }

        // Certificates and TLS: the most precise evidence, also inside a reset's `{…}`.
        if has("secret_is_not_supplied_by_sds", "secret_is_not_supplied") { return .tlsSecretMissing }
        let isTLS = has("tls_error", "ssl_routines", "openssl_internal", "certificate_verify_failed", "verify_cert_failed")
        if isTLS || has("certificate_expired", "certificate_has_expired") {
            if has("certificate_expired", "certificate_has_expired") { return .certificateExpired }
            if has("wrong_version_number", "http_request", "https_proxy_request", "packet_length_too_long") {
                return .tlsMismatch
            }
            if has("certificate_required", "peer_did_not_return_a_certificate", "sslv3_alert_handshake_failure") {
                return .clientCertificateRequired
            }
            if has("certificate_verify_failed", "verify_cert_failed", "unknown_ca", "bad_certificate", "san_matcher",
                   "certificate_unknown")
            {
                return .certificateVerifyFailed
            }
            return .tlsHandshakeFailed
        }
        // Connect errors: errno numbers (older Envoy) or their text (Envoy 1.31+).
        if has("connection_refused") || hasErrno(text, 111) { return .connectionRefused }
        if has("connection_timed_out", "connection_timeout", "connect_timeout") || hasErrno(text, 110) { return .connectTimeout }
        if has("network_is_unreachable", "no_route_to_host", "host_is_unreachable") || hasErrno(text, 101) || hasErrno(text, 113) {
            return .networkUnreachable
        }
        if has("dns_resolution", "dns_fail") { return .dnsFailure }
        // The client, not the upstream, ended it.
        if has("downstream_remote_disconnect", "downstream_remote_reset") { return .downstreamDisconnect }
        // A reset's reason: `upstream_reset_{before,after}_response_started{REASON…}`.
        if has("{overflow", "overflow}", "|overflow") { return .circuitOpen }
        if has("connection_failure") { return .connectFailed }
        if has("connection_termination", "remote_reset", "local_reset", "refused_stream_reset") { return .upstreamReset }
        if has("protocol_error", "codec_error") { return .protocolError }
        // Envoy's own replies.
        if has("no_healthy_upstream", "maintenance_mode") { return has("maintenance_mode") ? .loadShed : .noHealthyUpstream }
        if has("route_not_found", "filter_chain_not_found", "no_route") { return .noRoute }
        if has("cluster_not_found") { return .clusterNotFound }
        if has("stream_idle_timeout", "duration_timeout") { return .streamTimeout }
        if has("response_timeout", "per_try_timeout", "max_stream_duration") { return .upstreamTimeout }
        if has("rbac_access_denied", "ext_authz", "jwt_authn_access_denied", "jwt_verification_fail") { return .authzDenied }
        if has("rate_limited", "ratelimit") { return .rateLimited }
        if has("fault_filter") { return .faultInjected }
        if has("overload", "drop_overload") { return .loadShed }
        return nil
    }

    /// Whether `text` holds `error:_N` with N the whole number (`delayed_connect_error:_111`).
    private static func hasErrno(_ text: String, _ number: Int) -> Bool {
        let needle = "error:_\(number)"
        var rest = Substring(text)
        while let range = rest.firstRange(of: needle) {
            let after = rest[range.upperBound...]
            if after.first.map({ !$0.isNumber }) ?? true { return true }
            rest = after
        }
        return false
    }
}
