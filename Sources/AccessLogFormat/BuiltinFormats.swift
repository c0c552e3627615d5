/// The access-log formats Envoy, Istio and Emissary ship, by the names users know them by.
public enum BuiltinFormat: String, CaseIterable, Sendable {
    case envoy
    case emissary
    case istio
    case istio18 = "istio-1.8"
    case istio13 = "istio-1.3"
    case istio12 = "istio-1.2"
    case istio11 = "istio-1.1"
    /// Istio 1.0: Envoy's default followed by the five unquoted address fields.
    case istio10 = "istio-1.0"
    /// Istio's JSON encoding, Envoy Gateway's and other `json_format` logs.
    case json

    static let envoyDefault =
        #"[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE% %RESPONSE_FLAGS% %BYTES_RECEIVED% %BYTES_SENT% %DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%" "%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%""#
    static let requestPart =
        #"[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE% %RESPONSE_FLAGS%"#
    static let envoyTail =
        #" %BYTES_RECEIVED% %BYTES_SENT% %DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%" "%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%""#
    static let istioAddresses =
        " %UPSTREAM_CLUSTER% %UPSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_REMOTE_ADDRESS% %REQUESTED_SERVER_NAME%"

    /// The format string, as the proxy is configured with it.
    public var formatString: String {
        switch self {
        case .envoy: return BuiltinFormat.envoyDefault
        case .emissary: return "ACCESS " + BuiltinFormat.envoyDefault
        case .istio:
            return BuiltinFormat.requestPart
                + #" %RESPONSE_CODE_DETAILS% %CONNECTION_TERMINATION_DETAILS% "%UPSTREAM_TRANSPORT_FAILURE_REASON%""#
                + BuiltinFormat.envoyTail + BuiltinFormat.istioAddresses + " %ROUTE_NAME%"
        case .istio18:
            return BuiltinFormat.requestPart + #" "%UPSTREAM_TRANSPORT_FAILURE_REASON%""#
                + BuiltinFormat.envoyTail + BuiltinFormat.istioAddresses + " %ROUTE_NAME%"
        case .istio13:
            return BuiltinFormat.istio12.formatString + " %ROUTE_NAME%"
        case .istio12:
            return BuiltinFormat.requestPart + #" "%DYNAMIC_METADATA(istio.mixer:status)%" "%UPSTREAM_TRANSPORT_FAILURE_REASON%""#
                + BuiltinFormat.envoyTail + BuiltinFormat.istioAddresses
        case .istio11:
            return BuiltinFormat.requestPart + #" "%DYNAMIC_METADATA(istio.mixer:status)%""#
                + BuiltinFormat.envoyTail + BuiltinFormat.istioAddresses
        case .istio10:
            return BuiltinFormat.envoyDefault + BuiltinFormat.istioAddresses
        case .json:
            return "json"
        }
    }

    /// Compiled once; built-in format strings are known to be valid.
    public var plan: LinePlan {
        self == .json ? LinePlan(jsonKeys: .standard) : try! LinePlan(name: rawValue, formatString: formatString)
    }
}
