import AccessLogFormat

extension ResponseFlag {
    /// What Envoy means by the flag, in a few words.
    public var meaning: String {
        switch self {
        case .LH: return "the local service failed its health check"
        case .UH: return "no healthy upstream host (503)"
        case .UT: return "upstream request timeout (504)"
        case .LR: return "connection reset by Envoy itself"
        case .UR: return "upstream remote reset"
        case .UF: return "upstream connection failure (503)"
        case .UC: return "upstream connection termination"
        case .UO: return "upstream overflow: circuit breaking or pool limit"
        case .NR: return "no route configured (404), or no filter chain for a connection"
        case .DI: return "request delayed by fault injection"
        case .FI: return "request aborted by fault injection"
        case .RL: return "rate limited (429)"
        case .UAEX: return "denied by the external authorization service"
        case .RLSE: return "rate limit service error"
        case .DC: return "downstream connection termination"
        case .URX: return "upstream retry limit (HTTP) or connect attempts (TCP) exceeded"
        case .SI: return "stream idle timeout"
        case .IH: return "invalid value in a strictly checked request header (400)"
        case .DPE: return "downstream HTTP protocol error"
        case .UMSDR: return "upstream max stream duration reached"
        case .RFCF: return "response served from the cache filter"
        case .NFCF: return "filter configuration not received in time"
        case .DT: return "max connection or stream duration reached"
        case .UPE: return "upstream HTTP protocol error"
        case .NC: return "upstream cluster not found"
        case .OM: return "terminated by the overload manager"
        case .DF: return "DNS resolution failed"
        case .DO: return "dropped by EDS drop_overloads (503)"
        case .DR: return "downstream HTTP/2 remote reset or refused stream"
        case .UDO: return "dropped by drop_overloads at 100% (503)"
        }
    }
}
