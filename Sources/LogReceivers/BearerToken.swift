/// The token senders must present (`authorization: Bearer TOKEN`), read from a file or the
/// environment as the alert receivers' secrets are; nil accepts every sender.
public struct BearerToken: Sendable {
    public let expected: String?

    public init(_ expected: String?) { self.expected = expected }

    /// Compares in time independent of where the two differ.
    static func matches(header: String, expected: String) -> Bool {
        let prefix = "bearer "
        guard header.count > prefix.count, header.prefix(prefix.count).lowercased() == prefix else { return false }
        let given = Array(header.utf8.dropFirst(prefix.count)), wanted = Array(expected.utf8)
        guard given.count == wanted.count else { return false }
        var difference: UInt8 = 0
        for i in given.indices { difference |= given[i] ^ wanted[i] }
        return difference == 0
    }
}
