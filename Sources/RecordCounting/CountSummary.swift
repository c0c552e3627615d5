import AccessLogFormat

/// A malformed line kept for `--show-malformed`.
public struct MalformedSample: Sendable, Equatable {
    public var path: String
    /// 1-based line number in the (decompressed) input.
    public var line: Int
    public var reason: MalformedReason
    /// The line's start, at most 200 bytes, as read (invalid UTF-8 repaired).
    public var text: String

    public init(path: String, line: Int, reason: MalformedReason, text: String) {
        self.path = path
        self.line = line
        self.reason = reason
        self.text = text
    }
}

/// What one input gave.
public struct InputSummary: Sendable, Equatable {
    public var path: String
    /// Bytes read (decompressed bytes for compressed input).
    public var bytes = 0
    public var lines = 0
    public var records = 0
    public var malformed = 0
    /// Why the input could not be read (fully); records before the failure are counted.
    public var error: String?
    /// The field its records were grouped by; nil when no format was chosen for it.
    public var groupBy: FieldKind?
    /// The shipper's envelope its lines came in, when one was detected.
    public var envelope: Envelope?
    /// Records that lacked a field the counter reads.
    public var missingFields = MissingFields()

    public init(path: String, bytes: Int = 0, records: Int = 0, malformed: Int = 0) {
        self.path = path
        self.bytes = bytes
        self.records = records
        self.malformed = malformed
        lines = records + malformed
    }

    public mutating func add(_ other: InputSummary) {
        bytes += other.bytes
        lines += other.lines
        records += other.records
        malformed += other.malformed
        error = error ?? other.error
        groupBy = groupBy ?? other.groupBy
        envelope = envelope ?? other.envelope
        missingFields.add(other.missingFields)
    }
}

/// Everything the counting core counted, merged: what `scan` reports and `tail --report`
/// writes, in the same shape.
public struct CountSummary: Sendable {
    /// The primary group field (`GroupKeys`): keys of another field are named `field:value`;
    /// each input says which field grouped it.
    public var groupBy: FieldKind
    /// Records parsed with each format, by format name.
    public var recordsByFormat: [String: Int] = [:]
    /// Lines that are records or malformed; blank lines are not counted.
    public var lines: Int { records + malformed }
    public var records = 0
    public var malformed = 0
    /// Records left out by `--since`/`--until` (neither records nor malformed).
    public var outsideTimeRange = 0
    public var malformedByReason: [MalformedReason: Int] = [:]
    public var totals = FlagTotals()
    public var inputs: [InputSummary] = []
    public var malformedSamples: [MalformedSample] = []
    /// Records older than the allowed lateness behind the newest one of their input (counted).
    public var late = 0
    /// Records counted under `__other__` because `maxKeys` keys were already held.
    public var keysOverflowed = 0
    /// Records without a start time (formats lacking `%START_TIME%`) under event time: counted;
    /// `scan` leaves them out of its windows, `tail` windows them at the time it read them.
    public var untimed = 0

    public init(groupBy: FieldKind) { self.groupBy = groupBy }

    /// The format most records were read with ("none" when no line parsed).
    public var format: String {
        recordsByFormat.max { ($0.value, $1.key) < ($1.value, $0.key) }?.key ?? "none"
    }

    /// Inputs that could not be read, in whole or in part.
    public var failedInputs: [InputSummary] { inputs.filter { $0.error != nil } }
}
