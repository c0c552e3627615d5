@testable import LiveView
import Testing

struct KeyDecoderTests {
    static func decode(_ text: String) -> [Key] {
        var decoder = KeyDecoder()
        return decoder.decode(Array(text.utf8))
    }

    @Test func arrowsInBothModes() {
        #expect(Self.decode("\u{1B}[A\u{1B}[B\u{1B}[C\u{1B}[D") == [.up, .down, .right, .left])
        #expect(Self.decode("\u{1B}OA\u{1B}OB") == [.up, .down])
    }

    @Test func pagingAndHomeEnd() {
        #expect(Self.decode("\u{1B}[5~\u{1B}[6~\u{1B}[H\u{1B}[F\u{1B}[1~\u{1B}[4~") == [.pageUp, .pageDown, .home, .end, .home, .end])
        // Modifiers in the parameters (Shift+Up) still mean the key.
        #expect(Self.decode("\u{1B}[1;2A") == [.up])
    }

    @Test func unknownSequencesAreDropped() {
        #expect(Self.decode("\u{1B}[200~x\u{1B}[15~q") == [.character("x"), .character("q")])
    }

    @Test func loneEscapeAndControls() {
        #expect(Self.decode("\u{1B}") == [.escape])
        #expect(Self.decode("\r\n\u{7F}\u{08}\t\u{03}") == [.enter, .enter, .backspace, .backspace, .tab, .control("c")])
        #expect(Self.decode("\u{1B}q") == [.escape, .character("q")])
    }

    @Test func sequenceSplitAcrossReads() {
        var decoder = KeyDecoder()
        #expect(decoder.decode(Array("j\u{1B}[".utf8)) == [.character("j")])
        #expect(decoder.decode(Array("Bk".utf8)) == [.down, .character("k")])
        #expect(decoder.decode(Array("é".utf8).prefix(1)) == [])
        #expect(decoder.decode(Array("é".utf8).suffix(1)) == [.character("é")])
    }
}
