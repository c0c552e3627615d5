/// What an upstream cluster name says about where a request went.
public enum ClusterKind: UInt8, CaseIterable, Sendable {
    /// Istio's `inbound|port|…`: the proxy's own pod.
    case inbound
    /// Istio's `outbound|port|subset|host`: a mesh or ServiceEntry destination.
    case outbound
    /// Istio's catch-all for destinations that outboundTrafficPolicy REGISTRY_ONLY blocks.
    case blackHole
    /// Istio's catch-all for unknown destinations let through (ALLOW_ANY, original destination).
    case passthrough
    /// `-`, empty, or no cluster field: no cluster was selected.
    case none
    /// Any other name (plain Envoy, Envoy Gateway…).
    case other

    /// The kind of `name`, read from its first bytes only.
    public init(name: UnsafeRawBufferPointer) {
        @inline(__always) func starts(with prefix: StaticString) -> Bool {
            let count = prefix.utf8CodeUnitCount
            guard name.count >= count else { return false }
            // Safe: `i` < `count`, the length of both the prefix and (checked above) at most the name's.
            for i in 0..<count where name[i] != prefix.utf8Start[i] { return false }
            return true
        }
        if name.isEmpty || (name.count == 1 && name[0] == UInt8(ascii: "-")) {
            self = .none
        } else if starts(with: "outbound|") {
            self = .outbound
        } else if starts(with: "inbound|") {
            self = .inbound
        } else if starts(with: "BlackHoleCluster") {
            self = .blackHole
        } else if starts(with: "PassthroughCluster") || starts(with: "InboundPassthroughCluster") {
            self = .passthrough
        } else {
            self = .other
        }
    }

    public init(name: String) {
        var name = name
        self = name.withUTF8 { ClusterKind(name: UnsafeRawBufferPointer($0)) }
    }
}

/// An Istio cluster name taken apart: `outbound|8080|v1|api.default.svc.cluster.local`.
public struct IstioCluster: Equatable, Sendable {
    public enum Direction: String, Sendable { case inbound, outbound }
    public var direction: Direction
    public var port: Int?
    /// Empty when the name has none.
    public var subset: String
    /// The destination host: `api.default.svc.cluster.local`, `httpbin.org`; empty for the
    /// inbound names of Istio 1.8+ (`inbound|8080||`).
    public var host: String

    /// Nil unless `name` is `direction|port|subset|host` (a trailing `;` is dropped).
    public init?(_ name: String) {
        let trimmed = name.hasSuffix(";") ? String(name.dropLast()) : name
        let parts = trimmed.split(separator: "|", omittingEmptySubsequences: false)
        guard parts.count == 4, let direction = Direction(rawValue: String(parts[0])) else { return nil }
        self.direction = direction
        port = Int(parts[1])
        subset = String(parts[2])
        host = String(parts[3])
    }

    /// The Kubernetes service of a `NAME.NAMESPACE.svc.…` host, or nil for other hosts.
    public var service: (name: String, namespace: String)? {
        let labels = host.split(separator: ".", omittingEmptySubsequences: false)
        guard labels.count >= 3, labels[2] == "svc", !labels[0].isEmpty, !labels[1].isEmpty else { return nil }
        return (String(labels[0]), String(labels[1]))
    }
}
