/// What a command operator holds, as far as flagwatch cares; everything else is `.other`.
public enum FieldKind: UInt8, Sendable, CaseIterable {
    case startTime, responseCode, responseFlags, bytesReceived, bytesSent, duration, upstreamServiceTime
    case upstreamCluster, authority, upstreamHost, route
    /// Why Envoy answered as it did, why the upstream connection failed, why Envoy closed the
    /// downstream connection: the evidence a failure's cause is read from.
    case responseCodeDetails, upstreamTransportFailureReason, connectionTerminationDetails
    case method, path, `protocol`, userAgent, forwardedFor, requestID, other

    /// Whether the record holds a value of this field (the others are byte ranges only).
    /// Kinds are ordered so that this is one comparison on the hot path.
    @inline(__always)
    var isDecoded: Bool { rawValue <= FieldKind.lastDecoded.rawValue }
    static var lastDecoded: FieldKind { .connectionTerminationDetails }

    /// Header values that a client writes freely: where surplus quotes on a line belong.
    var isFreeText: Bool { self == .userAgent || self == .forwardedFor }
}

/// A set of field kinds, one bit each: what a line held, what a format has.
public struct FieldSet: OptionSet, Sendable, Hashable {
    public var rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public init(_ kind: FieldKind) { rawValue = 1 << kind.rawValue }
    public init(_ kinds: some Sequence<FieldKind>) { self = kinds.reduce(into: []) { $0.insert(FieldSet($1)) } }

    @inline(__always)
    public func contains(_ kind: FieldKind) -> Bool { rawValue & 1 << kind.rawValue != 0 }

    public var kinds: [FieldKind] { FieldKind.allCases.filter(contains) }

    /// The fields records are counted by: a JSON line holding none of them is not an access-log
    /// record; one holding some is, with the others absent (untimed, no code, no flags).
    public static let countedBy = FieldSet([FieldKind.startTime, .responseCode, .responseFlags, .upstreamCluster, .authority,
                                            .upstreamHost, .route])
    /// The keys records can be grouped by.
    public static let groupKeys = FieldSet([FieldKind.upstreamCluster, .authority, .upstreamHost, .route])
}

/// One `%OPERATOR(arg):N%` of a format string.
public struct FormatOperator: Equatable, Sendable {
    public var name: String
    public var argument: String?
    public var truncation: Int?
    /// Column (1-based, in characters) where the operator starts in the format string.
    public var column: Int

    public var kind: FieldKind {
        switch name {
        case "START_TIME", "START_TIME_LOCAL": return .startTime
        case "RESPONSE_CODE": return .responseCode
        case "RESPONSE_FLAGS", "RESPONSE_FLAGS_LONG": return .responseFlags
        case "BYTES_RECEIVED": return .bytesReceived
        case "BYTES_SENT": return .bytesSent
        case "DURATION": return .duration
        case "UPSTREAM_CLUSTER", "UPSTREAM_CLUSTER_RAW": return .upstreamCluster
        case "UPSTREAM_HOST", "UPSTREAM_REMOTE_ADDRESS": return .upstreamHost
        case "ROUTE_NAME": return .route
        case "RESPONSE_CODE_DETAILS": return .responseCodeDetails
        case "UPSTREAM_TRANSPORT_FAILURE_REASON": return .upstreamTransportFailureReason
        case "CONNECTION_TERMINATION_DETAILS": return .connectionTerminationDetails
        case "PROTOCOL": return .protocol
        case "REQ", "REQUEST_HEADER":
            switch argument?.uppercased() {
            case ":AUTHORITY", "HOST", ":AUTHORITY?HOST", "HOST?:AUTHORITY": return .authority
            case ":METHOD": return .method
            case ":PATH", "X-ENVOY-ORIGINAL-PATH?:PATH": return .path
            case "USER-AGENT": return .userAgent
            case "X-FORWARDED-FOR": return .forwardedFor
            case "X-REQUEST-ID": return .requestID
            default: return .other
            }
        case "RESP", "RESPONSE_HEADER":
            return argument?.uppercased() == "X-ENVOY-UPSTREAM-SERVICE-TIME" ? .upstreamServiceTime : .other
        default: return .other
        }
    }
}

/// A format string split into literal text and operators, in order.
public enum FormatElement: Equatable, Sendable {
    case literal([UInt8])
    case field(FormatOperator)
}

/// A format string that cannot be compiled, with the column that is wrong.
public struct FormatError: Error, Equatable, CustomStringConvertible, Sendable {
    public var message: String
    public var format: String
    /// 1-based column, in characters.
    public var column: Int

    public var description: String {
        // At most 120 characters of the format, around the column, so the caret always shows.
        let width = 120
        let characters = Array(format)
        let start = characters.count > width ? min(max(0, column - 1 - width / 2), characters.count - width) : 0
        let end = min(characters.count, start + width)
        let shown = (start > 0 ? "…" : "") + String(characters[start..<end]) + (end < characters.count ? "…" : "")
        let caret = String(repeating: " ", count: max(0, column - 1 - start) + (start > 0 ? 1 : 0)) + "^"
        return "invalid format string at column \(column): \(message)\n  \(shown)\n  \(caret)"
    }
}

/// Parses Envoy's text format syntax: `%NAME%`, `%NAME(arg)%`, `%NAME(arg):N%`, literals.
public enum FormatStringParser {
    public static func parse(_ format: String) throws(FormatError) -> [FormatElement] {
        let chars = Array(format.unicodeScalars)
        var elements: [FormatElement] = []
        var literal: [UInt8] = []
        var i = 0
        func fail(_ message: String, at index: Int) -> FormatError {
            FormatError(message: message, format: format, column: index + 1)
        }
        while i < chars.count {
            let c = chars[i]
            guard c == "%" else {
                literal.append(contentsOf: Array(String(c).utf8))
                i += 1
                continue
            }
            let start = i
            i += 1
            var name = ""
            while i < chars.count, chars[i] == "_" || ("A"..."Z").contains(chars[i]) || ("0"..."9").contains(chars[i]) {
                name.unicodeScalars.append(chars[i])
                i += 1
            }
            guard !name.isEmpty else {
                throw fail("expected an upper-case operator name after '%'", at: i < chars.count ? i : start)
            }
            var argument: String?
            if i < chars.count, chars[i] == "(" {
                // Arguments may themselves hold '%' (strftime) and nested parentheses.
                var depth = 1
                var arg = ""
                i += 1
                while i < chars.count {
                    if chars[i] == "(" { depth += 1 }
                    if chars[i] == ")" {
                        depth -= 1
                        if depth == 0 { break }
                    }
                    arg.unicodeScalars.append(chars[i])
                    i += 1
                }
                guard i < chars.count else { throw fail("unclosed '(' in %\(name)(…)%", at: start) }
                argument = arg
                i += 1
            }
            var truncation: Int?
            if i < chars.count, chars[i] == ":" {
                i += 1
                var digits = ""
                while i < chars.count, ("0"..."9").contains(chars[i]) {
                    digits.unicodeScalars.append(chars[i])
                    i += 1
                }
                guard let n = Int(digits), n > 0 else { throw fail("expected a length after ':' in %\(name)%", at: i) }
                truncation = n
            }
            guard i < chars.count, chars[i] == "%" else {
                throw fail("operator %\(name) is not closed by '%'", at: i < chars.count ? i : start)
            }
            i += 1
            if !literal.isEmpty {
                elements.append(.literal(literal))
                literal.removeAll()
            }
            let op = FormatOperator(name: name, argument: argument, truncation: truncation, column: start + 1)
            // A path starts with `/` (or is `-`), so it can be told apart from the value before
            // it (`%REQ(:AUTHORITY)%%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%`); no other pair can.
            if case .field(let previous) = elements.last, op.kind != .path || previous.kind == .path {
                throw fail("two operators with no separator between them cannot be told apart (only a path may follow another operator directly)", at: start)
            }
            elements.append(.field(op))
        }
        // Envoy ends every text record with a newline; the line splitter owns it.
        while literal.last == UInt8(ascii: "\n") || literal.last == UInt8(ascii: "\r") { literal.removeLast() }
        if !literal.isEmpty { elements.append(.literal(literal)) }
        return elements
    }
}
