import AccessLogFormat
import RecordCounting
import Foundation
import LogScan

/// `--output csv`: one row per key with its dominant cause, a column per flag seen anywhere in
/// the scan (RFC 4180).
public enum CSVReport {
    public static func render(_ result: ScanResult) -> String {
        let flagColumns = TableReport.orderedFlags(result.totals.flags).map(\.key)
        var out = ([result.groupBy.groupName, "requests", "upstream_failures", "cause"] + flagColumns).map(field).joined(separator: ",") + "\r\n"
        for (key, totals) in TableReport.ranked(result) {
            let cells = [key, String(totals.requests), String(totals.upstreamFailures), totals.dominantCause?.cause.name ?? ""]
                + flagColumns.map { String(totals.flags[$0] ?? 0) }
            out += cells.map(field).joined(separator: ",") + "\r\n"
        }
        return out
    }

    /// One cell. Cluster names come from untrusted logs, and CSV is opened in spreadsheets and
    /// printed with `cat`, so a value is first shown as on the terminal (`Terminal.sanitized`:
    /// control and bidirectional characters as `\xNN`, `\u{…}`; JSON keeps the exact bytes).
    /// A value starting with `=`, `+`, `-` or `@` is prefixed with `'` so spreadsheets do not
    /// run it as a formula; a lone "-" is left as it is. Then RFC 4180: a value holding a
    /// comma or quote is quoted, its quotes doubled (line breaks are `\x0D`, `\x0A` by now).
    static func field(_ value: String) -> String {
        var value = Terminal.sanitized(value)
        if value.count > 1, let first = value.first, "=+-@".contains(first) { value = "'" + value }
        guard value.contains(where: { $0 == "," || $0 == "\"" }) else { return value }
        return "\"" + value.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
