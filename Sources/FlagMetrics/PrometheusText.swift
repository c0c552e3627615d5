import RecordCounting

/// A counter or gauge series from outside the tail loop (alert delivery's notifications…).
public struct ExtraSeries: Sendable {
    public var name: String
    public var help: String
    public var labels: [(String, String)]
    public var value: Double

    public init(name: String, help: String, labels: [(String, String)], value: Double) {
        self.name = name
        self.help = help
        self.labels = labels
        self.value = value
    }
}

/// Renders a snapshot in the Prometheus text exposition format (version 0.0.4).
///
/// Written by hand into one byte buffer: 10 000 clusters × 5 flags are 60 000 series, and a
/// scrape must stay well under 100 ms. Label values are escaped as the format requires
/// (`\\`, `\"`, `\n`); names of keys come from logs, so nothing else about them is trusted.
public enum PrometheusText {
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    public static func render(_ snapshot: LiveSnapshot, extra: [ExtraSeries] = [], version: String) -> [UInt8] {
        var out: [UInt8] = []
        let perKeySeries = snapshot.totals.keys.values.reduce(0) { $0 + 1 + max($1.flags.count, snapshot.watchedFlags.count) + $1.causes.count }
        out.reserveCapacity(160 * (perKeySeries + snapshot.statistics.inputs.count + snapshot.alerts.count + 64))
        let counters = snapshot.statistics.counters
        // Series order within a family carries no meaning to Prometheus, so keys are not sorted:
        // sorting 10 000 names (and moving their totals) was a third of a scrape.
        let keys = Array(snapshot.totals.keys)

        family(&out, "flagwatch_build_info", "gauge", "Build information.")
        series(&out, "flagwatch_build_info", [("version", version)], 1)

        // The per-key families are most of a scrape: each key's label is escaped once.
        let clusterLabels = keys.map { key, _ in
            var label = Array("{cluster=\"".utf8)
            escape(key, into: &label)
            label.append(UInt8(ascii: "\""))
            return label
        }
        family(&out, "flagwatch_requests_total", "counter", "Requests (records) counted per upstream cluster (or the --group-by key).")
        let requestsName = Array("flagwatch_requests_total".utf8), labelEnd = Array("} ".utf8)
        for (index, (_, totals)) in keys.enumerated() {
            out += requestsName
            out += clusterLabels[index]
            out += labelEnd
            appendInteger(totals.requests, to: &out)
        }
        family(&out, "flagwatch_response_flags_total", "counter", "Records carrying each response flag, per cluster.")
        let flagsName = Array("flagwatch_response_flags_total".utf8), flagLabel = Array(",flag=\"".utf8), flagLabelEnd = Array("\"} ".utf8)
        for (index, (_, totals)) in keys.enumerated() {
            func flagSeries(_ flag: String, _ count: Int) {
                out += flagsName
                out += clusterLabels[index]
                out += flagLabel
                escape(flag, into: &out)
                out += flagLabelEnd
                appendInteger(count, to: &out)
            }
            for (flag, count) in totals.flags { flagSeries(flag, count) }
            for flag in snapshot.watchedFlags where totals.flags[flag] == nil { flagSeries(flag, 0) }
        }
        family(&out, "flagwatch_failure_causes_total", "counter",
               "Records with a response flag per probable cause (each such record once), per cluster.")
        let causesName = Array("flagwatch_failure_causes_total".utf8), causeLabel = Array(",cause=\"".utf8)
        for (index, (_, totals)) in keys.enumerated() {
            // Only causes seen: 27 zero series per cluster would be most of a scrape.
            for (cause, count) in totals.causes {
                out += causesName
                out += clusterLabels[index]
                out += causeLabel
                out += cause.utf8  // a fixed `FailureCause` name: nothing to escape
                out += flagLabelEnd
                appendInteger(count, to: &out)
            }
        }

        family(&out, "flagwatch_lines_total", "counter", "Lines read, by outcome (late records are also parsed).")
        series(&out, "flagwatch_lines_total", [("result", "parsed")], Double(counters.records))
        series(&out, "flagwatch_lines_total", [("result", "malformed")], Double(counters.malformed))
        series(&out, "flagwatch_lines_total", [("result", "late")], Double(counters.late))

        family(&out, "flagwatch_malformed_lines_total", "counter", "Malformed lines by reason.")
        for (reason, count) in counters.malformedByReason.sorted(by: { $0.key < $1.key }) {
            series(&out, "flagwatch_malformed_lines_total", [("reason", reason)], Double(count))
        }

        family(&out, "flagwatch_bytes_read_total", "counter", "Bytes of whole lines read from the followed files.")
        series(&out, "flagwatch_bytes_read_total", [], Double(counters.bytes))

        family(&out, "flagwatch_alerts", "gauge", "Alerts pending or firing now (1 per alert).")
        for alert in snapshot.alerts.sorted(by: { ($0.rule, $0.cluster, $0.cause ?? "") < ($1.rule, $1.cluster, $1.cause ?? "") }) {
            series(&out, "flagwatch_alerts", [("rule", alert.rule), ("cluster", alert.cluster), ("cause", alert.cause ?? ""), ("state", alert.state.rawValue)], 1)
        }

        family(&out, "flagwatch_file_rotations_total", "counter", "Followed files that left their path (renamed or deleted).")
        series(&out, "flagwatch_file_rotations_total", [], Double(counters.rotations))
        family(&out, "flagwatch_file_truncations_total", "counter", "Followed files truncated in place (copytruncate).")
        series(&out, "flagwatch_file_truncations_total", [], Double(counters.truncations))

        family(&out, "flagwatch_bytes_behind", "gauge", "Bytes written to a followed file and not read yet.")
        for file in snapshot.statistics.inputs.sorted(by: { $0.path < $1.path }) {
            series(&out, "flagwatch_bytes_behind", [("path", file.path)], Double(file.bytesBehind))
        }

        family(&out, "flagwatch_keys_overflowed_total", "counter", "Records counted under __other__ because the key cap was reached.")
        series(&out, "flagwatch_keys_overflowed_total", [], Double(counters.keysOverflowed))

        var named = Set<String>()
        for extra in extra {
            if named.insert(extra.name).inserted { family(&out, extra.name, extra.name.hasSuffix("_total") ? "counter" : "gauge", extra.help) }
            series(&out, extra.name, extra.labels, extra.value)
        }
        return out
    }

    private static func family(_ out: inout [UInt8], _ name: String, _ type: String, _ help: String) {
        out += "# HELP \(name) \(help)\n".utf8
        out += "# TYPE \(name) \(type)\n".utf8
    }

    private static func series(_ out: inout [UInt8], _ name: String, _ labels: [(String, String)], _ value: Double) {
        out += name.utf8
        if !labels.isEmpty {
            out.append(UInt8(ascii: "{"))
            for (index, (label, text)) in labels.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                out += label.utf8
                out += "=\"".utf8
                escape(text, into: &out)
                out.append(UInt8(ascii: "\""))
            }
            out.append(UInt8(ascii: "}"))
        }
        out.append(UInt8(ascii: " "))
        if value == value.rounded(), abs(value) < 1e15 {
            appendInteger(Int(value), to: &out)
        } else {
            out += "\(value)\n".utf8
        }
    }

    /// Decimal digits and a newline, without a String per value.
    private static func appendInteger(_ value: Int, to out: inout [UInt8]) {
        if value < 0 { out.append(UInt8(ascii: "-")) }
        var magnitude = value.magnitude
        let start = out.count
        repeat {
            out.append(UInt8(ascii: "0") + UInt8(magnitude % 10))
            magnitude /= 10
        } while magnitude > 0
        out[start...].reverse()
        out.append(UInt8(ascii: "\n"))
    }

    /// Backslash, double quote and line feed are escaped; invalid UTF-8 from a log was already
    /// repaired when the key was named.
    static func escape(_ text: String, into out: inout [UInt8]) {
        var text = text
        text.withUTF8 { bytes in
            // Nearly every name needs no escape: copy it whole.
            guard bytes.contains(where: { $0 == UInt8(ascii: "\\") || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\n") }) else {
                out.append(contentsOf: bytes)
                return
            }
            for byte in bytes {
                switch byte {
                case UInt8(ascii: "\\"): out += [UInt8(ascii: "\\"), UInt8(ascii: "\\")]
                case UInt8(ascii: "\""): out += [UInt8(ascii: "\\"), UInt8(ascii: "\"")]
                case UInt8(ascii: "\n"): out += [UInt8(ascii: "\\"), UInt8(ascii: "n")]
                default: out.append(byte)
                }
            }
        }
    }
}
