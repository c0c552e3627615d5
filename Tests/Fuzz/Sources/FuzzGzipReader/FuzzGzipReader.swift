// libFuzzer target: the gzip reader (`GzipSource`, zlib engine) over an in-memory stream.
// Input: one byte choosing how many compressed bytes each read of the underlying source
// returns, one byte choosing the size of the caller's buffer, then the .gz stream.
// Invariants: reads return 0...buffer.count bytes; an error is sticky (every later read
// throws it again); the output and whether it fails do not depend on the read sizes.
import LogSources
import FuzzSupport

/// The compressed bytes, handed out `chunk` bytes at a time at most.
final class MemorySource: ByteSource {
    let path = "<fuzz>"
    let bytes: UnsafeRawBufferPointer
    let chunk: Int
    var position = 0

    init(_ bytes: UnsafeRawBufferPointer, chunk: Int) {
        self.bytes = bytes
        self.chunk = chunk
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let count = min(chunk, buffer.count, bytes.count - position)
        guard count > 0 else { return 0 }
        buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[position..<(position + count)]))
        position += count
        return count
    }
}

/// Decodes everything, up to `limit` bytes; returns the output and the error, if any.
func decode(_ compressed: UnsafeRawBufferPointer, chunk: Int, bufferSize: Int, limit: Int) -> (output: [UInt8], error: SourceError?) {
    let source = GzipSource(compressed: MemorySource(compressed, chunk: chunk))
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: bufferSize, alignment: 1)
    defer { buffer.deallocate() }
    var output: [UInt8] = []
    while output.count < limit {
        let count: Int
        do {
            count = try source.read(into: buffer)
        } catch let error as SourceError {
            // Sticky: the next read fails the same way.
            do {
                _ = try source.read(into: buffer)
                fatalError("a read after \(error) succeeded")
            } catch let again as SourceError {
                check(again == error, "error changed from \(error) to \(again)")
            } catch {
                fatalError("unexpected error type \(error)")
            }
            _ = error.description
            return (output, error)
        } catch {
            fatalError("unexpected error type \(error)")
        }
        check((0...bufferSize).contains(count), "read returned \(count) into \(bufferSize) bytes")
        if count == 0 { break }
        output += UnsafeRawBufferPointer(rebasing: buffer[..<count])
    }
    return (output, nil)
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzGzipReader(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size >= 2 else { return 0 }
    let chunk = 1 + Int(data[0]) * 17
    let bufferSize = 1 + Int(data[1]) * 257
    let copy = UnsafeMutableRawBufferPointer.allocate(byteCount: size - 2, alignment: 1)
    defer { copy.deallocate() }
    copy.copyMemory(from: UnsafeRawBufferPointer(start: data + 2, count: size - 2))
    let compressed = UnsafeRawBufferPointer(copy)
    // A zip bomb is not a bug: compare at most 4 MiB of output.
    let limit = 4 << 20
    let first = decode(compressed, chunk: chunk, bufferSize: bufferSize, limit: limit)
    let second = decode(compressed, chunk: 1 << 20, bufferSize: 64 << 10, limit: limit)
    let common = min(first.output.count, second.output.count)
    check(first.output[..<common] == second.output[..<common], "output depends on read sizes")
    if first.output.count < limit, second.output.count < limit {
        check(first.output.count == second.output.count, "output length depends on read sizes: \(first.output.count) vs \(second.output.count)")
        check((first.error == nil) == (second.error == nil),
                     "failure depends on read sizes: \(String(describing: first.error)) vs \(String(describing: second.error))")
    }
    return 0
}
