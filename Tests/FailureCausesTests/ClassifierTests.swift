import AccessLogFormat
import FailureCauses
import Testing

@Suite struct DetailSpellingTests {
    /// Old and new spellings Envoy has written for the same failure.
    @Test(arguments: [
        ("delayed_connect_error:_111", FailureCause.connectionRefused),
        ("delayed connect error: 111", .connectionRefused),
        ("delayed_connect_error:_Connection_refused", .connectionRefused),
        ("upstream_reset_before_response_started{connection_failure,delayed_connect_error:_111}", .connectionRefused),
        ("upstream_reset_before_response_started{remote_connection_failure|delayed_connect_error:_Connection_refused}", .connectionRefused),
        ("delayed_connect_error:_110", .connectTimeout),
        ("delayed_connect_error:_1110", nil),
        ("upstream_reset_before_response_started{connection_timeout}", .connectTimeout),
        ("delayed_connect_error:_Connection_timed_out", .connectTimeout),
        ("immediate_connect_error:_Network_is_unreachable|remote_address:<addr>", .networkUnreachable),
        ("delayed_connect_error:_113", .networkUnreachable),
        ("TLS error: 268435703:SSL routines:OPENSSL_internal:WRONG_VERSION_NUMBER", .tlsMismatch),
        ("TLS_error:|<n>:SSL_routines:OPENSSL_internal:WRONG_VERSION_NUMBER:TLS_error_end", .tlsMismatch),
        ("TLS_error:|<n>:SSL_routines:OPENSSL_internal:SSLV3_ALERT_CERTIFICATE_EXPIRED:TLS_error_end", .certificateExpired),
        ("TLS_error:|<n>:SSL_routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED:verify_cert_failed:_X509_verify_cert:_certificate_verification_error_at_depth_0:_certificate_has_expired:TLS_error_end", .certificateExpired),
        ("TLS_error:|<n>:SSL_routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED:verify_cert_failed:_SAN_matcher,_certificate_SANs_are_[DNS:wrong.example]:TLS_error_end", .certificateVerifyFailed),
        ("TLS error: 268435581:SSL routines:OPENSSL_internal:TLSV1_ALERT_UNKNOWN_CA", .certificateVerifyFailed),
        ("TLS error: 268436496:SSL routines:OPENSSL_internal:SSLV3_ALERT_HANDSHAKE_FAILURE", .clientCertificateRequired),
        ("TLS_error:|<n>:SSL_routines:OPENSSL_internal:TLSV13_ALERT_CERTIFICATE_REQUIRED:TLS_error_end", .clientCertificateRequired),
        ("TLS error: Secret is not supplied by SDS", .tlsSecretMissing),
        ("TLS_error:_Secret_is_not_supplied_by_SDS", .tlsSecretMissing),
        ("TLS_error:|<n>:SSL_routines:OPENSSL_internal:PARSE_TLSEXT:TLS_error_end", .tlsHandshakeFailed),
        ("upstream_reset_before_response_started{overflow}", .circuitOpen),
        ("upstream_reset_before_response_started{connection_termination}", .upstreamReset),
        ("upstream_reset_after_response_started{remote_reset}", .upstreamReset),
        ("upstream_reset_after_response_started{protocol_error}", .protocolError),
        ("upstream_reset_before_response_started{remote_connection_failure}", .connectFailed),
        ("no_healthy_upstream", .noHealthyUpstream),
        ("route_not_found", .noRoute),
        ("filter_chain_not_found", .noRoute),
        ("cluster_not_found", .clusterNotFound),
        ("response_timeout", .upstreamTimeout),
        ("upstream_per_try_timeout", .upstreamTimeout),
        ("stream_idle_timeout", .streamTimeout),
        ("downstream_remote_disconnect", .downstreamDisconnect),
        ("rbac_access_denied_matched_policy[ns[foo]-policy[deny]-rule[0]]", .authzDenied),
        ("jwt_authn_access_denied{Jwt_issuer_is_not_configured}", .authzDenied),
        ("ext_authz_denied", .authzDenied),
        ("local_rate_limited", .rateLimited),
        ("fault_filter_abort", .faultInjected),
        ("overload_manager", .loadShed),
        ("via_upstream", nil),
        ("direct_response", nil),
    ] as [(String, FailureCause?)])
    func detail(_ text: String, _ cause: FailureCause?) {
        #expect(FailureClassifier.cause(ofDetail: text) == cause)
    }
}

@Suite struct ClassifierTests {
    static let istio = BuiltinFormat.istio.plan

    static func line(code: Int = 503, flags: String, details: String = "-", termination: String = "-", reason: String = "-",
                     host: String = "10.0.0.7:8080", cluster: String = "outbound|8080||api.default.svc.cluster.local") -> String {
        #"[2026-01-01T00:00:00.000Z] "GET /x HTTP/1.1" \#(code) \#(flags) \#(details) \#(termination) "\#(reason)" 0 91 3 - "-" "curl/8" "id" "api:8080" "\#(host)" \#(cluster) - 10.0.0.1:8080 10.0.0.2:5000 - default"#
    }

    @Test func retriesOfAConnectionFailureAreTheFailuresCause() {
        let reader = CauseReader(plans: [ClassifierTests.istio])
        #expect(reader.cause(of: ClassifierTests.line(flags: "URX,UF")) == .some(.connectFailed))
        #expect(reader.cause(of: ClassifierTests.line(flags: "UF,URX")) == .some(.connectFailed))
        #expect(reader.cause(of: ClassifierTests.line(flags: "URX")) == .some(.retriesExhausted))
        #expect(reader.cause(of: ClassifierTests.line(flags: "URX,UF", details: "upstream_reset_before_response_started{remote_connection_failure|delayed_connect_error:_Connection_refused}",
                                                      reason: "delayed_connect_error:_Connection_refused")) == .some(.connectionRefused))
        #expect(reader.cause(of: ClassifierTests.line(code: 200, flags: "-", details: "via_upstream")) == .some(nil))
    }

    @Test func clusterKindDecides() {
        let reader = CauseReader(plans: [ClassifierTests.istio])
        #expect(reader.cause(of: ClassifierTests.line(code: 0, flags: "UH", host: "-", cluster: "BlackHoleCluster")) == .some(.egressBlocked))
        #expect(reader.cause(of: ClassifierTests.line(code: 0, flags: "UF,URX", cluster: "PassthroughCluster")) == .some(.connectFailed))
        #expect(ClusterKind(name: "inbound|8080||") == .inbound)
        #expect(ClusterKind(name: "outbound|80||x") == .outbound)
        #expect(ClusterKind(name: "-") == .none)
        #expect(ClusterKind(name: "InboundPassthroughClusterIpv4") == .passthrough)
        #expect(ClusterKind(name: "my_cluster") == .other)
    }

    @Test func upstreamHostChosenIsRead() {
        let reader = CauseReader(plans: [ClassifierTests.istio])
        _ = reader.cause(of: ClassifierTests.line(flags: "LR", host: "-"))
        #expect(!reader.tokenizer.record.upstreamHostChosen)
        #expect(reader.cause(of: ClassifierTests.line(flags: "LR", host: "-")) == .some(.unknown))
        #expect(reader.cause(of: ClassifierTests.line(flags: "LR")) == .some(.upstreamReset))
        #expect(reader.tokenizer.record.upstreamHostChosen)
    }

    @Test func everyFlagAloneHasACause() {
        for flag in ResponseFlag.allCases {
            let diagnosis = FailureClassifier.cause(ofFlags: ResponseFlags(flag), upstreamHostChosen: true)
            #expect(diagnosis.evidence == .flag(flag))
        }
        let reader = CauseReader(plans: [ClassifierTests.istio])
        #expect(reader.cause(of: ClassifierTests.line(flags: "XYZ")) == .some(.unknown))
    }

    @Test func theFieldsAreReadFromEveryFormatThatHasThem() throws {
        // Istio 1.9+, Istio 1.8/1.2 (transport reason only), a user format, JSON and --json-keys.
        let cases: [(LinePlan, String, FailureCause)] = [
            (BuiltinFormat.istio18.plan,
             #"[2026-01-01T00:00:00.000Z] "GET / HTTP/1.1" 503 UF,URX "delayed_connect_error:_111" 0 91 3 - "-" "c" "i" "a" "10.0.0.7:80" outbound|80||a.b.svc.cluster.local - 10.0.0.1:80 10.0.0.2:5 - default"#,
             .connectionRefused),
            (BuiltinFormat.istio12.plan,
             #"[2026-01-01T00:00:00.000Z] "GET / HTTP/1.1" 503 UF,URX "-" "TLS error: 268435703:SSL routines:OPENSSL_internal:WRONG_VERSION_NUMBER" 0 91 3 - "-" "c" "i" "a" "10.0.0.7:80" outbound|80||a.b.svc.cluster.local - 10.0.0.1:80 10.0.0.2:5 -"#,
             .tlsMismatch),
            (try LinePlan(formatString: "%RESPONSE_CODE% %RESPONSE_FLAGS% %RESPONSE_CODE_DETAILS% %UPSTREAM_CLUSTER% \"%UPSTREAM_TRANSPORT_FAILURE_REASON%\" %CONNECTION_TERMINATION_DETAILS%"),
             #"503 UF upstream_reset_before_response_started{connection_failure} c "TLS_error:|268435581:SSL_routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED:TLS_error_end" -"#,
             .certificateVerifyFailed),
            (BuiltinFormat.json.plan,
             #"{"response_code":503,"response_flags":"UF,URX","response_code_details":"upstream_reset_before_response_started{remote_connection_failure|delayed_connect_error:_Network_is_unreachable}","upstream_transport_failure_reason":null,"upstream_cluster":"outbound|80||a.b.svc.cluster.local"}"#,
             .networkUnreachable),
            (LinePlan(jsonKeys: try JSONKeys(overrides: "code=status,response-code-details=rcd,upstream-transport-failure-reason=utfr")),
             #"{"status":503,"response_flags":"UF","rcd":"x","utfr":"delayed_connect_error:_Connection_refused"}"#,
             .connectionRefused),
        ]
        for (plan, line, cause) in cases {
            let reader = CauseReader(plans: [plan])
            #expect(reader.cause(of: line) == .some(cause), "\(plan.name): \(line)")
        }
    }
}

@Suite struct FailureDetailInterningTests {
    static func intern(_ reason: String) -> (tokenizer: LineTokenizer, id: UInt32) {
        let tokenizer = LineTokenizer()
        let plan = try! LinePlan(formatString: #"%RESPONSE_CODE% %RESPONSE_FLAGS% "%UPSTREAM_TRANSPORT_FAILURE_REASON%""#)
        var line = #"503 UF "\#(reason)""#
        _ = line.withUTF8 { tokenizer.tokenize(UnsafeRawBufferPointer($0), plan: plan) }
        return (tokenizer, tokenizer.record.upstreamTransportFailureReason)
    }

    @Test(arguments: [
        ("immediate_connect_error:_Network_is_unreachable|remote_address:[2001:db8::1]:443",
         "immediate_connect_error:_Network_is_unreachable|remote_address:<addr>"),
        ("delayed_connect_error:_111|remote_address:10.1.2.3:8080", "delayed_connect_error:_111|remote_address:<addr>"),
        ("TLS_error:|268435703:SSL_routines:OPENSSL_internal:WRONG_VERSION_NUMBER:TLS_error_end",
         "TLS_error:|<n>:SSL_routines:OPENSSL_internal:WRONG_VERSION_NUMBER:TLS_error_end"),
        ("SSLV3_ALERT_CERTIFICATE_EXPIRED x509v3 TLSV13", "SSLV3_ALERT_CERTIFICATE_EXPIRED x509v3 TLSV13"),
        ("via_upstream", "via_upstream"),
    ])
    func normalised(_ raw: String, _ interned: String) {
        let (tokenizer, id) = FailureDetailInterningTests.intern(raw)
        #expect(tokenizer.failureDetail(id) == interned)
    }

    @Test func dashAndEmptyAreNoDetail() {
        #expect(FailureDetailInterningTests.intern("-").id == AccessRecord.noKey)
        #expect(FailureDetailInterningTests.intern("").id == AccessRecord.noKey)
    }

    @Test func aLongValueIsCutAtACharacterBoundary() {
        let raw = String(repeating: "a", count: 255) + "é" + String(repeating: "b", count: 100)
        let (tokenizer, id) = FailureDetailInterningTests.intern(raw)
        let text = tokenizer.failureDetail(id)!
        #expect(text == String(repeating: "a", count: 255) + "…")
    }

    /// A flood of distinct reasons: per-request values fold into one; past the cap, "other".
    @Test func distinctValuesAreBounded() {
        let tokenizer = LineTokenizer()
        let plan = try! LinePlan(formatString: #"%RESPONSE_CODE% %RESPONSE_FLAGS% "%UPSTREAM_TRANSPORT_FAILURE_REASON%""#)
        func parse(_ reason: String) -> UInt32 {
            var line = #"503 UF "\#(reason)""#
            _ = line.withUTF8 { tokenizer.tokenize(UnsafeRawBufferPointer($0), plan: plan) }
            return tokenizer.record.upstreamTransportFailureReason
        }
        let first = parse("delayed_connect_error:_111|remote_address:10.0.0.1:1000")
        for port in 1001..<5000 {
            #expect(parse("delayed_connect_error:_111|remote_address:10.0.\(port % 250).1:\(port)") == first)
        }
        #expect(tokenizer.failureDetails.count == 1)
        // Letters only, so that normalising keeps them apart.
        func letters(_ n: Int) -> String {
            var n = n, text = ""
            repeat {
                text.append(Character(Unicode.Scalar(UInt8(97 + n % 26))))
                n /= 26
            } while n > 0
            return text
        }
        for n in 0..<(LineTokenizer.failureDetailLimit + 100) { _ = parse("custom_reason_" + letters(n)) }
        #expect(tokenizer.failureDetails.count == LineTokenizer.failureDetailLimit)
        #expect(tokenizer.failureDetails.overflowCount >= 100)
        #expect(parse("one_more_reason_never_seen") == ByteInterner.overflow)
        #expect(tokenizer.failureDetail(ByteInterner.overflow) == "other")
        let classifier = FailureClassifier(tokenizer: tokenizer)
        #expect(classifier.classify(tokenizer.record, cluster: .none) == .connectFailed)
    }
}

@Suite struct RunbookTests {
    @Test func commandsAreFilledInFromTheClusterName() {
        let cluster = "outbound|8080||api.default.svc.cluster.local"
        let steps = Runbook.commands(for: .connectionRefused, cluster: cluster)
        #expect(steps.contains("kubectl get endpoints api -n default"))
        #expect(steps.contains("istioctl proxy-config endpoints POD --cluster 'outbound|8080||api.default.svc.cluster.local'"))
        #expect(steps.contains("istioctl x describe pod POD"))
        let tls = Runbook.commands(for: .tlsMismatch, cluster: cluster)
        #expect(tls.contains("kubectl get peerauthentication -n default -o yaml"))
        #expect(tls.contains("kubectl get destinationrule -n default -o yaml"))
        #expect(tls.contains("istioctl proxy-config cluster POD --fqdn api.default.svc.cluster.local --port 8080 -o json"))
    }

    @Test func clusterNamesAreTakenApart() throws {
        let cluster = try #require(IstioCluster("outbound|9080|v1|ratings.bookinfo.svc.cluster.local;"))
        #expect(cluster.direction == .outbound)
        #expect(cluster.port == 9080)
        #expect(cluster.subset == "v1")
        #expect(cluster.service?.name == "ratings")
        #expect(cluster.service?.namespace == "bookinfo")
        let inbound = try #require(IstioCluster("inbound|8080||"))
        #expect(inbound.direction == .inbound && inbound.host.isEmpty && inbound.service == nil)
        #expect(IstioCluster("httpbin.org") == nil)
        #expect(IstioCluster("outbound|80||httpbin.org")?.service == nil)
    }

    /// A cluster name is log content: it is quoted for the shell, and a name that is not a
    /// plain name is never written unquoted into a command.
    @Test func hostileNamesCannotRunCommands() {
        let hostile = "outbound|80||x';rm -rf ~;'.evil$(id).svc.cluster.local"
        let quoted = #"'outbound|80||x'\'';rm -rf ~;'\''.evil$(id).svc.cluster.local'"#
        for cause in FailureCause.allCases {
            for step in Runbook.commands(for: cause, cluster: hostile) where step.contains("rm -rf") || step.contains("$(id)") {
                #expect(step.contains(quoted), "\(step)")
            }
        }
        #expect(Runbook.commands(for: .connectionRefused, cluster: hostile).contains(
            #"istioctl proxy-config endpoints POD --cluster 'outbound|80||x'\'';rm -rf ~;'\''.evil$(id).svc.cluster.local'"#))
    }
}
