import AccessLogFormat

/// Which format lines are read with.
public enum FormatChoice: Sendable {
    /// Pick among the built-in formats from the first lines, and again when lines change.
    case automatic
    case fixed(LinePlan)

    /// A built-in name (`envoy`, `istio`…), `auto`, or a format string.
    public init(argument: String) throws(FormatError) {
        if argument == "auto" {
            self = .automatic
        } else if let builtin = BuiltinFormat(rawValue: argument) {
            self = .fixed(builtin.plan)
        } else {
            self = .fixed(try LinePlan(formatString: argument))
        }
    }
}

/// The clock windows run on.
public enum TimeSource: String, Sendable, CaseIterable {
    /// The record's `%START_TIME%`: right for history, and for live logs with timestamps.
    case event
    /// The moment the line was read: for live streams whose lines carry no usable time.
    case processing
}
