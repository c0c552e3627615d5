/// The frame for a snapshot and the operator's choices: a pure function, so tests render
/// screens from constructed snapshots.
public enum Screen {
    public static func frame(_ input: FrameInput, rows: [Row]) -> Frame {
        let size = ScreenSize(columns: max(1, input.size.columns), rows: max(1, input.size.rows))
        var input = input
        input.size = size
        let names = rows.map(\.activity.name)
        if input.state.mode == .detail, let name = input.state.selected ?? names.first {
            return Frame(lines: DetailScreen.lines(input, name: name))
        }
        return Frame(lines: ListScreen.lines(input, rows: rows))
    }

    /// Rows of the list, for page keys.
    public static func listHeight(_ size: ScreenSize) -> Int { max(1, size.rows - 3) }
}
