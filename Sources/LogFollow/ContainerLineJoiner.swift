/// Joins CRI container-log lines that the runtime split: a long log line is written as
/// `<time> stdout P <part>` lines ending with `<time> stdout F <rest>`. The joined line is the
/// first part's header followed by every part, what the container actually printed.
public struct ContainerLineJoiner {
    private var joined: [UInt8] = []
    /// Bytes of the held `P` lines in the file, newlines included: not yet counted, so a
    /// checkpoint must not step over them.
    public private(set) var heldBytes = 0
    public let maxLength: Int

    public init(maxLength: Int) { self.maxLength = maxLength }

    public enum Outcome { case passed, held, tooLong }

    /// Takes one line (without its newline) and hands on to `emit` the line to parse: the line
    /// itself, or the joined line when it completes a split one.
    public mutating func take(_ line: UnsafeRawBufferPointer, emit: (UnsafeRawBufferPointer) -> Void) -> Outcome {
        guard let (headerLength, partial) = ContainerLineJoiner.header(of: line) else {
            emit(line)
            return .passed
        }
        if partial {
            joined.append(contentsOf: joined.isEmpty ? line : UnsafeRawBufferPointer(rebasing: line[headerLength...]))
            heldBytes += line.count + 1
            if joined.count > maxLength {
                reset()
                return .tooLong
            }
            return .held
        }
        guard !joined.isEmpty else {
            emit(line)
            return .passed
        }
        joined.append(contentsOf: UnsafeRawBufferPointer(rebasing: line[headerLength...]))
        defer { reset() }
        if joined.count > maxLength { return .tooLong }
        joined.withUnsafeBytes { emit($0) }
        return .passed
    }

    /// Forgets held parts (the file was truncated).
    public mutating func reset() {
        joined.removeAll(keepingCapacity: true)
        heldBytes = 0
    }

    /// `<RFC 3339 time> stdout|stderr P|F `: the header's length and whether the line is partial.
    static func header(of line: UnsafeRawBufferPointer) -> (Int, Bool)? {
        guard let first = line.first, first &- 0x30 < 10 else { return nil }
        guard let space = line.prefix(40).firstIndex(of: 0x20), space + 10 <= line.count else { return nil }
        let stream = line[(space + 1)..<(space + 8)]
        guard stream.elementsEqual("stdout ".utf8) || stream.elementsEqual("stderr ".utf8), line[space + 9] == 0x20 else { return nil }
        switch line[space + 8] {
        case UInt8(ascii: "P"): return (space + 10, true)
        case UInt8(ascii: "F"): return (space + 10, false)
        default: return nil
        }
    }
}
