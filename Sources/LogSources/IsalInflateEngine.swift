import CIsal

/// ISA-L backend: two to three times as fast as zlib on x86-64. The library is loaded at run
/// time (`libisal.so.2`, Debian `libisal2`), so the build needs no ISA-L package and a binary
/// without it installed inflates with zlib.
///
/// The gzip header is read with `isal_read_gzip_header` into a header record kept here, and
/// `isal_inflate` only inflates the body and checks the trailer (`ISAL_GZIP_NO_HDR_VER`).
/// With `ISAL_GZIP`, `isal_inflate` (2.30) resumes a header split across calls from a fresh
/// local record whose flags are uninitialized, and then misreads the rest of the header.
final class IsalInflateEngine: InflateEngine {
    static let name = "isa-l"
    static let libraryName = "libisal.so.2"

    /// ISA-L's functions, or why they could not be loaded; tried once per process.
    static let library: Result<Functions, LoadError> = {
        var table = cisal_functions()
        if let error = cisal_load(libraryName, &table) { return .failure(LoadError(reason: String(cString: error))) }
        // `cisal_load` fills every entry when it succeeds.
        guard let inflateInit = table.inflate_init, let inflateReset = table.inflate_reset, let inflate = table.inflate,
              let readGzipHeader = table.read_gzip_header, let gzipHeaderInit = table.gzip_header_init
        else { return .failure(LoadError(reason: "incomplete function table")) }
        return .success(Functions(inflateInit: inflateInit, inflateReset: inflateReset, inflate: inflate,
                                  readGzipHeader: readGzipHeader, gzipHeaderInit: gzipHeaderInit))
    }()

    struct Functions {
        var inflateInit: @convention(c) (UnsafeMutablePointer<inflate_state>?) -> Void
        var inflateReset: @convention(c) (UnsafeMutablePointer<inflate_state>?) -> Void
        var inflate: @convention(c) (UnsafeMutablePointer<inflate_state>?) -> Int32
        var readGzipHeader: @convention(c) (UnsafeMutablePointer<inflate_state>?, UnsafeMutablePointer<isal_gzip_header>?) -> Int32
        var gzipHeaderInit: @convention(c) (UnsafeMutablePointer<isal_gzip_header>?) -> Void
    }

    struct LoadError: Error {
        var reason: String
    }

    private let functions: Functions

    /// Tens of kilobytes of tables and history: on the heap, allocated once per source.
    private let state: UnsafeMutablePointer<inflate_state>
    private let header: UnsafeMutablePointer<isal_gzip_header>
    private var readingHeader = true

    /// Nil when the library is not installed.
    init?() {
        guard case .success(let functions) = Self.library else { return nil }
        self.functions = functions
        state = .allocate(capacity: 1)
        state.initialize(to: inflate_state())
        header = .allocate(capacity: 1)
        header.initialize(to: isal_gzip_header())
        functions.inflateInit(state)
        startMember()
    }

    deinit {
        state.deallocate()
        header.deallocate()
    }

    /// The caller sets `next_in`/`avail_in` again on the next call, past the finished member.
    func reset() {
        functions.inflateReset(state)
        startMember()
    }

    private func startMember() {
        state.pointee.crc_flag = UInt32(ISAL_GZIP_NO_HDR_VER)
        functions.gzipHeaderInit(header)
        readingHeader = true
    }

    func inflate(from input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) -> InflateStep {
        let inputCount = UInt32(clamping: input.count)
        let outputCount = UInt32(clamping: output.count)
        state.pointee.next_in = UnsafeMutablePointer(mutating: input.baseAddress!.assumingMemoryBound(to: UInt8.self))
        state.pointee.avail_in = inputCount
        state.pointee.next_out = output.baseAddress!.assumingMemoryBound(to: UInt8.self)
        state.pointee.avail_out = outputCount
        var status = ISAL_DECOMP_OK
        if readingHeader {
            status = functions.readGzipHeader(state, header)
            readingHeader = status == ISAL_END_INPUT
        }
        if !readingHeader && status == ISAL_DECOMP_OK {
            status = functions.inflate(state)
        }
        let outcome: InflateStep.Outcome
        if status < 0 || status == ISAL_NEED_DICT {
            outcome = .corrupt(Self.describe(status))
        } else if state.pointee.block_state == ISAL_BLOCK_FINISH {
            outcome = .memberEnded
        } else {
            outcome = .needsMore
        }
        return InflateStep(
            consumed: Int(inputCount - state.pointee.avail_in),
            produced: Int(outputCount - state.pointee.avail_out),
            outcome: outcome)
    }

    private static func describe(_ status: Int32) -> String {
        switch status {
        case ISAL_INVALID_BLOCK: "invalid block"
        case ISAL_INVALID_SYMBOL: "invalid symbol"
        case ISAL_INVALID_LOOKBACK: "invalid distance too far back"
        case ISAL_INVALID_WRAPPER: "invalid gzip header"
        case ISAL_UNSUPPORTED_METHOD: "unknown compression method"
        case ISAL_INCORRECT_CHECKSUM: "incorrect data check"
        case ISAL_NEED_DICT: "needs a preset dictionary"
        default: "isa-l status \(status)"
        }
    }
}
