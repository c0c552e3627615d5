import CZlib

/// zlib backend: available everywhere, the default build's decoder.
final class ZlibInflateEngine: InflateEngine {
    static let name = "zlib"

    /// Heap-allocated because zlib keeps a pointer back to the stream and rejects a moved one.
    private let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)

    init() {
        stream.initialize(to: z_stream())
        let status = czlib_inflate_init_gzip(stream)
        precondition(status == Z_OK, "zlib inflateInit2 failed with status \(status)")
    }

    deinit {
        inflateEnd(stream)
        stream.deallocate()
    }

    func reset() {
        inflateReset(stream)
    }

    func inflate(from input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) -> InflateStep {
        let inputCount = UInt32(clamping: input.count)
        let outputCount = UInt32(clamping: output.count)
        stream.pointee.next_in = UnsafeMutablePointer(mutating: input.baseAddress!.assumingMemoryBound(to: Bytef.self))
        stream.pointee.avail_in = inputCount
        stream.pointee.next_out = output.baseAddress!.assumingMemoryBound(to: Bytef.self)
        stream.pointee.avail_out = outputCount
        let status = CZlib.inflate(stream, Z_NO_FLUSH)
        let outcome: InflateStep.Outcome
        switch status {
        case Z_STREAM_END: outcome = .memberEnded
        case Z_OK, Z_BUF_ERROR: outcome = .needsMore
        default: outcome = .corrupt(stream.pointee.msg.map { String(cString: $0) } ?? "zlib status \(status)")
        }
        return InflateStep(
            consumed: Int(inputCount - stream.pointee.avail_in),
            produced: Int(outputCount - stream.pointee.avail_out),
            outcome: outcome)
    }
}
