import AccessLogFormat
import FlagAggregation
import Foundation
import LogScan

/// `--output csv`: one row per key, a column per flag seen anywhere in the scan (RFC 4180).
public enum CSVReport {
    public static func render(_ result: ScanResult) -> String {
        let flagColumns = TableReport.orderedFlags(result.totals.flags).map(\.key)
        var out = ([result.groupBy.groupName, "requests", "upstream_failures"] + flagColumns).map(field).joined(separator: ",") + "\r\n"
        for (key, totals) in TableReport.ranked(result) {
            let cells = [key, String(totals.requests), String(totals.upstreamFailures)] + flagColumns.map { String(totals.flags[$0] ?? 0) }
            out += cells.map(field).joined(separator: ",") + "\r\n"
        }
        return out
    }

    /// Quotes a value that holds a comma, quote or line break, doubling its quotes. A value
    /// starting with `=`, `+`, `-` or `@` is prefixed with `'` so spreadsheets do not run it
    /// as a formula (cluster names come from untrusted logs); a lone "-" is left as it is.
    static func field(_ value: String) -> String {
        var value = value
        if value.count > 1, let first = value.first, "=+-@".contains(first) { value = "'" + value }
        guard value.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return value }
        return "\"" + value.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
