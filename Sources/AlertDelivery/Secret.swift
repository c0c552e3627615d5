import Foundation

/// A credential read from an environment variable or a file. It prints as `<redacted>`, so it
/// cannot leak through string interpolation, `dump` or an error description.
public struct Secret: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible {
    /// The credential itself; only request building reads it.
    let value: String

    public init(_ value: String) { self.value = value }

    public var description: String { "<redacted>" }
    public var debugDescription: String { "<redacted>" }
}

/// Replaces every secret of a receiver in text that is about to be logged (error descriptions
/// and response bodies can echo a token or a URL with one in it).
struct Redactor: Sendable {
    private let secrets: [String]

    init(_ secrets: [String]) {
        // Longest first, so a secret that contains another is replaced whole. Very short values
        // would blank out ordinary words; no real credential is that short.
        self.secrets = Set(secrets.filter { $0.count >= 4 }).sorted { $0.count > $1.count }
    }

    func callAsFunction(_ text: String) -> String {
        secrets.reduce(text) { $0.replacingOccurrences(of: $1, with: "<redacted>") }
    }
}
