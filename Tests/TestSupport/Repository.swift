import Foundation

/// Paths in this repository, wherever the clone is: tests read the samples, the corpus and the
/// scripts from the sources, not from a copy.
public enum Repository {
    /// The repository's top folder (this file is `Tests/TestSupport/Repository.swift`).
    public static let root: URL = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url
    }()

    /// `relative` under the top folder: `Samples/generate.py`, `Tests/Corpus`.
    public static func url(_ relative: String) -> URL { root.appendingPathComponent(relative) }

    /// The example logs and their ground truth.
    public static var samples: URL { url("Samples/logs") }

    /// Real public log lines (`Tests/Corpus/SOURCES.md` says where each came from).
    public static var corpus: URL { url("Tests/Corpus") }
}
