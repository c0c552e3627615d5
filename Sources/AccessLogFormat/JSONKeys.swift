/// Which JSON keys hold which fields, for `json_format` access logs.
///
/// Lookups run for every key of every line, so the table is a small open-addressing array
/// probed by length and a few bytes, not a `Dictionary` of `String`s.
public struct JSONKeys: Sendable {
    /// Keys of Istio's JSON encoding, Envoy Gateway's default, the camelCase keys of Gloo's
    /// examples (`upstreamCluster`, `httpMethod`…) and common variants; generic names (`time`,
    /// `status`) are left to `--json-keys`, so application logs are not misread.
    public static let standard = JSONKeys(mapping: [
        .startTime: ["start_time", "timestamp", "startTime"],
        .responseCode: ["response_code", "responseCode"],
        .responseFlags: ["response_flags", "responseFlags"],
        .bytesReceived: ["bytes_received", "rx_bytes", "bytesReceived"],
        .bytesSent: ["bytes_sent", "tx_bytes", "bytesSent"],
        .duration: ["duration", "duration_ms"],
        .upstreamServiceTime: ["upstream_service_time", "x-envoy-upstream-service-time", "x_envoy_upstream_service_time",
                               "upstreamServiceTime"],
        .upstreamCluster: ["upstream_cluster", "upstream_cluster_raw", "upstreamCluster"],
        .authority: ["authority", ":authority"],
        .upstreamHost: ["upstream_host", "upstream_remote_address", "upstreamHost"],
        .route: ["route_name", "routeName"],
        .responseCodeDetails: ["response_code_details", "responseCodeDetails"],
        .upstreamTransportFailureReason: ["upstream_transport_failure_reason", "upstreamTransportFailureReason"],
        .connectionTerminationDetails: ["connection_termination_details", "connectionTerminationDetails"],
        .method: ["method", ":method", "httpMethod"],
        .path: ["path", ":path", "x-envoy-origin-path", "x-envoy-original-path"],
        .protocol: ["protocol"],
        .userAgent: ["user_agent", "user-agent", "userAgent"],
        .forwardedFor: ["x_forwarded_for", "x-forwarded-for", "xForwardedFor"],
        .requestID: ["request_id", "x-request-id", "requestId"],
    ])

    /// Names `--json-keys` accepts, and the kinds they set.
    public static let fieldNames: [String: FieldKind] = [
        "time": .startTime, "code": .responseCode, "flags": .responseFlags, "bytes-received": .bytesReceived,
        "bytes-sent": .bytesSent, "duration": .duration, "upstream-service-time": .upstreamServiceTime,
        "cluster": .upstreamCluster, "authority": .authority, "upstream-host": .upstreamHost, "route": .route,
        "response-code-details": .responseCodeDetails, "upstream-transport-failure-reason": .upstreamTransportFailureReason,
        "connection-termination-details": .connectionTerminationDetails,
        "method": .method, "path": .path, "protocol": .protocol, "user-agent": .userAgent,
        "forwarded-for": .forwardedFor, "request-id": .requestID,
    ]

    /// A slot of the table: where its key is in `keyBytes`; `length` 0 marks an empty slot.
    struct Slot: Sendable {
        var offset: UInt32 = 0
        var length: UInt32 = 0
        var kind: FieldKind = .other
    }

    private(set) var slots = Array(repeating: Slot(), count: 256)
    private(set) var keyBytes: [UInt8] = []
    private(set) var kinds: Set<FieldKind> = []

    public init(mapping: [FieldKind: [String]]) {
        for (kind, keys) in mapping.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
            for key in keys where !key.isEmpty { insert(Array(key.utf8), kind) }
        }
    }

    /// The key of each slot, by kind, for messages and for `overrides`.
    var keysByKind: [(FieldKind, String)] {
        slots.filter { $0.length > 0 }.map { slot in
            (slot.kind, String(decoding: keyBytes[Int(slot.offset)..<Int(slot.offset + slot.length)], as: UTF8.self))
        }
    }

    /// `cluster=KEY,flags=KEY,…` on top of the standard keys: the given key replaces the
    /// standard keys of that field.
    public init(overrides: String) throws(FormatError) {
        var mapping: [FieldKind: [String]] = [:]
        for kind in FieldKind.allCases { mapping[kind] = [] }
        for (kind, key) in JSONKeys.standard.keysByKind { mapping[kind, default: []].append(key) }
        var column = 1
        for pair in overrides.split(separator: ",", omittingEmptySubsequences: false) {
            let parts = pair.split(separator: "=", maxSplits: 1)
            guard parts.count == 2, let kind = JSONKeys.fieldNames[String(parts[0])], !parts[1].isEmpty else {
                throw FormatError(message: "expected FIELD=KEY with FIELD one of \(JSONKeys.fieldNames.keys.sorted().joined(separator: ", "))",
                                  format: overrides, column: column)
            }
            mapping[kind] = [String(parts[1])]
            column += pair.count + 1
        }
        self.init(mapping: mapping)
    }

    public func contains(_ kind: FieldKind) -> Bool { kinds.contains(kind) }

    /// The kind a key names (an OTLP attribute's, say), or nil for keys flagwatch does not read.
    public func kind(ofKey key: UnsafeRawBufferPointer) -> FieldKind? {
        guard let base = key.baseAddress, key.count > 0 else { return nil }
        return lookup(base, 0, key.count)
    }

    @inline(__always)
    static func slot(_ base: UnsafeRawPointer, _ start: Int, _ count: Int) -> Int {
        guard count > 0 else { return 0 }
        let first = Int(base.load(fromByteOffset: start, as: UInt8.self))
        let last = Int(base.load(fromByteOffset: start + count - 1, as: UInt8.self))
        let middle = Int(base.load(fromByteOffset: start + count / 2, as: UInt8.self))
        return (count &* 31 &+ first &* 7 &+ middle &* 3 &+ last) & 255
    }

    private mutating func insert(_ key: [UInt8], _ kind: FieldKind) {
        let found = key.withUnsafeBytes { lookup($0.baseAddress!, 0, key.count) }
        guard found == nil else { return }
        kinds.insert(kind)
        var index = key.withUnsafeBytes { JSONKeys.slot($0.baseAddress!, 0, key.count) }
        while slots[index].length > 0 { index = (index + 1) & 255 }
        slots[index] = Slot(offset: UInt32(keyBytes.count), length: UInt32(key.count), kind: kind)
        keyBytes += key
    }

    /// The kind a key names, or nil for keys flagwatch does not read.
    @inline(__always)
    func lookup(_ base: UnsafeRawPointer, _ start: Int, _ count: Int) -> FieldKind? {
        slots.withUnsafeBufferPointer { slots in
            keyBytes.withUnsafeBytes { keys in
                var index = JSONKeys.slot(base, start, count)
                while slots[index].length > 0 {
                    let slot = slots[index]
                    if Int(slot.length) == count,
                        memoryEqual(keys.baseAddress! + Int(slot.offset), base + start, count)
                    {
                        return slot.kind
                    }
                    index = (index &+ 1) & 255
                }
                return nil
            }
        }
    }
}

