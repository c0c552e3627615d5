/// The one way flagwatch prints a ratio: one decimal, rounded half away from zero (`12.3%`).
/// Tables, alert lines, summaries and payloads all show the same digits for the same ratio.
public enum Percent {
    /// `12.3` for 0.123; `–` for a ratio that is not a number (0 requests).
    public static func number(_ ratio: Double) -> String {
        guard ratio.isFinite else { return "–" }
        let tenths = Int((ratio * 1000).rounded())
        return "\(tenths / 10).\(abs(tenths) % 10)"
    }

    /// `12.3%`.
    public static func string(_ ratio: Double) -> String {
        guard ratio.isFinite else { return "–" }
        return number(ratio) + "%"
    }
}
