import AccessLogFormat
import RecordCounting

/// The notes `scan` prints on standard error about how inputs were read: which were grouped
/// by another field than the group order's first, how those keys are named, and which fields
/// records lacked. Nothing is merged or dropped without a line here.
enum InputNotes {
    /// Inputs named in one note, at most; the rest are counted.
    static let namedInputs = 5

    static func lines(_ summary: CountSummary, order: [FieldKind]) -> [String] {
        grouping(summary, order: order) + summary.inputs.compactMap { input in
            input.groupBy.flatMap(input.missingFields.sentence(groupBy:)).map { "note: \(input.path): \($0)" }
        }
    }

    /// One note per field that grouped inputs in a way the report's header does not say.
    static func grouping(_ summary: CountSummary, order: [FieldKind]) -> [String] {
        order.compactMap { field in
            let paths = summary.inputs.filter { $0.groupBy == field }.map(\.path)
            guard !paths.isEmpty, field != order[0] || field != summary.groupBy else { return nil }
            var note = "note: grouped by \(field.groupName)"
            if let earlier = order.firstIndex(of: field), earlier > 0 {
                note += " (their format has no \(order[..<earlier].map(\.groupName).joined(separator: " or ")) field)"
            }
            if field != summary.groupBy { note += ", keys named \(field.groupName):VALUE" }
            return note + ": " + listed(paths)
        }
    }

    static func listed(_ paths: [String]) -> String {
        let shown = paths.prefix(namedInputs).joined(separator: ", ")
        return paths.count > namedInputs ? shown + " and \(paths.count - namedInputs) more" : shown
    }
}
