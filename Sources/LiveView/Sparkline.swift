/// Per-second counts as block characters, scaled to their own maximum.
enum Sparkline {
    private static let blocks: [Character] = ["▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"]

    /// The last `columns` values (each column one second; fewer values leave the left blank);
    /// a zero is a space, so a quiet second stands out from a low one.
    static func render(_ values: [UInt32], columns: Int) -> String {
        guard columns > 0 else { return "" }
        let shown = values.suffix(columns)
        let peak = shown.max() ?? 0
        var out = String(repeating: " ", count: columns - shown.count)
        for value in shown {
            if value == 0 || peak == 0 {
                out.append(" ")
            } else {
                let level = Int(value) * (blocks.count - 1) / Int(peak)
                out.append(blocks[max(0, min(blocks.count - 1, level))])
            }
        }
        return out
    }
}
