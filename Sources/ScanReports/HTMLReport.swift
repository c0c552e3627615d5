import AccessLogFormat
import AlertRules
import FlagAggregation
import LogScan
import RecordCounting

/// `--output html`: one self-contained page to read after an incident. It has a summary of
/// the scan, the spikes the rules found, a timeline per cluster that spiked, and the totals.
///
/// The page holds only inline CSS and inline SVG. It has no script, and it loads no font,
/// image or link. A Content-Security-Policy forbids all of these as a second guard. Every
/// value read from the log (cluster names come from clients) is escaped through
/// `HTMLReport.escaped`. The output is bounded: at most `maxCharts` charts of at most
/// `maxBins` bins, and capped tables. Equal scans give byte-identical pages, because the
/// page holds no timestamp of its own.
public enum HTMLReport {
    /// Timelines drawn; later spiking clusters are listed without a chart.
    static let maxCharts = 20
    /// Bars per chart at most; the bin length is picked to stay under it.
    static let maxBins = 300
    static let maxSpikeRows = 500
    static let maxTotalRows = 1000
    /// Characters of a key shown; longer (hostile or broken) names are cut.
    static let maxNameLength = 300
    /// Rule colours, by rule index. They are distinct in print and for most colour-blind readers.
    static let palette = ["#d62728", "#1f77b4", "#ff7f0e", "#9467bd", "#2ca02c", "#8c564b", "#e377c2", "#17becf"]
    static let dashes = ["", "7 4", "2 3", "9 3 2 3"]

    public static func render(_ result: ScanResult, rules: [AlertRule]) -> String {
        var page = Page(result: result, rules: rules)
        return page.render()
    }

    // MARK: - Escaping

    /// Text safe in HTML text and in quoted attribute values, in HTML and in SVG. It escapes
    /// `& < > " '`; control and bidirectional characters are shown as on the terminal
    /// (`Terminal.visible`: `\xNN`, `\u{…}`), so that a name cannot reorder the text around
    /// it. A name longer than `limit` is cut, and the cut is marked.
    public static func escaped(_ text: String, limit: Int? = nil) -> String {
        Terminal.rendered(text, limit: limit) { (scalar: Unicode.Scalar) -> String? in
            switch scalar {
            case "&": "&amp;"
            case "<": "&lt;"
            case ">": "&gt;"
            case "\"": "&quot;"
            case "'": "&#39;"
            default: nil
            }
        }
    }

    /// A key (cluster, authority…) as shown: escaped and cut to `maxNameLength`.
    static func name(_ text: String) -> String { escaped(text, limit: maxNameLength) }

    // MARK: - Numbers and times

    /// 1234567 as "1,234,567".
    static func grouped(_ value: Int) -> String {
        let digits = String(value.magnitude)
        var out = ""
        for (i, c) in digits.enumerated() {
            if i > 0, (digits.count - i) % 3 == 0 { out += "," }
            out.append(c)
        }
        return value < 0 ? "-" + out : out
    }

    /// A ratio as "12.3%".
    static func percent(_ ratio: Double) -> String { Percent.string(ratio) }

    /// Axis labels: 950, 1.2k, 12k, 3.4M.
    static func compact(_ value: Int) -> String {
        func scaled(_ divisor: Int, _ suffix: String) -> String {
            let tenths = (value * 10 + divisor / 2) / divisor
            return tenths >= 100 || tenths % 10 == 0 ? "\(tenths / 10)\(suffix)" : "\(tenths / 10).\(tenths % 10)\(suffix)"
        }
        if value >= 1_000_000_000 { return scaled(1_000_000_000, "G") }
        if value >= 1_000_000 { return scaled(1_000_000, "M") }
        if value >= 10_000 { return scaled(1000, "k") }
        return String(value)
    }

    /// A length of time in seconds as "45s", "2m 05s", "1h 02m", "3d 4h".
    static func duration(seconds: Int64) -> String {
        let s = max(0, seconds)
        func two(_ v: Int64) -> String { v < 10 ? "0\(v)" : "\(v)" }
        if s < 60 { return "\(s)s" }
        if s < 3600 { return "\(s / 60)m \(two(s % 60))s" }
        if s < 86400 { return "\(s / 3600)h \(two(s / 60 % 60))m" }
        return "\(s / 86400)d \(s / 3600 % 24)h"
    }

    /// A bin or tick length: "1 s", "2 min", "1 h", "1 d".
    static func stepName(_ seconds: Int64) -> String {
        if seconds % 86400 == 0 { return "\(seconds / 86400) d" }
        if seconds % 3600 == 0 { return "\(seconds / 3600) h" }
        if seconds % 60 == 0 { return "\(seconds / 60) min" }
        return "\(seconds) s"
    }

    /// RFC 3339 pieces of a time in seconds: ("2026-06-28", "15:04:05").
    static func dateAndTime(seconds: Int64) -> (date: String, time: String) {
        let text = RFC3339.string(micros: seconds * 1_000_000)
        let parts = text.dropLast().split(separator: "T")
        return (String(parts[0]), String(parts[1]))
    }

    static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 { BinGrid.floorDiv(a, b) }

    /// A number for SVG coordinates: at most one decimal.
    static func f(_ value: Double) -> String {
        let tenths = Int((value * 10).rounded())
        return tenths % 10 == 0 ? String(tenths / 10) : (tenths < 0 && tenths > -10 ? "-0.\(-tenths % 10)" : "\(tenths / 10).\(abs(tenths) % 10)")
    }

    /// Round steps for y axes: 1, 2, 5 × 10^k.
    static func niceStep(_ raw: Double) -> Int {
        guard raw > 1 else { return 1 }
        var magnitude = 1
        while Double(magnitude) * 10 <= raw { magnitude *= 10 }
        for m in [1, 2, 5, 10] where Double(m * magnitude) >= raw { return m * magnitude }
        return 10 * magnitude
    }

    /// Round steps for time axes, seconds.
    static let tickSteps: [Int64] = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200,
                                     86400, 2 * 86400, 7 * 86400, 14 * 86400, 28 * 86400, 91 * 86400, 182 * 86400, 364 * 86400]
}

// MARK: - The page

private struct Page {
    let result: ScanResult
    let rules: [AlertRule]
    let resolution: Int64
    var out = ""
    /// First and last second holding data (buckets, and spikes that outlast them).
    let range: (low: Int64, high: Int64)?
    /// What the charts show: the full range without its sparse ends (the first and last
    /// `trimmedShare` of requests, often requests that started long before the log did),
    /// never cutting a spike. `before`/`after` count the requests left out.
    let chartRange: (low: Int64, high: Int64, before: Int, after: Int)?
    /// Spiking keys in order of their first spike; the first `maxCharts` get a chart.
    let spiking: [String]
    var chartIDs: [String: Int] = [:]

    init(result: ScanResult, rules: [AlertRule]) {
        self.result = result
        self.rules = rules
        resolution = Int64(max(1, result.resolutionSeconds))
        var low = result.timeline?.firstSecond
        var high = result.timeline.map { $0.lastSecond + 1 }
        for spike in result.spikes {
            low = min(low ?? .max, HTMLReport.floorDiv(spike.start, 1_000_000))
            high = max(high ?? .min, HTMLReport.floorDiv(spike.end + 999_999, 1_000_000))
        }
        if let low, let high { range = (low, max(high, low + 1)) } else { range = nil }
        chartRange = Page.chartRange(result, resolution: resolution, full: range)
        var seen = Set<String>()
        spiking = result.spikes.compactMap { seen.insert($0.cluster).inserted ? $0.cluster : nil }
        for (index, key) in spiking.prefix(HTMLReport.maxCharts).enumerated() { chartIDs[key] = index + 1 }
    }

    static let trimmedShare = 0.001

    static func chartRange(_ result: ScanResult, resolution: Int64, full: (low: Int64, high: Int64)?)
        -> (low: Int64, high: Int64, before: Int, after: Int)?
    {
        guard let full else { return nil }
        // Requests per timeline bin over every key; the cut is at bin bounds.
        let bins = result.timeline.map { timeline in
            timeline.requests.enumerated().filter { $0.element > 0 }.map {
                (start: timeline.grid.start + Int64($0.offset) * timeline.grid.step, end: timeline.grid.start + Int64($0.offset + 1) * timeline.grid.step,
                 requests: $0.element)
            }
        } ?? []
        let total = bins.reduce(0) { $0 + $1.requests }
        let cut = Int(Double(total) * trimmedShare)
        var low = full.low, high = full.high
        var before = 0, after = 0
        if cut > 0 {
            // The first bin whose requests would push the left-out count past `cut`.
            for bin in bins {
                if before + bin.requests > cut {
                    low = max(bin.start, full.low)
                    break
                }
                before += bin.requests
            }
            for bin in bins.reversed() {
                if after + bin.requests > cut {
                    high = min(bin.end, full.high)
                    break
                }
                after += bin.requests
            }
        }
        // Spikes are always shown whole, with what lies before them.
        for spike in result.spikes {
            low = min(low, HTMLReport.floorDiv(spike.start, 1_000_000) - 60)
            high = max(high, HTMLReport.floorDiv(spike.end + 999_999, 1_000_000))
        }
        low = max(low, full.low)
        high = min(max(high, low + 1), full.high)
        if low == full.low { before = 0 }
        if high == full.high { after = 0 }
        if before > 0 || after > 0 {
            // Count exactly what the clamped range leaves out.
            before = 0
            after = 0
            for bin in bins {
                if bin.end <= low { before += bin.requests } else if bin.start >= high { after += bin.requests }
            }
        }
        return (low, high, before, after)
    }

    /// The rule index of a spike's rule (rules are matched by name), for its lane and colour.
    func ruleIndex(_ name: String) -> Int? { rules.firstIndex { $0.name == name } }

    func colour(_ ruleIndex: Int?) -> String {
        guard let ruleIndex else { return "#777777" }
        return HTMLReport.palette[ruleIndex % HTMLReport.palette.count]
    }

    var keyName: String { result.groupBy.groupName }
    /// "Cluster", "Authority", "Upstream host", "Route" (escaped).
    var keyTitle: String {
        let words = keyName.replacingOccurrences(of: "-", with: " ")
        return HTMLReport.escaped(words.prefix(1).uppercased() + words.dropFirst())
    }
    /// "clusters", "authorities", "upstream hosts", "routes" (escaped).
    var keyPlural: String {
        let words = keyName.replacingOccurrences(of: "-", with: " ")
        return HTMLReport.escaped(words.hasSuffix("y") ? words.dropLast() + "ies" : words + "s")
    }

    mutating func render() -> String {
        out.reserveCapacity(64 * 1024)
        head()
        out += "<body>\n<main>\n"
        header()
        spikeSection()
        timelineSection()
        totalsSection()
        out += "<footer>Generated by flagwatch. All times are UTC. Names read from the log are shown escaped; control characters as \\xNN.</footer>\n"
        out += "</main>\n</body>\n</html>\n"
        return out
    }

    // MARK: Head

    mutating func head() {
        var title = "flagwatch report"
        if let range {
            let a = HTMLReport.dateAndTime(seconds: range.low), b = HTMLReport.dateAndTime(seconds: range.high)
            title += " — \(a.date) \(a.time.prefix(5))–\(b.date == a.date ? "" : b.date + " ")\(b.time.prefix(5)) UTC"
        }
        out += """
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'">
            <meta name="referrer" content="no-referrer">
            <meta name="generator" content="flagwatch">
            <title>\(HTMLReport.escaped(title))</title>
            <style>\(Page.css)</style>
            </head>

            """
    }

    static let css = """

        :root{--bg:#f6f7f9;--card:#fff;--fg:#1d2430;--muted:#5d6778;--line:#dde1e7;--grid:#e8ebf0;--bar:#9aa7b8;--head:#eef1f5;--red:#c62828;--amber:#a86200;--link:#1558b0}
        @media (prefers-color-scheme:dark){:root{--bg:#14171c;--card:#1c2027;--fg:#e3e7ed;--muted:#9aa4b2;--line:#313742;--grid:#2a2f38;--bar:#5f6b7c;--head:#232830;--red:#ff6b6b;--amber:#f0a040;--link:#7fb0ff}}
        *{box-sizing:border-box}
        body{margin:0;background:var(--bg);color:var(--fg);font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
        main{max-width:1240px;margin:0 auto;padding:20px 24px 40px}
        h1{font-size:22px;margin:0 0 2px}
        h2{font-size:17px;margin:28px 0 10px;padding-bottom:4px;border-bottom:2px solid var(--line)}
        h3{font-size:14px;margin:0 0 2px;font-weight:600}
        .sub{color:var(--muted);margin:0 0 14px}
        .mono,code,td.k{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"Liberation Mono",monospace;font-size:12.5px}
        .cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(150px,1fr));gap:8px}
        .card{background:var(--card);border:1px solid var(--line);border-radius:6px;padding:7px 10px}
        .card b{display:block;font-size:17px;font-weight:600;overflow-wrap:anywhere}
        .card span{color:var(--muted);font-size:12px}
        .card.wide{grid-column:span 2}
        .warn b{color:var(--amber)}.bad b{color:var(--red)}
        .note{color:var(--muted);font-size:13px;margin:6px 0}
        .box{background:var(--card);border:1px solid var(--line);border-radius:6px;overflow-x:auto}
        .box.tall{max-height:640px;overflow-y:auto}
        table{border-collapse:collapse;width:100%;font-size:13px}
        th,td{padding:5px 8px;text-align:left;vertical-align:top;border-bottom:1px solid var(--line)}
        th{background:var(--head);font-size:12px;font-weight:600;color:var(--muted);position:sticky;top:0}
        tr:last-child td{border-bottom:0}
        td.n,th.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
        td.k{overflow-wrap:anywhere;min-width:200px}
        #totals-table td.k{min-width:330px}
        td.t{white-space:nowrap;font-variant-numeric:tabular-nums}
        tbody tr:hover{background:var(--head)}
        a{color:var(--link);text-decoration:none}a:hover{text-decoration:underline}
        .sw{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:6px;vertical-align:-1px}
        .fl{display:inline-block;margin:0 8px 0 0;white-space:nowrap}
        .fl b{font-weight:600}
        td.f i{display:inline-block;margin:1px 4px 1px 0;white-space:nowrap;font-style:normal;background:var(--head);border:1px solid var(--line);border-radius:4px;padding:0 5px;font-size:12px}
        td.f b{font-weight:600}
        .hi{color:var(--red);font-weight:600}.lo{color:var(--amber)}
        .pb{display:inline-block;width:60px;height:7px;background:var(--grid);border-radius:3px;margin-left:8px;vertical-align:1px;overflow:hidden}
        .pb i{display:block;height:100%;background:var(--red)}
        .chart{background:var(--card);border:1px solid var(--line);border-radius:6px;padding:10px 12px 4px;margin:0 0 14px;break-inside:avoid}
        .chart h3{overflow-wrap:anywhere}
        .chart .meta{color:var(--muted);font-size:12.5px;margin:0 0 4px}
        .chart .eps{font-size:12.5px;margin:0 0 6px;padding:0;list-style:none}
        .chart .eps li{display:inline-block;margin-right:14px}
        svg{display:block;width:100%;height:auto}
        svg text{font:11px system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;fill:var(--muted)}
        svg .lg text{fill:var(--fg);font-size:12px}
        svg .pt{font-size:11px;font-weight:600;fill:var(--fg);paint-order:stroke;stroke:var(--card);stroke-width:3px}
        svg .gr line{stroke:var(--grid);stroke-width:1}
        svg .ax{stroke:var(--muted);stroke-width:1}
        svg .rq{fill:var(--bar)}
        svg .hv rect{fill:transparent}svg .hv rect:hover{fill:rgba(120,130,150,.18)}
        footer{color:var(--muted);font-size:12px;margin-top:30px}
        @media print{body{background:#fff}main{max-width:none;padding:0}.box,.chart{border-color:#ccc}.box.tall{max-height:none;overflow:visible}th{position:static}}

        """

    // MARK: Header

    mutating func header() {
        out += "<header>\n<h1>flagwatch report</h1>\n"
        if let range {
            let a = RFC3339.string(micros: range.low * 1_000_000), b = RFC3339.string(micros: range.high * 1_000_000)
            out += "<p class=\"sub\">Records from <b>\(a)</b> to <b>\(b)</b> (\(HTMLReport.duration(seconds: range.high - range.low))), "
        } else {
            out += "<p class=\"sub\">No timed records, "
        }
        out += "grouped by \(HTMLReport.escaped(keyName)).</p>\n<div class=\"cards\">\n"
        let formats = result.recordsByFormat.sorted { ($1.value, $0.key) < ($0.value, $1.key) }
        card("Format", formats.count > 1
            ? formats.prefix(4).map { "\(HTMLReport.escaped($0.key)) (\(HTMLReport.grouped($0.value)))" }.joined(separator: ", ")
            : HTMLReport.escaped(result.format), wide: formats.count > 1)
        card("Grouped by", HTMLReport.escaped(keyName))
        card("Lines", HTMLReport.grouped(result.lines))
        card("Records", HTMLReport.grouped(result.records))
        let malformedShare = result.lines > 0 ? " (\(HTMLReport.percent(Double(result.malformed) / Double(result.lines))))" : ""
        card("Malformed", HTMLReport.grouped(result.malformed) + malformedShare, level: result.malformed > 0 ? "warn" : nil)
        card("Late", HTMLReport.grouped(result.late), level: result.late > 0 ? "warn" : nil)
        if result.outsideTimeRange > 0 { card("Outside --since/--until", HTMLReport.grouped(result.outsideTimeRange)) }
        if result.untimed > 0 { card("Untimed (no start time)", HTMLReport.grouped(result.untimed), level: "warn") }
        if result.keysOverflowed > 0 { card("Counted as __other__", HTMLReport.grouped(result.keysOverflowed), level: "warn") }
        if let range {
            let a = HTMLReport.dateAndTime(seconds: range.low), b = HTMLReport.dateAndTime(seconds: range.high)
            card("Time range (UTC)", "\(a.date) \(a.time) → \(b.date == a.date ? "" : b.date + " ")\(b.time)", wide: true)
        } else {
            card("Time range", "–")
        }
        card("Resolution", "\(resolution) s")
        card(keyPlural.prefix(1).uppercased() + keyPlural.dropFirst(), HTMLReport.grouped(result.totals.keys.count))
        card("Spikes", HTMLReport.grouped(result.spikes.count), level: result.spikes.isEmpty ? nil : "bad")
        let bytes = result.inputs.reduce(0) { $0 + $1.bytes }
        card("Inputs", "\(HTMLReport.grouped(result.inputs.count)) (\(Page.size(bytes)))")
        let failed = result.failedInputs
        if !failed.isEmpty { card("Unreadable inputs", HTMLReport.grouped(failed.count), level: "bad") }
        out += "</div>\n"
        if !result.malformedByReason.isEmpty {
            let reasons = result.malformedByReason.sorted { ($1.value, $0.key.name) < ($0.value, $1.key.name) }
                .map { "\(HTMLReport.escaped($0.key.name)) \(HTMLReport.grouped($0.value))" }.joined(separator: ", ")
            out += "<p class=\"note\">Malformed lines: \(reasons).</p>\n"
        }
        for input in failed.prefix(20) {
            out += "<p class=\"note\"><span class=\"hi\">Unreadable:</span> <span class=\"mono\">\(HTMLReport.escaped(input.path, limit: 500))</span>: \(HTMLReport.escaped(input.error ?? "", limit: 500))</p>\n"
        }
        if failed.count > 20 { out += "<p class=\"note\">… and \(failed.count - 20) more unreadable inputs.</p>\n" }
        out += "</header>\n"
    }

    mutating func card(_ label: String, _ value: String, level: String? = nil, wide: Bool = false) {
        let classes = ["card"] + (level.map { [$0] } ?? []) + (wide ? ["wide"] : [])
        out += "<div class=\"\(classes.joined(separator: " "))\"><span>\(label)</span><b>\(value)</b></div>\n"
    }

    static func size(_ bytes: Int) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(bytes)
        var unit = 0
        while value >= 1024, unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return unit == 0 ? "\(bytes) B" : "\(HTMLReport.f(value)) \(units[unit])"
    }

    // MARK: Spikes

    mutating func spikeSection() {
        out += "<section id=\"spikes\">\n<h2>Spikes</h2>\n"
        if rules.isEmpty {
            out += "<p class=\"note\">No alert rules were given, so no spikes were looked for.</p>\n"
        } else {
            let list = rules.prefix(30).enumerated().map { index, rule in
                var text = "<span class=\"fl\"><span class=\"sw\" style=\"background:\(colour(index))\"></span><b>\(HTMLReport.escaped(rule.name, limit: 80))</b> "
                text += "\(HTMLReport.escaped(rule.flagCodes.joined(separator: ","))) ≥ \(rule.minCount) and ≥ \(HTMLReport.percent(rule.minRatio)) in \(rule.window) s"
                if let factor = rule.baselineFactor { text += ", × \(HTMLReport.f(factor)) baseline" }
                if rule.forDuration > 0 { text += ", for \(rule.forDuration) s" }
                return text + "</span>"
            }
            out += "<p class=\"note\">Rules: \(list.joined(separator: " "))\(rules.count > 30 ? " … \(rules.count - 30) more" : "")</p>\n"
        }
        guard !result.spikes.isEmpty else {
            out += "<p class=\"note\">No spikes: no rule fired in this history.</p>\n</section>\n"
            return
        }
        out += """
            <div class="box\(result.spikes.count > 20 ? " tall" : "")"><table id="spike-table">
            <thead><tr><th>Rule</th><th>\(keyTitle)</th><th>Flags</th><th>Start</th><th>End</th>\
            <th class="n">Duration</th><th class="n">Peak count</th><th class="n">Peak ratio</th><th class="n">Count / requests</th><th>Causes</th></tr></thead>
            <tbody>

            """
        for spike in result.spikes.prefix(HTMLReport.maxSpikeRows) {
            let index = ruleIndex(spike.rule)
            let cluster = HTMLReport.name(spike.cluster)
            let link = chartIDs[spike.cluster].map { "<a href=\"#chart-\($0)\">\(cluster)</a>" } ?? cluster
            let ratio = spike.requests > 0 ? " (\(HTMLReport.percent(Double(spike.count) / Double(spike.requests))))" : ""
            out += "<tr><td class=\"t\"><span class=\"sw\" style=\"background:\(colour(index))\"></span>\(HTMLReport.escaped(spike.rule, limit: 80))</td>"
            out += "<td class=\"k\">\(link)</td><td class=\"mono\">\(HTMLReport.escaped(spike.flags.joined(separator: ", ")))</td>"
            out += "<td class=\"t\">\(RFC3339.string(micros: spike.start))</td><td class=\"t\">\(RFC3339.string(micros: spike.end))</td>"
            out += "<td class=\"n\">\(HTMLReport.duration(seconds: (spike.end - spike.start) / 1_000_000))</td>"
            out += "<td class=\"n\">\(HTMLReport.grouped(spike.peakCount))</td><td class=\"n\">\(HTMLReport.percent(spike.peakRatio))</td>"
            out += "<td class=\"n\">\(HTMLReport.grouped(spike.count)) / \(HTMLReport.grouped(spike.requests))\(ratio)</td>"
            out += "<td class=\"f\">\(Self.causeBreakdown(spike.causes, of: spike.count))</td></tr>\n"
        }
        out += "</tbody></table></div>\n"
        if result.spikes.count > HTMLReport.maxSpikeRows {
            out += "<p class=\"note\">… \(result.spikes.count - HTMLReport.maxSpikeRows) more spikes (see --output json).</p>\n"
        }
        out += "</section>\n"
    }

    // MARK: Timelines

    mutating func timelineSection() {
        guard !spiking.isEmpty, let range = chartRange else { return }
        let bins = BinGrid(from: range.low, to: range.high, resolution: result.timeline?.grid.step ?? resolution, maxBins: HTMLReport.maxBins)
        out += "<section id=\"timelines\">\n<h2>Timelines</h2>\n"
        out += "<p class=\"note\">Per \(HTMLReport.stepName(bins.step)): requests (grey bars) and, per rule that fired, records carrying its flags. Shaded: the spike episodes. Hover a bar for its counts."
        if range.before + range.after > 0 {
            let a = HTMLReport.dateAndTime(seconds: range.low), b = HTMLReport.dateAndTime(seconds: range.high)
            var left: [String] = []
            if range.before > 0 { left.append("\(HTMLReport.grouped(range.before)) requests before") }
            if range.after > 0 { left.append("\(HTMLReport.grouped(range.after))\(range.before > 0 ? "" : " requests") after") }
            out += " Charts show \(a.time) → \(b.date == a.date ? "" : b.date + " ")\(b.time); the sparse ends of the log are left out:"
            out += " \(left.joined(separator: ", ")) (all \(keyPlural))."
        }
        out += "</p>\n"
        for (number, key) in spiking.prefix(HTMLReport.maxCharts).enumerated() {
            chart(number: number + 1, key: key, bins: bins)
        }
        if spiking.count > HTMLReport.maxCharts {
            let rest = spiking.dropFirst(HTMLReport.maxCharts)
            out += "<p class=\"note\">\(rest.count) more \(keyPlural) spiked and are not charted: "
            out += rest.prefix(50).map { "<span class=\"mono\">\(HTMLReport.name($0))</span>" }.joined(separator: ", ")
            out += rest.count > 50 ? " …</p>\n" : "</p>\n"
        }
        out += "</section>\n"
    }

    mutating func chart(number: Int, key: String, bins: BinGrid) {
        let spikes = result.spikes.filter { $0.cluster == key }
        let timeline = result.timeline
        // One line per rule that fired on this key, in rule order.
        var ruleIndexes: [Int] = []
        for spike in spikes {
            if let index = ruleIndex(spike.rule), index + 1 < (timeline?.lanes ?? 0), !ruleIndexes.contains(index) { ruleIndexes.append(index) }
        }
        ruleIndexes.sort()
        let values = ([0] + ruleIndexes.map { $0 + 1 }).map { timeline?.counts(key, lane: $0, on: bins) ?? Array(repeating: 0, count: bins.count) }
        let totals = result.totals.keys[key] ?? KeyTotals()

        out += "<div class=\"chart\" id=\"chart-\(number)\">\n<h3 class=\"mono\">\(HTMLReport.name(key))</h3>\n"
        var meta = "\(spikes.count) spike\(spikes.count == 1 ? "" : "s") · \(HTMLReport.grouped(totals.requests)) request\(totals.requests == 1 ? "" : "s") · "
        meta += "\(HTMLReport.grouped(totals.upstreamFailures)) upstream failure\(totals.upstreamFailures == 1 ? "" : "s")"
        if totals.requests > 0 { meta += " (\(HTMLReport.percent(Double(totals.upstreamFailures) / Double(totals.requests))))" }
        out += "<p class=\"meta\">\(meta)</p>\n<ul class=\"eps\">"
        for spike in spikes.prefix(12) {
            let (date, time) = HTMLReport.dateAndTime(seconds: HTMLReport.floorDiv(spike.start, 1_000_000))
            out += "<li><span class=\"sw\" style=\"background:\(colour(ruleIndex(spike.rule)))\"></span>\(HTMLReport.escaped(spike.rule, limit: 80)) "
            out += "\(date) \(time) for \(HTMLReport.duration(seconds: (spike.end - spike.start) / 1_000_000)), peak \(HTMLReport.grouped(spike.peakCount)) (\(HTMLReport.percent(spike.peakRatio)))</li>"
        }
        if spikes.count > 12 { out += "<li>… \(spikes.count - 12) more</li>" }
        out += "</ul>\n"

        // Geometry, in SVG user units; the SVG scales to the page width.
        let width = 1160.0, left = 64.0, right = 16.0
        let plotWidth = width - left - right

        // Legend, in rows as wide as the plot.
        var legend = "<g class=\"lg\">"
        var lx = left
        var ly = 14.0
        func legendItem(_ text: String, swatch: (_ x: String, _ y: String) -> String) {
            let estimated = Double(text.count) * 7.4 + 30
            if lx + estimated > width - right, lx > left {
                lx = left
                ly += 16
            }
            legend += swatch(HTMLReport.f(lx), HTMLReport.f(ly))
            legend += "<text x=\"\(HTMLReport.f(lx + 20))\" y=\"\(HTMLReport.f(ly + 4))\">\(HTMLReport.escaped(text))</text>"
            lx += estimated
        }
        legendItem("requests") { x, y in "<rect class=\"rq\" x=\"\(x)\" y=\"\(y)\" width=\"14\" height=\"8\" transform=\"translate(0,-4)\"/>" }
        for (position, index) in ruleIndexes.enumerated() {
            let rule = rules[index]
            let dash = HTMLReport.dashes[position % HTMLReport.dashes.count]
            let dashAttribute = dash.isEmpty ? "" : " stroke-dasharray=\"\(dash)\""
            let stroke = colour(index)
            legendItem("\(String(rule.name.prefix(60))) (\(rule.flagCodes.joined(separator: ",")))") { x, y in
                "<path d=\"M\(x) \(y)h16\" stroke=\"\(stroke)\" stroke-width=\"2.5\"\(dashAttribute)/>"
            }
        }
        legend += "</g>\n"

        // Two panels sharing the time axis, under the legend and one episode band per rule.
        let topA = ly + 22 + 5 * Double(max(0, ruleIndexes.count - 1)), heightA = 78.0
        let topB = topA + heightA + 24, heightB = 150.0
        let bottom = topB + heightB
        let height = bottom + 40
        let binWidth = plotWidth / Double(bins.count)
        func x(_ second: Int64) -> Double { left + Double(second - bins.start) / Double(bins.step) * binWidth }

        let label = "Timeline of \(HTMLReport.name(key)): requests and flagged records per \(HTMLReport.stepName(bins.step))"
        out += "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" role=\"img\" aria-label=\"\(label)\">\n"
        out += legend

        // Spike episodes: shading across both panels and a band above, per rule. Episodes
        // fewer than 3 units apart are drawn (and described) as one.
        for group in Array(Set(spikes.map { ruleIndex($0.rule) ?? -1 })).sorted() {
            let episodes = spikes.filter { (ruleIndex($0.rule) ?? -1) == group }
            let band = Double(ruleIndexes.firstIndex(of: group) ?? 0)
            let c = colour(group < 0 ? nil : group)
            var merged: [(x1: Double, x2: Double, spikes: [Spike])] = []
            for spike in episodes.sorted(by: { $0.start < $1.start }) {
                let x1 = max(left, min(left + plotWidth, x(HTMLReport.floorDiv(spike.start, 1_000_000))))
                let x2 = max(left, min(left + plotWidth, x(HTMLReport.floorDiv(spike.end + 999_999, 1_000_000))))
                if let last = merged.last, x1 <= last.x2 + 3 {
                    merged[merged.count - 1] = (last.x1, max(last.x2, x2), last.spikes + [spike])
                } else {
                    merged.append((x1, x2, [spike]))
                }
            }
            for (x1, x2, group) in merged {
                let w = max(2, x2 - x1)
                let first = group[0]
                var tip = "\(HTMLReport.escaped(first.rule, limit: 80)) (\(HTMLReport.escaped(first.flags.joined(separator: ",")))): "
                if group.count == 1 {
                    tip += "\(RFC3339.string(micros: first.start)) → \(RFC3339.string(micros: first.end)), peak \(HTMLReport.grouped(first.peakCount)) (\(HTMLReport.percent(first.peakRatio)))"
                } else {
                    let peak = group.max { ($0.peakCount, $0.peakRatio) < ($1.peakCount, $1.peakRatio) }!
                    tip += "\(group.count) episodes \(RFC3339.string(micros: first.start)) → \(RFC3339.string(micros: group.map(\.end).max()!)), "
                    tip += "highest peak \(HTMLReport.grouped(peak.peakCount)) (\(HTMLReport.percent(peak.peakRatio)))"
                }
                out += "<rect x=\"\(HTMLReport.f(x1))\" y=\"\(HTMLReport.f(topA))\" width=\"\(HTMLReport.f(w))\" height=\"\(HTMLReport.f(bottom - topA))\" fill=\"\(c)\" fill-opacity=\"0.07\"/>"
                out += "<rect x=\"\(HTMLReport.f(x1))\" y=\"\(HTMLReport.f(topA - 6 - 5 * band))\" width=\"\(HTMLReport.f(w))\" height=\"4\" fill=\"\(c)\"><title>\(tip)</title></rect>\n"
            }
        }

        // Grids and y axes.
        let maxRequests = values[0].max() ?? 0
        let maxFlagged = values.dropFirst().compactMap { $0.max() }.max() ?? 0
        let scaleA = yAxis(top: topA, height: heightA, max: maxRequests, ticks: 2, left: left, width: plotWidth)
        let scaleB = yAxis(top: topB, height: heightB, max: maxFlagged, ticks: 4, left: left, width: plotWidth)

        // Time ticks.
        let span = bins.end - bins.start
        let tick: Int64 = HTMLReport.tickSteps.first(where: { span / $0 <= 8 && $0 >= bins.step }) ?? Swift.max(bins.step, span / 8)
        var t = HTMLReport.floorDiv(bins.start + tick - 1, tick) * tick
        var lastDate = ""
        out += "<g class=\"gr\">"
        var labels = ""
        while t <= bins.end {
            let px = x(t)
            out += "<line x1=\"\(HTMLReport.f(px))\" y1=\"\(HTMLReport.f(topA))\" x2=\"\(HTMLReport.f(px))\" y2=\"\(HTMLReport.f(bottom + 4))\"/>"
            let (date, time) = HTMLReport.dateAndTime(seconds: t)
            let shown = tick >= 86400 ? String(date.dropFirst(5)) : tick >= 60 ? String(time.prefix(5)) : time
            let anchor = px < left + 20 ? "start" : px > left + plotWidth - 20 ? "end" : "middle"
            labels += "<text x=\"\(HTMLReport.f(px))\" y=\"\(HTMLReport.f(bottom + 16))\" text-anchor=\"\(anchor)\">\(shown)</text>"
            if date != lastDate, tick < 86400 {
                labels += "<text x=\"\(HTMLReport.f(px))\" y=\"\(HTMLReport.f(bottom + 30))\" text-anchor=\"\(anchor)\">\(date)</text>"
                lastDate = date
            }
            t += tick
        }
        out += "</g>\n<g>\(labels)<text x=\"\(HTMLReport.f(width - right))\" y=\"\(HTMLReport.f(bottom + 30))\" text-anchor=\"end\">UTC</text></g>\n"

        // Requests: one bar per bin.
        let gap = binWidth > 4 ? 1.0 : 0
        var bars = ""
        for (i, value) in values[0].enumerated() where value > 0 {
            let h = max(0.5, Double(value) * scaleA)
            bars += "M\(HTMLReport.f(left + Double(i) * binWidth)) \(HTMLReport.f(topA + heightA))v-\(HTMLReport.f(h))h\(HTMLReport.f(binWidth - gap))v\(HTMLReport.f(h))z"
        }
        if !bars.isEmpty { out += "<path class=\"rq\" d=\"\(bars)\"/>\n" }

        // Flagged records: a step line per rule, lightly filled.
        for (position, index) in ruleIndexes.enumerated() {
            let lane = values[position + 1]
            var d = "M\(HTMLReport.f(left)) \(HTMLReport.f(bottom))"
            var previous = 0
            for (i, value) in lane.enumerated() {
                // A run of equal values is one horizontal segment.
                if value != previous { d += "H\(HTMLReport.f(left + Double(i) * binWidth))V\(HTMLReport.f(bottom - Double(value) * scaleB))" }
                previous = value
            }
            d += "H\(HTMLReport.f(left + plotWidth))V\(HTMLReport.f(bottom))Z"
            let dash = HTMLReport.dashes[position % HTMLReport.dashes.count]
            let dashAttribute = dash.isEmpty ? "" : " stroke-dasharray=\"\(dash)\""
            out += "<path d=\"\(d)\" fill=\"\(colour(index))\" fill-opacity=\"0.08\" stroke=\"\(colour(index))\" stroke-width=\"1.6\" stroke-linejoin=\"round\"\(dashAttribute)/>\n"
        }

        // Axes and panel titles.
        out += "<path class=\"ax\" d=\"M\(HTMLReport.f(left)) \(HTMLReport.f(topA + heightA))h\(HTMLReport.f(plotWidth))M\(HTMLReport.f(left)) \(HTMLReport.f(bottom))h\(HTMLReport.f(plotWidth))\"/>\n"
        out += "<text class=\"pt\" x=\"\(HTMLReport.f(left + 6))\" y=\"\(HTMLReport.f(topA + 13))\">requests / \(HTMLReport.stepName(bins.step))</text>"
        out += "<text class=\"pt\" x=\"\(HTMLReport.f(left + 6))\" y=\"\(HTMLReport.f(topB + 13))\">flagged records / \(HTMLReport.stepName(bins.step))</text>\n"

        // Hover targets: one column per bin with data, its counts in a tooltip.
        out += "<g class=\"hv\">"
        for i in 0..<bins.count where values[0][i] > 0 {
            let start = bins.start + Int64(i) * bins.step
            let (_, a) = HTMLReport.dateAndTime(seconds: start)
            let (_, b) = HTMLReport.dateAndTime(seconds: start + bins.step)
            var tip = "\(a)–\(b)Z: \(HTMLReport.grouped(values[0][i])) requests"
            for (position, index) in ruleIndexes.enumerated() {
                tip += ", \(HTMLReport.grouped(values[position + 1][i])) \(HTMLReport.escaped(rules[index].flagCodes.joined(separator: ",")))"
            }
            out += "<rect x=\"\(HTMLReport.f(left + Double(i) * binWidth))\" y=\"\(HTMLReport.f(topA))\" width=\"\(HTMLReport.f(binWidth))\" height=\"\(HTMLReport.f(bottom - topA))\"><title>\(tip)</title></rect>"
        }
        out += "</g>\n</svg>\n</div>\n"
    }

    /// Draws a panel's horizontal grid and y labels; returns the scale (units per count).
    mutating func yAxis(top: Double, height: Double, max value: Int, ticks: Int, left: Double, width: Double) -> Double {
        let step = HTMLReport.niceStep(Double(Swift.max(value, 1)) / Double(ticks))
        let ceiling = Swift.max(step, (value + step - 1) / step * step)
        let scale = height / Double(ceiling)
        out += "<g class=\"gr\">"
        var labels = ""
        var v = 0
        while v <= ceiling {
            let y = top + height - Double(v) * scale
            if v > 0 { out += "<line x1=\"\(HTMLReport.f(left))\" y1=\"\(HTMLReport.f(y))\" x2=\"\(HTMLReport.f(left + width))\" y2=\"\(HTMLReport.f(y))\"/>" }
            labels += "<text x=\"\(HTMLReport.f(left - 6))\" y=\"\(HTMLReport.f(y + 4))\" text-anchor=\"end\">\(HTMLReport.compact(v))</text>"
            v += step
        }
        out += "</g>\n<g>\(labels)</g>\n"
        return scale
    }

    // MARK: Totals

    /// Causes by count, most first, each with its share of `total`. The sample lines stay in
    /// the JSON report: log text in the page would be one more place for hostile content.
    static func causeBreakdown(_ causes: [String: Int], of total: Int) -> String {
        causes.sorted { ($1.value, $0.key) < ($0.value, $1.key) }.map { cause, count in
            let share = total > 0 ? " (\(HTMLReport.percent(Double(count) / Double(total))))" : ""
            return "<i><b>\(HTMLReport.escaped(cause))</b> \(HTMLReport.grouped(count))\(share)</i>"
        }.joined()
    }

    mutating func totalsSection() {
        let ranked = TableReport.ranked(result)
        out += "<section id=\"totals\">\n<h2>\(keyPlural.prefix(1).uppercased() + keyPlural.dropFirst())</h2>\n"
        guard !ranked.isEmpty else {
            out += "<p class=\"note\">No records.</p>\n</section>\n"
            return
        }
        out += "<p class=\"note\">Those that spiked first, then most upstream failures. Failed: requests with an upstream-failure flag (UF, URX, UH, UT, UC, UO…).</p>\n"
        out += """
            <div class="box\(ranked.count > 40 ? " tall" : "")"><table id="totals-table">
            <thead><tr><th class="n">#</th><th>\(keyTitle)</th><th class="n">Requests</th><th class="n">Failed</th><th class="n">Fail %</th><th>Flags</th><th>Causes</th></tr></thead>
            <tbody>

            """
        for (rank, entry) in ranked.prefix(HTMLReport.maxTotalRows).enumerated() {
            let totals = entry.totals
            let ratio = totals.requests > 0 ? Double(totals.upstreamFailures) / Double(totals.requests) : 0
            let level = ratio >= 0.05 ? " hi" : ratio > 0 ? " lo" : ""
            let name = HTMLReport.name(entry.key)
            let link = chartIDs[entry.key].map { "<a href=\"#chart-\($0)\">\(name)</a>" } ?? name
            let flags = TableReport.orderedFlags(totals.flags).map {
                "<i><b>\(HTMLReport.escaped($0.key, limit: 40))</b> \(HTMLReport.grouped($0.value))</i>"
            }.joined()
            let bar = "<span class=\"pb\"><i style=\"width:\(HTMLReport.f(Swift.min(100, ratio * 100)))%\"></i></span>"
            out += "<tr><td class=\"n\">\(rank + 1)</td><td class=\"k\">\(link)</td><td class=\"n\">\(HTMLReport.grouped(totals.requests))</td>"
            out += "<td class=\"n\">\(HTMLReport.grouped(totals.upstreamFailures))</td><td class=\"n\(level)\">\(HTMLReport.percent(ratio))\(bar)</td><td class=\"f\">\(flags)</td>"
            let flagged = totals.causes.values.reduce(0, +)
            out += "<td class=\"f\">\(Self.causeBreakdown(totals.causes, of: flagged))</td></tr>\n"
        }
        out += "</tbody></table></div>\n"
        if ranked.count > HTMLReport.maxTotalRows {
            let rest = ranked.dropFirst(HTMLReport.maxTotalRows)
            out += "<p class=\"note\">… \(rest.count) more with \(HTMLReport.grouped(rest.reduce(0) { $0 + $1.totals.requests })) requests (see --output csv).</p>\n"
        }
        out += "</section>\n"
    }
}
