/// Log content is written by clients: it must not act on a terminal, and it must not hide
/// or reorder the text around it. This is the one rule for showing it; the table, alert
/// lines, diagnostics, CSV cells and the HTML page all go through `Terminal.visible`.
public enum Terminal {
    /// The visible stand-in for a character that must not reach a screen as it is, or nil for
    /// one that may: C0 and C1 controls and DEL (ESC, so every escape sequence, included)
    /// become `\xNN`; bidirectional controls and marks, and the byte-order mark, become
    /// `\u{NNNN}`, so a name cannot reorder what is printed after it.
    @inline(__always)
    public static func visible(_ scalar: Unicode.Scalar) -> String? {
        let v = scalar.value
        if v < 0x20 || (0x7F..<0xA0).contains(v) { return "\\x" + hex(v, digits: 2) }
        if (0x202A...0x202E).contains(v) || (0x2066...0x2069).contains(v) || v == 0x200E || v == 0x200F || v == 0x061C
            || v == 0xFEFF
        {
            return "\\u{" + hex(v, digits: 4) + "}"
        }
        return nil
    }

    /// `text` with every character of `visible` replaced by its stand-in. With
    /// `keepingLineBreaks`, line feeds stay (a message of several lines that flagwatch
    /// composed); otherwise the result is one line. Past `limit` characters the text is cut
    /// and the cut is marked, so one hostile name cannot widen a whole table.
    public static func sanitized(_ text: String, limit: Int? = nil, keepingLineBreaks: Bool = false) -> String {
        rendered(text, limit: limit) { scalar in keepingLineBreaks && scalar == "\n" ? "\n" : nil }
    }

    /// The loop behind `sanitized` and `HTMLReport.escaped`: `special` maps the characters a
    /// medium needs written its own way (HTML's `&`, `<`…), and `visible` the rest.
    package static func rendered(_ text: String, limit: Int?, special: (Unicode.Scalar) -> String?) -> String {
        var out = ""
        out.reserveCapacity(min(text.utf8.count, limit.map { $0 * 4 } ?? .max) + 8)
        var shown = 0
        var total = 0
        for scalar in text.unicodeScalars {
            total += 1
            if let limit, shown >= limit { continue }
            shown += 1
            if let replacement = special(scalar) ?? visible(scalar) {
                out += replacement
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        if total > shown { out += "… (\(total - shown) more characters)" }
        return out
    }

    /// JSON text in which no string holds a character of `visible` as it is: each becomes a
    /// `\uNNNN` escape, the same value to any JSON parser, so `--output json` and
    /// `--alerts json` are safe on a terminal too. (Encoders already escape C0 controls; DEL,
    /// C1 and bidirectional controls are valid raw in JSON.) Only strings hold non-ASCII
    /// characters or DEL in encoder output, so replacing them anywhere is exact.
    public static func escapingJSON(_ json: String) -> String {
        guard json.utf8.contains(where: { $0 >= 0x7F }) else { return json }
        var out = ""
        out.reserveCapacity(json.utf8.count + 64)
        for scalar in json.unicodeScalars {
            if scalar.value >= 0x7F, visible(scalar) != nil {
                out += "\\u" + hex(scalar.value, digits: 4).lowercased()
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    static func hex(_ value: UInt32, digits: Int) -> String {
        let text = String(value, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, digits - text.count)) + text
    }
}
