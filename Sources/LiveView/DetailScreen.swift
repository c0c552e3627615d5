import FailureCauses
import RecordCounting

/// One key in full: its window and series, flags, causes, alerts, a sample line, and the
/// commands to run next for its main cause.
enum DetailScreen {
    static func lines(_ input: FrameInput, name: String) -> [String] {
        let (width, height, style) = (input.size.columns, input.size.rows, input.style)
        let snapshot = input.snapshot
        let key = snapshot?.activity?.keys.first { $0.name == name }
        let totals = snapshot?.totals.keys[name]
        let now = snapshot.map(Labels.now) ?? 0
        var body: [String] = []
        func add(_ text: String) { body.append(Columns.cut(text, width)) }

        body.append(style.title(Columns.fit("flagwatch top › \(Terminal.sanitized(name))", width)))
        if let key, let activity = snapshot?.activity {
            let seconds = activity.windowSeconds
            add("window \(seconds)s: \(key.requests) requests (\(Labels.rate(Double(key.requests) / Double(seconds)))/s), "
                + "\(key.failures) failures (\(Percent.string(key.ratio)))")
            let spark = max(10, width - 14)
            add("requests/s  " + Sparkline.render(key.requestSeries, columns: spark))
            add("failures/s  " + Sparkline.render(key.failureSeries, columns: spark))
            add("            last \(min(spark, key.requestSeries.count))s, one column a second")
            add("flags:  " + counts(key.flags))
            add("causes: " + counts(key.causes))
        } else {
            add("no records in the window")
        }
        if let totals {
            add("all runs: \(totals.requests) requests, \(totals.upstreamFailures) upstream failures; flags " + counts(totals.flags))
        }
        body.append("")
        let alerts = (snapshot?.alerts ?? []).filter { $0.cluster == name }.sorted { ($0.rule, $0.cause ?? "") < ($1.rule, $1.cause ?? "") }
        add("alerts: " + (alerts.isEmpty ? "none" : ""))
        for alert in alerts {
            let line = "  " + Columns.fit(Labels.alert(alert, now: now), 16) + " " + Terminal.sanitized(alert.rule)
                + (alert.cause.map { " cause=\(Terminal.sanitized($0))" } ?? "") + "  since \(RFC3339.string(micros: alert.since))"
            body.append(alert.state == .firing ? style.firing(Columns.cut(line, width)) : style.pending(Columns.cut(line, width)))
        }
        let cause = FailureCause.dominant(byName: key?.causes ?? [:])?.cause ?? totals?.dominantCause?.cause
        if let cause {
            body.append("")
            add("cause \(cause.name): \(cause.summary)")
            if let sample = totals?.causeSamples[cause.name] {
                add("sample (\(Terminal.sanitized(sample.file)):\(sample.lineNumber)):")
                add("  " + Terminal.sanitized(sample.line))
            }
            add("next commands:")
            for command in Runbook.commands(for: cause, cluster: name) { add("  " + Terminal.sanitized(command)) }
        }
        let room = max(0, height - 1)
        var lines = Array(body.prefix(room))
        while lines.count < room { lines.append("") }
        lines.append(style.dim(Columns.cut("Esc ← back  ↑↓ j k previous/next key  q quit", width)))
        return lines
    }

    /// `UF 12  URX 3`, most first.
    private static func counts(_ counts: [String: Int]) -> String {
        counts.isEmpty ? "none" : counts.sorted { ($1.value, $0.key) < ($0.value, $1.key) }
            .map { "\(Terminal.sanitized($0.key)) \($0.value)" }.joined(separator: "  ")
    }
}
