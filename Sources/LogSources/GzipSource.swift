import Foundation

/// One gzip-member inflater. Both backends (zlib, ISA-L) sit behind it so that member
/// boundaries, padding, truncation and error offsets are handled once, in `GzipSource`.
protocol InflateEngine: AnyObject {
    /// Prepares for the next gzip member.
    func reset()
    /// Inflates from `input` into `output`. `output` is non-empty; `input` is empty only at the
    /// end of the compressed stream, to take output the engine held back for want of room.
    func inflate(from input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) -> InflateStep
}

struct InflateStep {
    enum Outcome {
        case needsMore
        case memberEnded
        case corrupt(String)
    }

    var consumed: Int
    var produced: Int
    var outcome: Outcome
}

/// Which inflater reads archives: ISA-L when `libisal.so.2` loads, else zlib. The environment
/// variable `FLAGWATCH_INFLATE=zlib` forces zlib (tests, measurements); chosen once per process.
enum InflateBackend: String {
    case zlib
    case isal = "isa-l"

    static let chosen = choose(requested: ProcessInfo.processInfo.environment["FLAGWATCH_INFLATE"], isalLoads: IsalInflateEngine.library)

    /// `requested` is the environment variable's value; an unknown one is ignored.
    static func choose(requested: String?, isalLoads library: Result<IsalInflateEngine.Functions, IsalInflateEngine.LoadError>) -> InflateBackend {
        if requested == InflateBackend.zlib.rawValue { return .zlib }
        if case .success = library { return .isal }
        return .zlib
    }

    func makeEngine() -> InflateEngine {
        switch self {
        // The library loaded when `.isal` was chosen, so the engine is made.
        case .isal: IsalInflateEngine() ?? ZlibInflateEngine()
        case .zlib: ZlibInflateEngine()
        }
    }
}

/// Streaming gzip decoder over another source. Handles multi-member archives (`cat a.gz b.gz`)
/// and zero padding after a member; a damaged archive throws after the data decoded before it.
public final class GzipSource: ByteSource {
    /// The inflate library this process uses for every archive ("isa-l" or "zlib"), for reports.
    public static var decoderName: String { InflateBackend.chosen.rawValue }

    static let inputChunkSize = 1 << 20

    public let path: String
    private let compressed: ByteSource
    private let engine: InflateEngine
    private let input = UnsafeMutableRawBufferPointer.allocate(byteCount: inputChunkSize, alignment: 64)
    private var inputStart = 0
    private var inputEnd = 0
    /// Offset in the compressed stream of `input[inputStart]`.
    private var inputOffset: Int64 = 0
    private var inMember = false
    private var failure: SourceError?

    public convenience init(compressed: ByteSource) {
        self.init(compressed: compressed, engine: InflateBackend.chosen.makeEngine())
    }

    init(compressed: ByteSource, engine: InflateEngine) {
        self.compressed = compressed
        self.engine = engine
        path = compressed.path
    }

    deinit { input.deallocate() }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        if let failure { throw failure }
        var produced = 0
        // Set when the compressed input ended inside a member. The engine may still hold output it had
        // no room for (a long match into a small buffer): it is drained with empty input before
        // the truncation is reported, so what is decoded never depends on the read sizes.
        var drainingAtEnd = false
        do {
            while produced < buffer.count {
                if inputStart == inputEnd {
                    if drainingAtEnd {
                        if !inMember { break }
                    } else {
                        // Hand over what is decoded before blocking on more input (pipes, slow disks).
                        if produced > 0 { break }
                        if try !refill() {
                            if !inMember { break }
                            drainingAtEnd = true
                        }
                    }
                }
                if !inMember {
                    skipZeroPadding()
                    if inputStart == inputEnd { continue }
                    inMember = true
                }
                let step = engine.inflate(
                    from: UnsafeRawBufferPointer(rebasing: input[inputStart..<inputEnd]),
                    into: UnsafeMutableRawBufferPointer(rebasing: buffer[produced...]))
                inputStart += step.consumed
                inputOffset += Int64(step.consumed)
                produced += step.produced
                switch step.outcome {
                case .needsMore where step.consumed == 0 && step.produced == 0:
                    throw SourceError(path: path, reason: drainingAtEnd ? "truncated gzip stream" : "gzip decoder made no progress",
                                      offset: inputOffset)
                case .needsMore:
                    break
                case .memberEnded:
                    engine.reset()
                    inMember = false
                case .corrupt(let reason):
                    throw SourceError(path: path, reason: "corrupt gzip data (\(reason))", offset: inputOffset)
                }
            }
        } catch let error as SourceError {
            failure = error
            if produced == 0 { throw error }
        }
        return produced
    }

    /// Reads the next compressed chunk; false at end of input.
    private func refill() throws -> Bool {
        inputStart = 0
        inputEnd = try compressed.read(into: input)
        return inputEnd > 0
    }

    /// Zero bytes between or after members are padding (tape and block-device copies), as gzip allows.
    private func skipZeroPadding() {
        while inputStart < inputEnd && input[inputStart] == 0 {
            inputStart += 1
            inputOffset += 1
        }
    }
}
