/// Text measured and cut in terminal columns. Its input has been through the terminal rule
/// (`Terminal.sanitized`), so it holds no controls: only widths differ.
enum Columns {
    /// Columns a scalar takes: 0 for combining marks and zero-width characters, 2 for East
    /// Asian wide ones and emoji, 1 otherwise.
    static func width(_ scalar: Unicode.Scalar) -> Int {
        let v = scalar.value
        if v < 0x300 { return 1 }
        switch scalar.properties.generalCategory {
        case .nonspacingMark, .enclosingMark, .format: return 0
        default: break
        }
        if (0x1100...0x115F).contains(v) || (0x2E80...0xA4CF).contains(v) || (0xAC00...0xD7A3).contains(v)
            || (0xF900...0xFAFF).contains(v) || (0xFE30...0xFE4F).contains(v) || (0xFF00...0xFF60).contains(v)
            || (0xFFE0...0xFFE6).contains(v) || (0x1F300...0x1F64F).contains(v) || (0x1F900...0x1F9FF).contains(v)
            || (0x20000...0x3FFFD).contains(v)
        {
            return 2
        }
        return 1
    }

    static func width(_ text: String) -> Int { text.unicodeScalars.reduce(0) { $0 + width($1) } }

    /// `text` in exactly `columns` columns: cut with `…` when longer, padded with spaces when
    /// shorter (on the left with `right`).
    static func fit(_ text: String, _ columns: Int, right: Bool = false) -> String {
        guard columns > 0 else { return "" }
        var used = 0
        var out = ""
        let total = width(text)
        if total <= columns {
            let padding = String(repeating: " ", count: columns - total)
            return right ? padding + text : text + padding
        }
        for scalar in text.unicodeScalars {
            let w = width(scalar)
            if used + w > columns - 1 { break }
            out.unicodeScalars.append(scalar)
            used += w
        }
        return out + "…" + String(repeating: " ", count: columns - 1 - used)
    }

    /// `text` cut to at most `columns` columns, not padded.
    static func cut(_ text: String, _ columns: Int) -> String {
        width(text) <= columns ? text : fit(text, columns)
    }
}
