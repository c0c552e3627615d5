import AlertDelivery
import AlertRules
import Foundation
import Testing
import TestSupport

/// HTTPS to `Support/receiver.py` with a certificate from a CA made here by openssl.
struct TLSDeliveryTests {
    let directory: TemporaryDirectory
    let certificates: TestCertificates
    let logs = LogCapture()

    init() throws {
        directory = try TemporaryDirectory()
        certificates = try TestCertificates(in: directory)
    }

    func deliver(_ tls: TLSOptions, to server: TestReceiver) async throws -> ReceiverStatistics {
        var receiver = ReceiverConfig.quickWebhook(server.url)
        receiver.tls = tls
        let dispatcher = try AlertDispatcher(receivers: [receiver], rules: [], stateDirectory: directory.path + "/state-\(UUID())", logger: logs.logger)
        dispatcher.submit(Events.firing())
        _ = await eventually(within: .seconds(5)) { dispatcher.statistics[0].sent == 1 || dispatcher.statistics[0].networkErrors >= 2 }
        dispatcher.shutdown(deadline: .milliseconds(100))
        return dispatcher.statistics[0]
    }

    @Test func theConfiguredCAIsTrusted() async throws {
        let server = try TestReceiver(in: directory, tls: certificates)
        #expect(server.url.hasPrefix("https://127.0.0.1:"))
        let stats = try await deliver(TLSOptions(caFile: certificates.ca), to: server)
        #expect(stats.sent == 1)
        #expect(server.requests.count == 1)
    }

    @Test func anUnknownCAIsRefusedByDefault() async throws {
        let server = try TestReceiver(in: directory, tls: certificates)
        let stats = try await deliver(TLSOptions(), to: server)
        #expect(stats.sent == 0 && stats.networkErrors >= 2)
        #expect(server.requests.isEmpty, "nothing may be sent over an unverified connection")
        #expect(logs.text.lowercased().contains("certificate"), "\(logs.text)")
    }

    @Test func insecureSkipVerifyIsExplicitAndWarnedAbout() async throws {
        let server = try TestReceiver(in: directory, tls: certificates)
        let stats = try await deliver(TLSOptions(insecureSkipVerify: true), to: server)
        #expect(stats.sent == 1)
        #expect(logs.text.contains("TLS certificates are NOT verified"))
    }

    /// Python's `http.server` behind `ssl`, answering 200 with no Content-Length and closing
    /// without close_notify: the body's end is an error, the status line said delivered.
    @Test func aStatusLineIsTheOutcomeWhateverEndsTheBody() async throws {
        let server = try TestReceiver(in: directory, script: ["200eof", "200eof"], tls: certificates)
        let stats = try await deliver(TLSOptions(caFile: certificates.ca), to: server)
        #expect(stats.sent == 1 && stats.retried == 0, "\(stats)")
        // The retry of a taken-as-failed attempt would come within the test backoff (50 ms).
        try await Task.sleep(for: .milliseconds(600))
        #expect(server.requests.count == 1)
    }

    @Test func anUnreadableCAFileIsAnErrorAtStart() throws {
        var receiver = ReceiverConfig.quickWebhook("https://127.0.0.1:1/", name: "bad")
        receiver.tls = TLSOptions(caFile: directory.path + "/missing.pem")
        // A good receiver before it: nothing of it may be left running.
        #expect(throws: ReceiverConfigError.self) {
            try AlertDispatcher(receivers: [.quickWebhook("https://127.0.0.1:1/"), receiver], rules: [], stateDirectory: directory.path + "/state", logger: logs.logger)
        }
    }
}
