// Decompression alone through flagwatch's own gzip decoder (GzipSource, as `flagwatch scan`
// opens a .gz file), output discarded: the floor under `flagwatch scan FILE.gz`.
// Built only when the main package exports LogSources as a library product.
//
//   gzdecode FILE.gz   -> prints "<decoder> <decompressed bytes>" on standard output
import LogSources

#if canImport(Glibc)
import Glibc
#endif

func fail(_ message: String, status: Int32) -> Never {
    let line = message + "\n"
    _ = line.withCString { write(2, $0, strlen($0)) }
    exit(status)
}

let arguments = CommandLine.arguments
guard arguments.count == 2 else {
    fail("usage: gzdecode FILE.gz", status: 64)
}
let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 4 << 20, alignment: 64)
var total = 0
do {
    let source = try openInput(arguments[1])
    while true {
        let n = try source.read(into: buffer)
        if n == 0 { break }
        total += n
    }
} catch {
    fail("gzdecode: \(error)", status: 2)
}
print("\(GzipSource.decoderName) \(total)")
