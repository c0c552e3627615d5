import Foundation
import RecordCounting
import Testing

/// The one rule for showing log text (`Terminal`), and the JSON that stays exact under it.
struct TerminalTests {
    @Test func controlsAndBidiAreShownVisibly() {
        #expect(Terminal.sanitized("a\u{1B}[2Jb\u{1B}]0;t\u{07}") == #"a\x1B[2Jb\x1B]0;t\x07"#)
        #expect(Terminal.sanitized("\u{0}\t\r\n\u{7F}\u{85}\u{9B}") == #"\x00\x09\x0D\x0A\x7F\x85\x9B"#)
        #expect(Terminal.sanitized("abc\u{202E}fed\u{2066}\u{200F}\u{FEFF}") == #"abc\u{202E}fed\u{2066}\u{200F}\u{FEFF}"#)
        #expect(Terminal.sanitized("ümlaut 集群 \u{FFFD} <&>\"'") == "ümlaut 集群 \u{FFFD} <&>\"'")
        #expect(Terminal.sanitized("usage\n\u{1B}[1mbold\n", keepingLineBreaks: true) == "usage\n\\x1B[1mbold\n")
        #expect(Terminal.sanitized(String(repeating: "x", count: 10), limit: 4) == "xxxx… (6 more characters)")
    }

    /// Escaped JSON parses to the same values, and holds nothing a terminal acts on.
    @Test func escapedJSONKeepsEveryValue() throws {
        let values = ["esc\u{1B}[2J", "del\u{7F}", "c1\u{9B}31m", "bidi\u{202E}\u{2069}", "nul\u{0}", "ümlaut 集群", "line\u{2028}sep"]
        let encoded = String(decoding: try JSONEncoder().encode(values), as: UTF8.self)
        let escaped = Terminal.escapingJSON(encoded)
        #expect(!escaped.unicodeScalars.contains { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) || (0x202A...0x202E).contains($0.value) || (0x2066...0x2069).contains($0.value) })
        #expect(escaped.contains(#"del\u007f"#) && escaped.contains(#"bidi\u202e\u2069"#) && escaped.contains("ümlaut 集群"))
        #expect(try JSONDecoder().decode([String].self, from: Data(escaped.utf8)) == values)
        #expect(Terminal.escapingJSON(#"{"plain":"ascii"}"#) == #"{"plain":"ascii"}"#)
    }
}
