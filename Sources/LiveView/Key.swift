/// A key the view acts on, decoded from the bytes a terminal sends.
public enum Key: Equatable, Sendable {
    case character(Character)
    case up, down, left, right, pageUp, pageDown, home, end
    case enter, escape, backspace, tab
    /// Ctrl with a letter: `control("c")` for ^C.
    case control(Character)
}

/// Turns terminal input into keys: UTF-8 text, control bytes, and the CSI/SS3 sequences of
/// arrows and paging (`ESC [ A`, `ESC O A`, `ESC [ 5 ~`…). A sequence cut at the end of a read
/// waits for the next one; an ESC alone at the end of a read is the Escape key (a terminal
/// sends a sequence in one write).
public struct KeyDecoder: Sendable {
    private var pending: [UInt8] = []

    public init() {}

    public mutating func decode(_ bytes: some Sequence<UInt8>) -> [Key] {
        pending.append(contentsOf: bytes)
        var keys: [Key] = []
        var index = 0
        while index < pending.count {
            let byte = pending[index]
            if byte == 0x1B {
                guard index + 1 < pending.count else {
                    keys.append(.escape)
                    index += 1
                    continue
                }
                guard let (key, length) = Self.sequence(pending[(index + 1)...]) else { break }
                if let key { keys.append(key) }
                index += 1 + length
            } else if byte >= 0x80 {
                let length = byte >= 0xF0 ? 4 : byte >= 0xE0 ? 3 : byte >= 0xC0 ? 2 : 1
                guard index + length <= pending.count else { break }
                keys += String(decoding: pending[index..<(index + length)], as: UTF8.self).map(Key.character)
                index += length
            } else {
                if let key = Self.single(byte) { keys.append(key) }
                index += 1
            }
        }
        pending.removeFirst(index)
        return keys
    }

    private static func single(_ byte: UInt8) -> Key? {
        switch byte {
        case 0x0D, 0x0A: return .enter
        case 0x09: return .tab
        case 0x7F, 0x08: return .backspace
        case 0x01...0x1A: return .control(Character(Unicode.Scalar(byte + 0x60)))
        case 0x20..<0x7F: return .character(Character(Unicode.Scalar(byte)))
        default: return nil
        }
    }

    /// What follows an ESC: the key (nil for a sequence the view has no use for) and the bytes
    /// it took; nil when the sequence is not complete yet.
    private static func sequence(_ bytes: ArraySlice<UInt8>) -> (Key?, Int)? {
        let start = bytes.startIndex
        let introducer = bytes[start]
        guard introducer == UInt8(ascii: "[") || introducer == UInt8(ascii: "O") else {
            // ESC then another key: Alt with it, which the view reads as Escape.
            return (.escape, 0)
        }
        // Parameters and intermediates (0x20–0x3F), then the final byte (0x40–0x7E).
        var index = start + 1
        while index < bytes.endIndex, (0x20...0x3F).contains(bytes[index]) { index += 1 }
        guard index < bytes.endIndex else { return nil }
        let parameters = String(decoding: bytes[(start + 1)..<index], as: UTF8.self)
        let key: Key?
        switch bytes[index] {
        case UInt8(ascii: "A"): key = .up
        case UInt8(ascii: "B"): key = .down
        case UInt8(ascii: "C"): key = .right
        case UInt8(ascii: "D"): key = .left
        case UInt8(ascii: "H"): key = .home
        case UInt8(ascii: "F"): key = .end
        case UInt8(ascii: "~"):
            switch parameters.split(separator: ";").first {
            case "1", "7": key = .home
            case "4", "8": key = .end
            case "5": key = .pageUp
            case "6": key = .pageDown
            default: key = nil
            }
        default: key = nil
        }
        return (key, index - start + 1)
    }
}
