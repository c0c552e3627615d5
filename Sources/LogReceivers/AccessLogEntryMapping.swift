import AccessLogFormat
import ReceiverProtos
import SwiftProtobuf

typealias StreamAccessLogsMessage = Envoy_Service_Accesslog_V3_StreamAccessLogsMessage
typealias AccessLogCommon = Envoy_Data_Accesslog_V3_AccessLogCommon

/// Entries of Envoy's gRPC access-log service → records, field by field: the `ResponseFlags`
/// booleans become flag bits, codes and byte counts numbers, with no text line in between.
enum AccessLogEntryMapping {
    /// The format name the records are reported by.
    static let format = "envoy-als"

    /// The stream's input name, from the identifier its first message carries.
    static func inputName(_ identifier: StreamAccessLogsMessage.Identifier) -> String {
        let node = identifier.node.id.isEmpty ? (identifier.node.cluster.isEmpty ? "unknown" : identifier.node.cluster) : identifier.node.id
        return "envoy-als/" + node + "/" + (identifier.logName.isEmpty ? "-" : identifier.logName)
    }

    /// Writes the message's entries; returns how many.
    static func write(_ message: StreamAccessLogsMessage, into writer: inout FieldRecordWriter) -> Int {
        switch message.logEntries {
        case .httpLogs(let entries)?:
            for entry in entries.logEntry {
                writer.beginRecord()
                writeCommon(entry.commonProperties, into: &writer)
                let request = entry.request, response = entry.response
                // No code is what Envoy prints as 0 (the downstream went away before a response).
                writer.number(.responseCode, response.hasResponseCode ? Int64(response.responseCode.value) : 0)
                writer.number(.bytesReceived, Int64(clamping: request.requestBodyBytes))
                writer.number(.bytesSent, Int64(clamping: response.responseBodyBytes))
                text(.authority, request.authority, into: &writer)
                text(.path, request.path, into: &writer)
                text(.userAgent, request.userAgent, into: &writer)
                text(.forwardedFor, request.forwardedFor, into: &writer)
                text(.requestID, request.requestID, into: &writer)
                let method = request.requestMethod.rawValue
                if method > 0, method < methodNames.count { writer.text(.method, methodNames[method]) }
                text(.responseCodeDetails, response.responseCodeDetails, into: &writer)
                writer.endRecord()
            }
            return entries.logEntry.count
        case .tcpLogs(let entries)?:
            for entry in entries.logEntry {
                writer.beginRecord()
                writeCommon(entry.commonProperties, into: &writer)
                writer.number(.responseCode, 0)
                writer.number(.bytesReceived, Int64(clamping: entry.connectionProperties.receivedBytes))
                writer.number(.bytesSent, Int64(clamping: entry.connectionProperties.sentBytes))
                writer.endRecord()
            }
            return entries.logEntry.count
        case nil:
            return 0
        }
    }

    private static func writeCommon(_ common: AccessLogCommon, into writer: inout FieldRecordWriter) {
        if common.hasStartTime {
            writer.number(.startTime, common.startTime.seconds &* 1_000_000 &+ Int64(common.startTime.nanos / 1000))
        }
        writer.flags(flags(common.responseFlags))
        // An empty cluster is Envoy's `-`: counted under that key, as in a file log.
        writer.text(.upstreamCluster, common.upstreamCluster)
        if common.hasUpstreamRemoteAddress {
            let address = common.upstreamRemoteAddress.socketAddress
            writer.text(.upstreamHost, address.address + ":" + String(address.portValue))
        }
        text(.route, common.routeName, into: &writer)
        text(.upstreamTransportFailureReason, common.upstreamTransportFailureReason, into: &writer)
        text(.connectionTerminationDetails, common.connectionTerminationDetails, into: &writer)
        let duration = common.hasDuration ? common.duration : common.hasTimeToLastDownstreamTxByte ? common.timeToLastDownstreamTxByte : nil
        if let duration { writer.number(.duration, duration.seconds &* 1000 &+ Int64(duration.nanos / 1_000_000)) }
    }

    private static func text(_ kind: FieldKind, _ value: String, into writer: inout FieldRecordWriter) {
        if !value.isEmpty { writer.text(kind, value) }
    }

    /// Field n of `ResponseFlags` is flag n − 1 of `ResponseFlag` for fields 1–27; field 28
    /// (downstream_remote_reset) is DR. DO and UDO have no field.
    static func flags(_ proto: Envoy_Data_Accesslog_V3_ResponseFlags) -> ResponseFlags {
        let set: [(Bool, ResponseFlag)] = [
            (proto.failedLocalHealthcheck, .LH), (proto.noHealthyUpstream, .UH), (proto.upstreamRequestTimeout, .UT),
            (proto.localReset, .LR), (proto.upstreamRemoteReset, .UR), (proto.upstreamConnectionFailure, .UF),
            (proto.upstreamConnectionTermination, .UC), (proto.upstreamOverflow, .UO), (proto.noRouteFound, .NR),
            (proto.delayInjected, .DI), (proto.faultInjected, .FI), (proto.rateLimited, .RL),
            (proto.hasUnauthorizedDetails, .UAEX), (proto.rateLimitServiceError, .RLSE),
            (proto.downstreamConnectionTermination, .DC), (proto.upstreamRetryLimitExceeded, .URX),
            (proto.streamIdleTimeout, .SI), (proto.invalidEnvoyRequestHeaders, .IH), (proto.downstreamProtocolError, .DPE),
            (proto.upstreamMaxStreamDurationReached, .UMSDR), (proto.responseFromCacheFilter, .RFCF),
            (proto.noFilterConfigFound, .NFCF), (proto.durationTimeout, .DT), (proto.upstreamProtocolError, .UPE),
            (proto.noClusterFound, .NC), (proto.overloadManager, .OM), (proto.dnsResolutionFailure, .DF),
            (proto.downstreamRemoteReset, .DR),
        ]
        var flags = ResponseFlags()
        for (isSet, flag) in set where isSet { flags.insert(ResponseFlags(flag)) }
        return flags
    }

    /// `RequestMethod` by raw value.
    private static let methodNames = ["-", "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"]
}
