/// The next commands to run for a cause, filled in from the cluster name.
///
/// `POD` stands for the pod whose proxy wrote the line (the log does not name it). Values
/// taken from the log are written into a command only when they are plain names (DNS
/// labels, digits); the cluster name itself is single-quoted for the shell, so a hostile
/// name pasted from a log cannot run anything.
public enum Runbook {
    /// The commands, most telling first.
    public static func commands(for cause: FailureCause, cluster: String) -> [String] {
        let target = Target(cluster: cluster)
        var steps: [String] = []
        func add(_ step: String?) { if let step { steps.append(step) } }
        switch cause {
        case .connectionRefused, .connectTimeout, .networkUnreachable, .connectFailed:
            add(target.endpoints)
            add(target.serviceJSON("{.spec.ports}"))
            add(target.proxyEndpoints)
            if cause != .connectionRefused { add("kubectl get networkpolicy \(target.namespaceScope)") }
            // Inbound: the app in the pod must listen on the port, on all addresses (not 127.0.0.1 only).
            add(target.inbound ? "kubectl get pod POD -o jsonpath='{.spec.containers[*].ports}'" : nil)
            add("istioctl x describe pod POD")
        case .tlsMismatch:
            add("istioctl x describe pod POD")
            add("kubectl get peerauthentication \(target.namespaceScope) -o yaml")
            add("kubectl get destinationrule \(target.namespaceScope) -o yaml")
            add(target.proxyCluster(json: true))
        case .certificateExpired, .certificateVerifyFailed, .clientCertificateRequired, .tlsHandshakeFailed:
            add("istioctl proxy-config secret POD")
            add(target.proxyCluster(json: true))
            add("kubectl get destinationrule \(target.namespaceScope) -o yaml")
            add(target.openssl)
        case .tlsSecretMissing:
            add("istioctl proxy-config secret POD")
            add("istioctl proxy-status POD")
            add("kubectl get secret \(target.namespaceScope)")
        case .noHealthyUpstream:
            add(target.endpoints)
            add(target.proxyEndpoints)
            add(target.subset.isEmpty ? nil : "kubectl get destinationrule \(target.namespaceScope) -o yaml")
            add(target.service.map { "kubectl describe service \($0.name) -n \($0.namespace)" })
        case .noRoute:
            add("istioctl proxy-config routes POD")
            add("kubectl get virtualservice,gateway,httproute \(target.namespaceScope)")
            add("istioctl analyze \(target.namespaceScope)")
        case .clusterNotFound:
            add(target.proxyCluster(json: false) ?? "istioctl proxy-config cluster POD")
            add("kubectl get destinationrule,virtualservice \(target.namespaceScope) -o yaml")
            add("istioctl proxy-status POD")
        case .circuitOpen:
            add("kubectl get destinationrule \(target.namespaceScope) -o yaml")
            add(target.proxyCluster(json: true))
            add("kubectl exec POD -c istio-proxy -- pilot-agent request GET stats | grep -e overflow -e pending")
        case .upstreamTimeout, .streamTimeout, .retriesExhausted:
            add("kubectl get virtualservice \(target.namespaceScope) -o yaml")
            add(target.proxyEndpoints)
            add(target.service.map { "kubectl top pods -n \($0.namespace)" })
        case .upstreamReset:
            add(target.service.map { "kubectl get pods -n \($0.namespace)" })
            add("istioctl x describe pod POD")
            add("kubectl get destinationrule \(target.namespaceScope) -o yaml")
            add(target.proxyEndpoints)
        case .protocolError:
            add(target.serviceJSON("{.spec.ports}"))
            add("istioctl proxy-config listeners POD")
        case .rateLimited:
            add("kubectl get envoyfilter -A")
            add("istioctl proxy-config listeners POD -o json | grep -A5 -i ratelimit")
        case .authzDenied:
            add("kubectl get authorizationpolicy,requestauthentication \(target.namespaceScope) -o yaml")
            add("istioctl x authz check POD")
        case .egressBlocked:
            add("kubectl get serviceentry -A")
            add("kubectl get configmap istio -n istio-system -o jsonpath='{.data.mesh}' | grep -A2 outboundTrafficPolicy")
        case .dnsFailure:
            add("kubectl get serviceentry -A")
            add(target.host.map { "kubectl exec POD -c istio-proxy -- getent hosts \($0)" })
        case .loadShed:
            add("kubectl exec POD -c istio-proxy -- pilot-agent request GET stats | grep -e overload -e drop_overload")
            add("kubectl top pod POD")
        case .faultInjected:
            add("kubectl get virtualservice \(target.namespaceScope) -o yaml | grep -B2 -A8 fault:")
        case .downstreamDisconnect:
            add("kubectl get virtualservice \(target.namespaceScope) -o yaml")
        case .unknown:
            add("istioctl x describe pod POD")
            add("istioctl proxy-config log POD --level connection:debug,upstream:debug")
        }
        return steps
    }

    /// What a cluster name gives the commands.
    struct Target {
        var quotedCluster: String?
        var service: (name: String, namespace: String)?
        var host: String?
        var port: Int?
        var subset = ""
        var inbound = false

        init(cluster: String) {
            guard let istio = IstioCluster(cluster) else {
                if Runbook.isPlainName(cluster), cluster != "-" { quotedCluster = Runbook.shellQuoted(cluster) }
                return
            }
            quotedCluster = Runbook.shellQuoted(cluster.hasSuffix(";") ? String(cluster.dropLast()) : cluster)
            inbound = istio.direction == .inbound
            port = istio.port
            subset = istio.subset
            if Runbook.isPlainName(istio.host) { host = istio.host }
            if let service = istio.service, Runbook.isPlainName(service.name), Runbook.isPlainName(service.namespace) {
                self.service = service
            }
        }

        var namespaceScope: String { service.map { "-n \($0.namespace)" } ?? "-A" }
        var endpoints: String? { service.map { "kubectl get endpoints \($0.name) -n \($0.namespace)" } }
        func serviceJSON(_ path: String) -> String? {
            service.map { "kubectl get service \($0.name) -n \($0.namespace) -o jsonpath='\(path)'" }
        }
        var proxyEndpoints: String? { quotedCluster.map { "istioctl proxy-config endpoints POD --cluster \($0)" } }
        func proxyCluster(json: Bool) -> String? {
            host.map { "istioctl proxy-config cluster POD --fqdn \($0)" + (port.map { " --port \($0)" } ?? "") + (json ? " -o json" : "") }
        }
        var openssl: String? {
            guard let host, service == nil, let port else { return nil }
            return "openssl s_client -connect \(host):\(port) -servername \(host) </dev/null"
        }
    }

    /// Letters, digits and `.-_` only: safe in a command line without quotes.
    static func isPlainName(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.count <= 253 && text.utf8.allSatisfy { c in
            (c >= 0x61 && c <= 0x7A) || (c >= 0x41 && c <= 0x5A) || (c >= 0x30 && c <= 0x39) || c == 0x2E || c == 0x2D || c == 0x5F
        }
    }

    /// `text` in single quotes for a POSIX shell (a `'` inside becomes `'\''`).
    static func shellQuoted(_ text: String) -> String {
        "'" + text.split(separator: "'", omittingEmptySubsequences: false).joined(separator: #"'\''"#) + "'"
    }
}
