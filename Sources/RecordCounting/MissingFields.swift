import AccessLogFormat

/// Records of one input that lacked a field the counter reads: what a sparse JSON log (Gloo's
/// few camelCase keys) or a format without the group field leaves out. A record without a
/// time is untimed, without a code or flags counts as none, without its group field counts
/// under `-`.
public struct MissingFields: Sendable, Equatable, Codable {
    public var startTime = 0
    public var responseCode = 0
    public var responseFlags = 0
    /// Records without the field their input is grouped by.
    public var groupKey = 0

    public init(startTime: Int = 0, responseCode: Int = 0, responseFlags: Int = 0, groupKey: Int = 0) {
        self.startTime = startTime
        self.responseCode = responseCode
        self.responseFlags = responseFlags
        self.groupKey = groupKey
    }

    /// The fields looked for in every record, besides the group field.
    static let always = FieldSet([.startTime, .responseCode, .responseFlags])

    /// Counts one record lacking `missing` (a subset of `always` and the group field).
    @inline(never)
    mutating func count(_ missing: FieldSet) {
        if missing.contains(.startTime) { startTime += 1 }
        if missing.contains(.responseCode) { responseCode += 1 }
        if missing.contains(.responseFlags) { responseFlags += 1 }
        if !missing.subtracting(MissingFields.always).isEmpty { groupKey += 1 }
    }

    public mutating func add(_ other: MissingFields) {
        startTime += other.startTime
        responseCode += other.responseCode
        responseFlags += other.responseFlags
        groupKey += other.groupKey
    }

    public var isEmpty: Bool { self == MissingFields() }

    /// Non-zero counts by the names reports use: `time`, `responseCode`, `responseFlags`, and
    /// the group field's name (`cluster`, `authority`…).
    public func byName(groupBy: FieldKind) -> [String: Int] {
        let named = [("time", startTime), ("responseCode", responseCode), ("responseFlags", responseFlags),
                     (groupBy.groupName, groupKey)]
        return Dictionary(uniqueKeysWithValues: named.filter { $0.1 > 0 })
    }

    /// What a person reads: `1200 records have no time (untimed), no response code`; nil when
    /// nothing was missing. A count is repeated only where it differs from the one before.
    public func sentence(groupBy: FieldKind) -> String? {
        let parts = [(startTime, "time (untimed)"), (responseCode, "response code"), (responseFlags, "response flags"),
                     (groupKey, "\(groupBy.groupName) (counted under \(GroupKey.missingName))")].filter { $0.0 > 0 }
        guard let first = parts.first else { return nil }
        var text = "\(first.0) record\(first.0 == 1 ? " has" : "s have") no \(first.1)"
        for (previous, part) in zip(parts, parts.dropFirst()) {
            text += part.0 == previous.0 ? ", no \(part.1)" : ", \(part.0) no \(part.1)"
        }
        return text
    }
}
