import AccessLogFormat
import AlertRules
import FlagAggregation
import LogScan
import RecordCounting

/// The terminal table: keys with the most upstream failures first.
public struct TableReport {
    public var top: Int?
    public var colour: Bool
    /// Characters of a key shown: one hostile name must not widen every row of the table.
    static let maxKeyLength = 200

    public init(top: Int? = nil, colour: Bool) {
        self.top = top
        self.colour = colour
    }

    /// Keys ordered for people: those that spiked first, then most upstream failures, most
    /// requests, name.
    public static func ranked(_ result: ScanResult) -> [(key: String, totals: KeyTotals)] {
        let spiking = Set(result.spikes.map(\.cluster))
        return result.totals.keys.map { (key: $0.key, totals: $0.value) }.sorted {
            let a = (spiking.contains($0.key) ? 1 : 0, $0.totals.upstreamFailures, $0.totals.requests)
            let b = (spiking.contains($1.key) ? 1 : 0, $1.totals.upstreamFailures, $1.totals.requests)
            return a != b ? a > b : $0.key < $1.key
        }
    }

    /// The table, then a per-minute sparkline of flagged records for each spiking cluster
    /// and rule (`rules` in the order the scan used, which is the order of the lanes).
    public func render(_ result: ScanResult, rules: [AlertRule] = []) -> String {
        let ranked = TableReport.ranked(result)
        let shown = top.map { Array(ranked.prefix($0)) } ?? ranked
        let header = [result.groupBy.groupName.uppercased(), "REQUESTS", "FAILED", "FAIL%", "CAUSE", "FLAGS"]
        let causeColumn = 4
        var rows: [[String]] = [header]
        var severities: [Double] = [0]
        for (key, totals) in shown {
            let failed = totals.upstreamFailures
            let ratio = totals.requests > 0 ? Double(failed) / Double(totals.requests) : 0
            // Extension flags are counted by the name the log gives them.
            let flags = TableReport.orderedFlags(totals.flags).map { "\(Terminal.sanitized($0.key))=\($0.value)" }.joined(separator: " ")
            rows.append([TableReport.shown(key), String(totals.requests), String(failed), Percent.number(ratio),
                         totals.dominantCause?.cause.name ?? "-", flags])
            severities.append(ratio)
        }
        let widths = (0..<header.count - 1).map { column in rows.map { $0[column].count }.max() ?? 0 }
        var out = ""
        for (index, row) in rows.enumerated() {
            var line = row[0].padding(toLength: widths[0])
            for column in 1..<(header.count - 1) {
                line += "  " + (column == causeColumn ? row[column].padding(toLength: widths[column]) : row[column].leftPadding(toLength: widths[column]))
            }
            line += "  " + row[header.count - 1]
            out += paint(line, index == 0 ? "1" : colourCode(severities[index])) + "\n"
        }
        if shown.count < ranked.count { out += "… \(ranked.count - shown.count) more (--top)\n" }
        var summary = "\(result.records) records, \(result.malformed) malformed"
        if result.outsideTimeRange > 0 { summary += ", \(result.outsideTimeRange) outside --since/--until" }
        summary += "; format \(Terminal.sanitized(result.format)); grouped by \(result.groupBy.groupName)"
        out += summary + "\n"
        out += sparklines(result, rules: rules)
        return out
    }

    /// One line per spiking (cluster, rule): flagged records per cell of whole minutes (at most
    /// 60 cells) from ten minutes before the first spike to ten minutes after the last (the
    /// scan's spike timeline, so that lines of last year in the same files do not squeeze a
    /// spike into one cell), within the spiking clusters' records, then the commands to look
    /// closer.
    func sparklines(_ result: ScanResult, rules: [AlertRule]) -> String {
        // Pairs, not joined strings: a cluster name may hold any character, NUL included.
        struct Pair: Hashable { var cluster: String, rule: String }
        let pairs = Set(result.spikes.map { Pair(cluster: $0.cluster, rule: $0.rule) }).sorted { ($0.cluster, $0.rule) < ($1.cluster, $1.rule) }
        guard !pairs.isEmpty, let timeline = result.spikeTimeline else { return "" }
        let cells = timeline.grid
        let clusters = Set(pairs.map(\.cluster)).filter { timeline.keys[$0] != nil }
        let requests = clusters.map { timeline.counts($0, lane: 0, on: cells) }
        guard let firstCell = requests.compactMap({ $0.firstIndex { $0 > 0 } }).min(),
            let lastCell = requests.compactMap({ $0.lastIndex { $0 > 0 } }).max()
        else { return "" }
        let start = cells.start + Int64(firstCell) * cells.step, end = cells.start + Int64(lastCell + 1) * cells.step
        var out = "\nspikes (\(result.spikes.count)), flagged records per \(TableReport.cellName(cells.step)), "
            + "\(RFC3339.string(micros: start * 1_000_000)) to \(RFC3339.string(micros: end * 1_000_000)):\n"
        let width = pairs.map { TableReport.shown($0.cluster).count }.max() ?? 0
        for (cluster, rule) in pairs.map({ ($0.cluster, $0.rule) }) where timeline.keys[cluster] != nil {
            guard let lane = rules.firstIndex(where: { $0.name == rule }).map({ $0 + 1 }) else { continue }
            let counts = Array(timeline.counts(cluster, lane: lane, on: cells)[firstCell...lastCell])
            let episodes = result.spikes.filter { $0.cluster == cluster && $0.rule == rule }.count
            let flags = rules[lane - 1].flagCodes.joined(separator: ",")
            let line = TableReport.shown(cluster).padding(toLength: width) + "  " + TableReport.sparkline(counts)
                + "  \(flags) max \(counts.max() ?? 0)/cell, \(episodes) episode\(episodes == 1 ? "" : "s")"
            out += paint(line, "31") + "\n"
        }
        if result.unchartedSpikingKeys > 0 { out += "… \(result.unchartedSpikingKeys) more spiking keys (see --output json)\n" }
        let inputs = result.inputs.count == 1 ? TableReport.shellWord(result.inputs[0].path) : "PATH…"
        out += "\nnext: flagwatch scan --output html -o report.html \(inputs)  # a timeline chart per spike\n"
        out += "      flagwatch scan --alerts \(inputs)  # the alert events the rules would have sent\n"
        return out
    }

    /// "minute", "5 minutes", "2 hours".
    static func cellName(_ seconds: Int64) -> String {
        if seconds == 60 { return "minute" }
        if seconds % 3600 == 0 { return seconds == 3600 ? "hour" : "\(seconds / 3600) hours" }
        return "\(seconds / 60) minutes"
    }

    /// A path as a shell reads it back: quoted unless made of plain characters.
    static func shellWord(_ path: String) -> String {
        let plain = path.allSatisfy { $0.isLetter || $0.isNumber || "/._-+,:@".contains($0) }
        return Terminal.sanitized(plain ? path : "'" + path.replacingOccurrences(of: "'", with: #"'\''"#) + "'")
    }

    /// A key as the table shows it: neutralised and cut.
    static func shown(_ key: String) -> String { Terminal.sanitized(key, limit: maxKeyLength) }

    static func sparkline(_ values: [Int]) -> String {
        let bars = Array("▁▂▃▄▅▆▇█")
        let top = max(values.max() ?? 0, 1)
        return String(values.map { $0 == 0 ? " " : bars[min(bars.count - 1, ($0 * bars.count - 1) / top)] })
    }

    /// Built-in flags in Envoy's table order, then extension codes by name.
    static func orderedFlags(_ flags: [String: Int]) -> [(key: String, value: Int)] {
        flags.map { (key: $0.key, value: $0.value) }.sorted {
            let a = ResponseFlag(code: $0.key)?.rawValue ?? Int.max
            let b = ResponseFlag(code: $1.key)?.rawValue ?? Int.max
            return (a, $0.key) < (b, $1.key)
        }
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
