/// What the operator chose: sort, filter, selection, list or detail. Changed by keys only.
public struct ViewState: Equatable, Sendable {
    public enum Sort: String, Sendable, CaseIterable {
        /// Failure ratio over the window, then failures, then requests.
        case ratio
        /// Requests per second.
        case rate
    }

    public enum Mode: Equatable, Sendable { case list, detail }

    public var sort: Sort
    /// Keys whose shown name contains it (ignoring case) are listed.
    public var filter = ""
    /// Typed keys go to the filter (after `/`, until Enter or Escape).
    public var editingFilter = false
    /// The selected key's name: it stays selected as rows move.
    public var selected: String?
    public var mode = Mode.list
    /// Rows a page key moves by (the list's height).
    public var pageRows = 10

    public init(sort: Sort = .ratio) { self.sort = sort }

    /// What the loop does after a key.
    public enum Outcome: Equatable, Sendable { case `continue`, quit }

    /// Applies `key`; `rows` are the names listed now, in order.
    public mutating func handle(_ key: Key, rows: [String]) -> Outcome {
        if key == .control("c") { return .quit }
        if editingFilter {
            switch key {
            case .character(let c): filter.append(c)
            case .backspace: if !filter.isEmpty { filter.removeLast() }
            case .enter, .down, .up: editingFilter = false
            case .escape:
                filter = ""
                editingFilter = false
            default: break
            }
            return .continue
        }
        switch key {
        case .character("q"): return .quit
        case .character("s"), .tab: sort = sort == .ratio ? .rate : .ratio
        case .character("/"):
            editingFilter = true
            mode = .list
        case .up, .character("k"): move(by: -1, rows)
        case .down, .character("j"): move(by: 1, rows)
        case .pageUp: move(by: -pageRows, rows)
        case .pageDown: move(by: pageRows, rows)
        case .home, .character("g"): move(by: -rows.count, rows)
        case .end, .character("G"): move(by: rows.count, rows)
        case .enter, .right, .character("l"):
            if mode == .list, let name = selectedRow(in: rows) {
                selected = name
                mode = .detail
            } else {
                mode = .list
            }
        case .escape, .left, .backspace, .character("h"):
            if mode == .detail { mode = .list } else { filter = "" }
        default: break
        }
        return .continue
    }

    /// The selected name if it is listed, else the first row.
    public func selectedRow(in rows: [String]) -> String? {
        if let selected, rows.contains(selected) { return selected }
        return rows.first
    }

    private mutating func move(by step: Int, _ rows: [String]) {
        guard !rows.isEmpty else { return }
        let current = selected.flatMap { rows.firstIndex(of: $0) } ?? 0
        selected = rows[max(0, min(rows.count - 1, current + step))]
    }
}
