/// The first line counted with a cause under a key: what a report shows as that cause's example.
public struct CauseSample: Codable, Equatable, Sendable {
    /// The line as read (a collector's prefix included), cut at `maxLength` bytes.
    public var line: String
    public var file: String
    /// 1-based line number in the (decompressed) input.
    public var lineNumber: Int
    /// Where the input stands among the driver's inputs (scan: the unit, then the input, index):
    /// with `lineNumber` it orders samples, so that merging keeps the earliest line whatever the
    /// number of threads or the order workers finish in.
    public var inputOrder: Int

    /// Bytes of a line kept: a whole Envoy line, not a hostile megabyte.
    public static let maxLength = 1024

    public init(line: String, file: String, lineNumber: Int, inputOrder: Int) {
        self.line = line
        self.file = file
        self.lineNumber = lineNumber
        self.inputOrder = inputOrder
    }

    /// Whether this line comes before `other` in the driver's input.
    public func precedes(_ other: CauseSample) -> Bool { (inputOrder, lineNumber) < (other.inputOrder, other.lineNumber) }
}
