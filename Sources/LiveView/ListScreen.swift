import RecordCounting

/// The list: a title, a header, one row per key, the keys' help at the bottom.
enum ListScreen {
    /// Columns beside the name, dropped from the last when the screen is narrow.
    private struct Column {
        var title: String
        var width: Int
        var right: Bool
        var cell: (Row, Int64) -> String
    }

    private static let nameMinimum = 24
    private static let sparkWidth = 30

    static func lines(_ input: FrameInput, rows: [Row]) -> [String] {
        let (width, height, style) = (input.size.columns, input.size.rows, input.style)
        guard let snapshot = input.snapshot, let activity = snapshot.activity else {
            return [style.title(Columns.cut("flagwatch top: waiting for the first records…", width))]
                + Array(repeating: "", count: max(0, height - 2)) + [help(input, width)]
        }
        let now = Labels.now(snapshot)
        var columns = [
            Column(title: "REQ/S", width: 8, right: true) { row, _ in Labels.rate(row.requestsPerSecond) },
            Column(title: "FAIL%", width: 7, right: true) { row, _ in Percent.string(row.activity.ratio) },
            Column(title: "ALERT", width: 14, right: false) { row, now in Labels.alert(row.alert, now: now) },
            Column(title: "FLAGS", width: 12, right: false) { row, _ in row.flagCodes.joined(separator: ",") },
            Column(title: "CAUSE", width: 22, right: false) { row, _ in row.cause?.name ?? "" },
            Column(title: "FAILURES/S \(sparkWidth)s", width: sparkWidth, right: false) { row, _ in
                Sparkline.render(row.activity.failureSeries, columns: sparkWidth)
            },
        ]
        // Two columns for the selection mark, one space before each column.
        while columns.count > 2, width - 2 - columns.reduce(0, { $0 + $1.width + 1 }) < nameMinimum { columns.removeLast() }
        let nameWidth = max(1, width - 2 - columns.reduce(0) { $0 + $1.width + 1 })

        var lines = [style.title(Columns.fit(
            "flagwatch top  \(activity.keys.count) keys  window \(activity.windowSeconds)s  sort: \(input.state.sort.rawValue)  "
                + "alerts: \(Labels.alertCounts(snapshot.alerts))  at \(RFC3339.string(micros: activity.clockSecond * 1_000_000))",
            width))]
        let header = "  " + Columns.fit("KEY", nameWidth) + columns.map { " " + Columns.fit($0.title, $0.width, right: $0.right) }.joined()
        lines.append(style.header(Columns.fit(header, width)))

        let listHeight = max(1, height - 3 - (input.note == nil ? 0 : 1))
        let names = rows.map(\.activity.name)
        let selected = input.state.selectedRow(in: names)
        let selectedIndex = selected.flatMap { names.firstIndex(of: $0) } ?? 0
        let first = max(0, selectedIndex - listHeight + 1)
        for row in rows.dropFirst(first).prefix(listHeight) {
            let isSelected = row.activity.name == selected
            var line = (isSelected ? "> " : "  ") + Columns.fit(row.shownName, nameWidth)
            for column in columns { line += " " + Columns.fit(column.cell(row, now), column.width, right: column.right) }
            lines.append(paint(line, row, isSelected, style))
        }
        if rows.isEmpty { lines.append(style.dim(input.state.filter.isEmpty ? "  no records in the window" : "  no key matches the filter")) }
        while lines.count < height - 1 - (input.note == nil ? 0 : 1) { lines.append("") }
        if let note = input.note { lines.append(style.pending(Columns.cut(Terminal.sanitized(note), width))) }
        lines.append(help(input, width))
        return Array(lines.prefix(height))
    }

    private static func paint(_ line: String, _ row: Row, _ selected: Bool, _ style: Style) -> String {
        if selected { return style.selected(line) }
        switch row.alert?.state {
        case .firing: return style.firing(line)
        case .pending: return style.pending(line)
        case nil: return line
        }
    }

    static func help(_ input: FrameInput, _ width: Int) -> String {
        let state = input.state
        let text: String
        if state.editingFilter {
            text = "filter: \(Terminal.sanitized(state.filter))_   Enter keep  Esc clear"
        } else {
            text = "q quit  s sort (\(state.sort.rawValue))  / filter\(state.filter.isEmpty ? "" : " [\(Terminal.sanitized(state.filter))]")"
                + "  ↑↓ j k select  Enter detail  Esc clear filter"
        }
        return input.style.dim(Columns.cut(text, width))
    }
}
