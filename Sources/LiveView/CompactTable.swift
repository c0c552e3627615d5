import RecordCounting

/// What `top` prints off a terminal, once an interval: a heading line, then the first keys
/// as a plain table (no colour, no cursor movement), then a blank line.
public enum CompactTable {
    public static let maxRows = 20
    private static let nameLimit = 60

    public static func render(_ snapshot: LiveSnapshot, sort: ViewState.Sort) -> String {
        guard let activity = snapshot.activity else { return "flagwatch top: no records yet\n\n" }
        let rows = Row.rows(snapshot, ViewState(sort: sort))
        let now = Labels.now(snapshot)
        let names = rows.prefix(maxRows).map { Terminal.sanitized($0.activity.name, limit: nameLimit) }
        let nameWidth = max(3, names.map(Columns.width).max() ?? 0)
        var text = "\(RFC3339.string(micros: activity.clockSecond * 1_000_000)) window \(activity.windowSeconds)s "
            + "\(rows.count) keys, alerts: \(Labels.alertCounts(snapshot.alerts)), sort: \(sort.rawValue)\n"
        text += Columns.fit("KEY", nameWidth) + "    REQ/S   FAIL%  FLAGS        CAUSE                  ALERT\n"
        for (row, name) in zip(rows, names) {
            var line = Columns.fit(name, nameWidth) + " " + Columns.fit(Labels.rate(row.requestsPerSecond), 8, right: true)
                + " " + Columns.fit(Percent.string(row.activity.ratio), 7, right: true)
                + "  " + Columns.fit(row.flagCodes.joined(separator: ","), 12) + " " + Columns.fit(row.cause?.name ?? "-", 22)
                + " " + Labels.alert(row.alert, now: now)
            while line.last == " " { line.removeLast() }
            text += line + "\n"
        }
        if rows.count > maxRows { text += "… \(rows.count - maxRows) more\n" }
        return text + "\n"
    }
}
