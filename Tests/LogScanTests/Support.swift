import Foundation
import LogScan
import TestSupport

/// The sample generator and the ground truth it writes.
enum Fixtures {
    /// Generates a log with `Samples/generate.py` and returns it with its ground truth.
    static func generate(_ arguments: [String], in directory: URL, name: String) throws -> (log: URL, truth: Truth) {
        let log = directory.appendingPathComponent(name)
        let truthFile = directory.appendingPathComponent(name + ".truth.json")
        let result = try ChildProcess.run(["python3", Repository.url("Samples/generate.py").path]
            + arguments + ["-o", log.path, "--truth", truthFile.path])
        precondition(result.status == 0, String(decoding: result.stderr, as: UTF8.self))
        return (log, try JSONDecoder().decode(Truth.self, from: Data(contentsOf: truthFile)))
    }
}

/// The generator's own count, in the report's shape.
struct Truth: Decodable, Equatable {
    struct Cluster: Decodable, Equatable {
        var cluster: String
        var requests: Int
        var flags: [String: Int]
    }

    var groupBy: String
    var lines: Int
    var records: Int
    var malformed: Int
    var flags: [String: Int]
    var clusters: [Cluster]
}

extension ScanResult {
    /// The part of a result the ground truth describes.
    var asTruth: Truth {
        Truth(groupBy: self.groupBy.groupName, lines: self.lines, records: self.records, malformed: self.malformed, flags: self.totals.flags,
              clusters: self.totals.keys.sorted { $0.key < $1.key }.map { Truth.Cluster(cluster: $0.key, requests: $0.value.requests, flags: $0.value.flags) })
    }
}
