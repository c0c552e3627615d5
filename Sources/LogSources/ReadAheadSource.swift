import Foundation

/// Runs another source (typically a gzip decoder) on its own thread, a few chunks ahead of the
/// consumer, so decoding and parsing use different cores. The chunks are a fixed ring of
/// buffers reused for the whole stream; an error arrives after the data read before it.
public final class ReadAheadSource: ByteSource {
    public let path: String
    private let ring: ReadAheadRing
    /// The chunk being handed out: ring slot, its filled length, and how much was copied out.
    private var current: (slot: Int, count: Int, position: Int)?

    public init(wrapping source: ByteSource, chunkSize: Int = 1 << 20, depth: Int = 3) {
        precondition(chunkSize > 0 && (2...4).contains(depth), "chunkSize > 0, depth 2...4")
        path = source.path
        ring = ReadAheadRing(source: source, chunkSize: chunkSize, depth: depth)
        let ring = ring
        let thread = Thread { ring.produce() }
        thread.name = "read-ahead \(path)"
        thread.start()
    }

    /// Stops the producer after its current read; the ring is freed when both sides let go.
    deinit { ring.cancel() }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        var chunk: (slot: Int, count: Int, position: Int)
        if let current {
            chunk = current
        } else {
            guard let filled = try ring.takeFilled() else { return 0 }
            chunk = (filled.slot, filled.count, 0)
        }
        let count = min(chunk.count - chunk.position, buffer.count)
        buffer.baseAddress!.copyMemory(from: ring.slot(chunk.slot) + chunk.position, byteCount: count)
        chunk.position += count
        if chunk.position == chunk.count {
            ring.release()
            current = nil
        } else {
            current = chunk
        }
        return count
    }
}

/// State shared by the producer thread and the consumer. Slots `head..<head+filled` (mod depth)
/// belong to the consumer, the others to the producer; ownership changes only under `condition`.
private final class ReadAheadRing: @unchecked Sendable {
    private let source: ByteSource
    private let chunkSize: Int
    private let depth: Int
    private let storage: UnsafeMutableRawPointer
    private let condition = NSCondition()
    private var counts: [Int]
    private var head = 0
    private var filled = 0
    private var finished = false
    private var failure: Error?
    private var cancelled = false

    init(source: ByteSource, chunkSize: Int, depth: Int) {
        self.source = source
        self.chunkSize = chunkSize
        self.depth = depth
        storage = .allocate(byteCount: chunkSize * depth, alignment: 64)
        counts = Array(repeating: 0, count: depth)
    }

    deinit { storage.deallocate() }

    func slot(_ index: Int) -> UnsafeMutableRawPointer { storage + index * chunkSize }

    /// Producer thread body: fill free slots until end of input, an error, or cancellation.
    func produce() {
        while true {
            condition.lock()
            while filled == depth && !cancelled { condition.wait() }
            let index = (head + filled) % depth
            let stop = cancelled
            condition.unlock()
            if stop { return }

            let count: Int
            do {
                count = try source.read(into: UnsafeMutableRawBufferPointer(start: slot(index), count: chunkSize))
            } catch {
                finish(failure: error)
                return
            }
            guard count > 0 else {
                finish(failure: nil)
                return
            }
            condition.lock()
            counts[index] = count
            filled += 1
            condition.signal()
            condition.unlock()
        }
    }

    private func finish(failure: Error?) {
        condition.lock()
        finished = true
        self.failure = failure
        condition.signal()
        condition.unlock()
    }

    /// The next filled slot, nil at end of input; throws the producer's error once the data
    /// before it has been taken.
    func takeFilled() throws -> (slot: Int, count: Int)? {
        condition.lock()
        defer { condition.unlock() }
        while filled == 0 && !finished { condition.wait() }
        if filled > 0 { return (head, counts[head]) }
        if let failure { throw failure }
        return nil
    }

    /// Returns the slot taken last to the producer.
    func release() {
        condition.lock()
        head = (head + 1) % depth
        filled -= 1
        condition.signal()
        condition.unlock()
    }

    func cancel() {
        condition.lock()
        cancelled = true
        condition.signal()
        condition.unlock()
    }
}
