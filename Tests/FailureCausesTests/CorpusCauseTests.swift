import AccessLogFormat
import FailureCauses
import Foundation
import Testing

/// Every line of the corpus with a response flag gets the cause a person reading it gives,
/// written down by hand in `Fixtures/expected-causes.tsv`.
@Suite struct CorpusCauseTests {
    struct Expected: Hashable { var file: String; var line: Int }

    static func expectedCauses() throws -> [Expected: String] {
        let text = try String(contentsOf: Fixtures.root.appendingPathComponent("expected-causes.tsv"), encoding: .utf8)
        var expected: [Expected: String] = [:]
        for row in text.split(separator: "\n") where !row.hasPrefix("#") {
            let columns = row.split(separator: "\t", omittingEmptySubsequences: false)
            guard columns.count == 4, let line = Int(columns[1]), !columns[3].isEmpty else {
                Issue.record("malformed row: \(row)")
                continue
            }
            expected[Expected(file: String(columns[0]), line: line)] = String(columns[2])
        }
        return expected
    }

    @Test func everyFailedRecordGetsTheHandDerivedCause() throws {
        var expected = try CorpusCauseTests.expectedCauses()
        var failed = 0
        for folder in ["corpus/text", "corpus/prefixed", "corpus/json", "envoy-1.40"] {
            for file in try Fixtures.files(in: folder) {
                let reader = CauseReader()
                let lines = try Fixtures.lines(file)
                reader.chooseFormat(from: lines)
                let name = file.hasPrefix("corpus/") ? String(file.dropFirst("corpus/".count)) : file
                for (index, line) in lines.enumerated() {
                    guard case .some(.some(let cause)) = reader.cause(of: line) else { continue }
                    failed += 1
                    let key = Expected(file: name, line: index + 1)
                    guard let want = expected.removeValue(forKey: key) else {
                        Issue.record("\(name):\(index + 1) has a flag (cause \(cause.name)) but no row in expected-causes.tsv")
                        continue
                    }
                    #expect(cause.name == want, "\(name):\(index + 1)")
                }
            }
        }
        #expect(expected.isEmpty, "rows whose line has no flag or does not parse: \(expected.keys.map { "\($0.file):\($0.line)" }.sorted())")
        #expect(failed >= 80)
    }

    @Test func causeNamesAreTheFixedSet() {
        let required = ["connection-refused", "connect-timeout", "network-unreachable", "tls-mismatch", "certificate-expired",
                        "certificate-verify-failed", "client-certificate-required", "tls-secret-missing", "tls-handshake-failed",
                        "no-healthy-upstream", "no-route", "cluster-not-found", "circuit-open", "upstream-timeout", "upstream-reset",
                        "protocol-error", "retries-exhausted", "rate-limited", "authz-denied", "egress-blocked", "dns-failure",
                        "load-shed", "fault-injected", "downstream-disconnect", "unknown"]
        let names = FailureCause.allCases.map(\.name)
        for name in required { #expect(names.contains(name), "\(name)") }
        #expect(Set(names).count == names.count)
        for cause in FailureCause.allCases { #expect(FailureCause(name: cause.name) == cause) }
    }

    /// Each cause has its section in the DocC article, with the evidence rule and what to check.
    @Test func everyCauseIsDocumented() throws {
        let article = try String(contentsOf: Fixtures.root.deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Sources/FailureCauses/Documentation.docc/Causes.md"), encoding: .utf8)
        for cause in FailureCause.allCases {
            guard let range = article.range(of: "### `\(cause.name)`") else {
                Issue.record("no section for \(cause.name)")
                continue
            }
            let body = article[range.upperBound...].components(separatedBy: "\n### ").first ?? ""
            #expect(body.contains("Evidence:") && body.contains("Check:"), "\(cause.name)")
        }
    }
}
