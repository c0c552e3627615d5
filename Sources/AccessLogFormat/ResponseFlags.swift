/// One of Envoy's 30 built-in response flags; the raw value is its bit in `ResponseFlags`.
public enum ResponseFlag: Int, CaseIterable, Sendable {
    case LH, UH, UT, LR, UR, UF, UC, UO, NR, DI, FI, RL, UAEX, RLSE, DC, URX, SI, IH, DPE, UMSDR,
        RFCF, NFCF, DT, UPE, NC, OM, DF, DO, DR, UDO

    /// The code Envoy prints for `%RESPONSE_FLAGS%`.
    public var shortCode: String { ResponseFlag.shortCodes[rawValue] }

    /// The name Envoy prints for `%RESPONSE_FLAGS_LONG%`.
    public var longName: String { ResponseFlag.longNames[rawValue] }

    public init?(code: String) {
        guard let index = ResponseFlag.shortCodes.firstIndex(of: code) ?? ResponseFlag.longNames.firstIndex(of: code)
        else { return nil }
        self.init(rawValue: index)
    }

    static let shortCodes = [
        "LH", "UH", "UT", "LR", "UR", "UF", "UC", "UO", "NR", "DI", "FI", "RL", "UAEX", "RLSE", "DC", "URX",
        "SI", "IH", "DPE", "UMSDR", "RFCF", "NFCF", "DT", "UPE", "NC", "OM", "DF", "DO", "DR", "UDO",
    ]
    static let longNames = [
        "FailedLocalHealthCheck", "NoHealthyUpstream", "UpstreamRequestTimeout", "LocalReset",
        "UpstreamRemoteReset", "UpstreamConnectionFailure", "UpstreamConnectionTermination", "UpstreamOverflow",
        "NoRouteFound", "DelayInjected", "FaultInjected", "RateLimited", "UnauthorizedExternalService",
        "RateLimitServiceError", "DownstreamConnectionTermination", "UpstreamRetryLimitExceeded",
        "StreamIdleTimeout", "InvalidEnvoyRequestHeaders", "DownstreamProtocolError",
        "UpstreamMaxStreamDurationReached", "ResponseFromCacheFilter", "NoFilterConfigFound", "DurationTimeout",
        "UpstreamProtocolError", "NoClusterFound", "OverloadManagerTerminated", "DnsResolutionFailed",
        "DropOverload", "DownstreamRemoteReset", "UnconditionalDropOverload",
    ]
}

/// The set of known flags on one record, one bit per `ResponseFlag`.
public struct ResponseFlags: OptionSet, Hashable, Sendable {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public init(_ flag: ResponseFlag) { rawValue = 1 << UInt32(flag.rawValue) }

    public func contains(_ flag: ResponseFlag) -> Bool { rawValue & (1 << UInt32(flag.rawValue)) != 0 }

    /// Flags in bit order, for printing.
    public var members: [ResponseFlag] { ResponseFlag.allCases.filter(contains) }
}

/// Matches flag codes byte by byte without building strings.
///
/// Short codes are at most 5 bytes, so each packs into one `UInt64` and a lookup is a
/// comparison of integers; long names (rare) are compared as bytes.
enum FlagCodeTable {
    static let packedShortCodes: [UInt64] = ResponseFlag.shortCodes.map { pack(Array($0.utf8)[...]) }
    static let longNameBytes: [[UInt8]] = ResponseFlag.longNames.map { Array($0.utf8) }

    static func pack(_ bytes: ArraySlice<UInt8>) -> UInt64 {
        var value: UInt64 = 0
        for (i, b) in bytes.enumerated() { value |= UInt64(b) << UInt64(8 * i) }
        return value
    }

    /// The flag whose short code or long name is `code`, or nil for an unknown code.
    @inline(__always)
    static func lookup(_ code: UnsafeRawBufferPointer) -> ResponseFlag? {
        if code.count <= 5 {
            var value: UInt64 = 0
            for i in 0..<code.count { value |= UInt64(code[i]) << UInt64(8 * i) }
            return packedShortCodes.withUnsafeBufferPointer { table in
                for i in 0..<table.count where table[i] == value { return ResponseFlag(rawValue: i) }
                return nil
            }
        }
        for (i, name) in longNameBytes.enumerated() where name.count == code.count {
            if name.withUnsafeBytes({ $0.elementsEqual(code) }) { return ResponseFlag(rawValue: i) }
        }
        return nil
    }

    /// Extensions register upper-case codes; anything else in the flags column means the
    /// line does not follow the format (a details value such as `via_upstream`, say).
    @inline(__always)
    static func isExtensionCode(_ code: UnsafeRawBufferPointer) -> Bool {
        guard let first = code.first, first >= UInt8(ascii: "A"), first <= UInt8(ascii: "Z"), code.count <= 32
        else { return false }
        for b in code {
            let isUpper = b >= UInt8(ascii: "A") && b <= UInt8(ascii: "Z")
            let isDigit = b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9")
            if !(isUpper || isDigit || b == UInt8(ascii: "_")) { return false }
        }
        return true
    }
}
