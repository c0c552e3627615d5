import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A generated access log held in memory for the whole run, with the generator's exact
/// ground truth beside it.
///
/// The file is made once by `Samples/generate.py` into `Benchmarks/data/` (git-ignored) and
/// reused by later runs and by every benchmark process; same seed, same bytes.
final class Corpus: @unchecked Sendable {
    let name: String
    /// The log, in one 64-byte-aligned buffer that is never freed or written.
    let bytes: UnsafeRawBufferPointer
    let truth: Truth

    struct Truth {
        var lines = 0
        var records = 0
        var malformed = 0
        /// Requests per group key (cluster, or :authority for the Envoy default format).
        var requests: [String: Int] = [:]
        /// Flag counts per group key.
        var flags: [String: [String: Int]] = [:]
    }

    /// Generator arguments of each corpus. 16 MiB: far larger than the L2 cache, small
    /// enough to generate in a few seconds. Same malformed rate as compare.sh's 1 GB file.
    static let recipes: [String: [String]] = [
        "istio": ["--format", "istio", "--bytes", "16M", "--seed", "7", "--malformed-rate", "0.0001"],
        "envoy": ["--format", "envoy", "--bytes", "16M", "--seed", "7", "--malformed-rate", "0.0001"],
    ]

    nonisolated(unsafe) private static var loaded: [String: Corpus] = [:]

    /// The corpus `name`, generated on first use.
    static func named(_ name: String) -> Corpus {
        if let corpus = loaded[name] { return corpus }
        let corpus = Corpus(name: name)
        loaded[name] = corpus
        return corpus
    }

    /// `Benchmarks/` (this package's root), found from this file's path.
    static let packageRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent() // TokenizerBenchmarks
        .deletingLastPathComponent() // Benchmarks (targets folder)
        .deletingLastPathComponent() // Benchmarks (package)

    private init(name: String) {
        self.name = name
        let repoRoot = Corpus.packageRoot.deletingLastPathComponent()
        let dataDir = ProcessInfo.processInfo.environment["FLAGWATCH_BENCH_DATA"].map { URL(fileURLWithPath: $0) }
            ?? Corpus.packageRoot.appendingPathComponent("data")
        let log = dataDir.appendingPathComponent("bench-\(name)-16M.log")
        let truthFile = dataDir.appendingPathComponent("bench-\(name)-16M.truth.json")
        let fm = FileManager.default
        if !fm.fileExists(atPath: log.path) || !fm.fileExists(atPath: truthFile.path) {
            try? fm.createDirectory(at: dataDir, withIntermediateDirectories: true)
            let generator = repoRoot.appendingPathComponent("Samples/generate.py").path
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["python3", generator] + Corpus.recipes[name]!
                + ["-o", log.path + ".tmp", "--truth", truthFile.path + ".tmp"]
            do {
                try process.run()
                process.waitUntilExit()
            } catch {
                fatalError("cannot run \(generator): \(error)")
            }
            guard process.terminationStatus == 0 else { fatalError("generate.py failed for corpus \(name)") }
            _ = rename(log.path + ".tmp", log.path)
            _ = rename(truthFile.path + ".tmp", truthFile.path)
        }
        guard let data = fm.contents(atPath: log.path) else { fatalError("cannot read \(log.path)") }
        // Some slack after the end: word-at-a-time searches never read past a line's end, but
        // keep the buffer's end away from a page boundary anyway.
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: data.count + 64, alignment: 64)
        buffer.initializeMemory(as: UInt8.self, repeating: 0)
        data.withUnsafeBytes { buffer.copyMemory(from: $0) }
        bytes = UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(buffer)[0..<data.count])

        guard let truthData = fm.contents(atPath: truthFile.path),
            let json = try? JSONSerialization.jsonObject(with: truthData) as? [String: Any]
        else { fatalError("cannot read \(truthFile.path)") }
        var truth = Truth()
        truth.lines = json["lines"] as? Int ?? -1
        truth.records = json["records"] as? Int ?? -1
        truth.malformed = json["malformed"] as? Int ?? -1
        for entry in json["clusters"] as? [[String: Any]] ?? [] {
            let key = entry["cluster"] as? String ?? "?"
            truth.requests[key] = entry["requests"] as? Int ?? 0
            truth.flags[key] = entry["flags"] as? [String: Int] ?? [:]
        }
        self.truth = truth
    }
}

/// Monotonic nanoseconds, for the benchmarks' own bytes/s and lines/s figures.
@inline(__always)
func monotonicNanos() -> Int {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return now.tv_sec * 1_000_000_000 + now.tv_nsec
}
