import AccessLogFormat
import FlagAggregation
import LogScan

/// The terminal table: keys with the most upstream failures first.
public struct TableReport {
    public var top: Int?
    public var colour: Bool

    public init(top: Int? = nil, colour: Bool) {
        self.top = top
        self.colour = colour
    }

    /// Keys ordered for people: most upstream failures, then most requests, then name.
    public static func ranked(_ totals: FlagTotals) -> [(key: String, totals: KeyTotals)] {
        totals.keys.map { (key: $0.key, totals: $0.value) }.sorted {
            ($1.totals.upstreamFailures, $1.totals.requests, $0.key) < ($0.totals.upstreamFailures, $0.totals.requests, $1.key)
        }
    }

    public func render(_ result: ScanResult) -> String {
        let ranked = TableReport.ranked(result.totals)
        let shown = top.map { Array(ranked.prefix($0)) } ?? ranked
        let header = [result.groupBy.groupName.uppercased(), "REQUESTS", "FAILED", "FAIL%", "FLAGS"]
        var rows: [[String]] = [header]
        var severities: [Double] = [0]
        for (key, totals) in shown {
            let failed = totals.upstreamFailures
            let ratio = totals.requests > 0 ? Double(failed) / Double(totals.requests) : 0
            let flags = TableReport.orderedFlags(totals.flags).map { "\($0.key)=\($0.value)" }.joined(separator: " ")
            rows.append([Terminal.sanitized(key), String(totals.requests), String(failed), TableReport.percent(ratio), flags])
            severities.append(ratio)
        }
        let widths = (0..<header.count - 1).map { column in rows.map { $0[column].count }.max() ?? 0 }
        var out = ""
        for (index, row) in rows.enumerated() {
            var line = row[0].padding(toLength: widths[0])
            for column in 1..<(header.count - 1) { line += "  " + row[column].leftPadding(toLength: widths[column]) }
            line += "  " + row[header.count - 1]
            out += paint(line, index == 0 ? "1" : colourCode(severities[index])) + "\n"
        }
        if shown.count < ranked.count { out += "… \(ranked.count - shown.count) more (--top)\n" }
        var summary = "\(result.records) records, \(result.malformed) malformed"
        if result.outsideTimeRange > 0 { summary += ", \(result.outsideTimeRange) outside --since/--until" }
        summary += "; format \(result.format); grouped by \(result.groupBy.groupName)"
        out += summary + "\n"
        return out
    }

    /// Built-in flags in Envoy's table order, then extension codes by name.
    static func orderedFlags(_ flags: [String: Int]) -> [(key: String, value: Int)] {
        flags.map { (key: $0.key, value: $0.value) }.sorted {
            let a = ResponseFlag(code: $0.key)?.rawValue ?? Int.max
            let b = ResponseFlag(code: $1.key)?.rawValue ?? Int.max
            return (a, $0.key) < (b, $1.key)
        }
    }

    static func percent(_ ratio: Double) -> String {
        let tenths = Int((ratio * 1000).rounded())
        return "\(tenths / 10).\(tenths % 10)"
    }

    private func colourCode(_ ratio: Double) -> String? {
        ratio >= 0.05 ? "31" : ratio > 0 ? "33" : nil
    }

    private func paint(_ text: String, _ code: String?) -> String {
        guard colour, let code else { return text }
        return "\u{1B}[\(code)m\(text)\u{1B}[0m"
    }
}

extension String {
    func padding(toLength length: Int) -> String { self + String(repeating: " ", count: max(0, length - count)) }
    func leftPadding(toLength length: Int) -> String { String(repeating: " ", count: max(0, length - count)) + self }
}

/// Log content is written by clients: it must not act on the terminal.
public enum Terminal {
    /// Control characters (ESC included) shown as `\xNN`, so no escape sequence reaches the screen.
    public static func sanitized(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            if scalar.value < 0x20 || scalar.value == 0x7F || (0x80..<0xA0).contains(scalar.value) {
                out += "\\x" + String(scalar.value, radix: 16, uppercase: true).leftPadding(toLength: 2).replacingSpaces()
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}

private extension String {
    func replacingSpaces() -> String { String(map { $0 == " " ? "0" : $0 }) }
}
