import RecordCounting

/// One screen: its lines, each at most the width (colour sequences aside), top to bottom.
public struct Frame: Equatable, Sendable {
    public var lines: [String]

    public init(lines: [String]) { self.lines = lines }

    /// What is written to the terminal: cursor home, then every line overwritten in place and
    /// cleared to its end, so no frame is ever blank (no flicker). No newline after the last
    /// line, so a full screen never scrolls.
    public func bytes(height: Int) -> [UInt8] {
        var text = "\u{1B}[H"
        for row in 0..<height {
            if row < lines.count { text += lines[row] }
            text += "\u{1B}[K"
            if row < height - 1 { text += "\r\n" }
        }
        return Array(text.utf8)
    }
}

/// The terminal's size in columns and rows.
public struct ScreenSize: Equatable, Sendable {
    public var columns: Int
    public var rows: Int

    public init(columns: Int, rows: Int) {
        self.columns = columns
        self.rows = rows
    }
}

/// What renders a frame: the snapshot (nil until the engine published one), the operator's
/// choices, the size, colour, and the last warning the engine gave.
public struct FrameInput: Sendable {
    public var snapshot: LiveSnapshot?
    public var state: ViewState
    public var size: ScreenSize
    public var style: Style
    public var note: String?

    public init(snapshot: LiveSnapshot?, state: ViewState, size: ScreenSize, style: Style, note: String? = nil) {
        self.snapshot = snapshot
        self.state = state
        self.size = size
        self.style = style
        self.note = note
    }
}
