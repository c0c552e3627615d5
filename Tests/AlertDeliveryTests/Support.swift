import AccessLogFormat
import AlertDelivery
import AlertRules
import FailureCauses
import Foundation
import Logging
import Synchronization
import Testing
import TestSupport

/// `Support/receiver.py`, a recording HTTP receiver on 127.0.0.1 that fails on demand.
final class TestReceiver {
    struct Request: Decodable {
        var time: Double
        var path: String
        var headers: [String: String]
        var body: String
        var answer: String
        var signatureOK: Bool?

        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any] ?? [:] }
        var alerts: [[String: Any]] { json["alerts"] as? [[String: Any]] ?? [] }
    }

    static let script = Repository.url("Tests/AlertDeliveryTests/Support/receiver.py").path

    let process = Process()
    let port: Int
    let log: String
    let scheme: String

    /// Starts the receiver; `port` 0 takes a free one.
    init(in directory: TemporaryDirectory, port: Int = 0, script: [String] = [], tls: TestCertificates? = nil, hmacSecret: String? = nil) throws {
        let id = UUID().uuidString.prefix(8)
        log = directory.path + "/requests-\(id).jsonl"
        let portFile = directory.path + "/port-\(id)"
        var arguments = [TestReceiver.script, "--log", log, "--port-file", portFile, "--port", String(port), "--lifetime", "240"]
        if !script.isEmpty { arguments += ["--script", script.joined(separator: ",")] }
        if let tls { arguments += ["--cert", tls.serverCertificate, "--key", tls.serverKey] }
        if let hmacSecret { arguments += ["--hmac-secret", hmacSecret] }
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3"] + arguments
        try process.run()
        let start = ContinuousClock.now
        while !FileManager.default.fileExists(atPath: portFile) {
            guard process.isRunning, ContinuousClock.now - start < .seconds(10) else { throw TestFailure("receiver.py did not start") }
            Thread.sleep(forTimeInterval: 0.02)
        }
        self.port = Int(try String(contentsOfFile: portFile, encoding: .utf8))!
        scheme = tls == nil ? "http" : "https"
    }

    deinit { stop() }

    var url: String { "\(scheme)://127.0.0.1:\(port)/hook" }

    var requests: [Request] {
        guard let text = try? String(contentsOfFile: log, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { try? JSONDecoder().decode(Request.self, from: Data($0.utf8)) }
    }

    func stop() { stopProcess(process) }
}

/// SIGKILL, because a child started from one of Dispatch's threads inherits its blocked
/// signals, SIGTERM among them.
func stopProcess(_ process: Process) {
    guard process.isRunning else { return }
    kill(process.processIdentifier, SIGKILL)
    process.waitUntilExit()
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

extension TemporaryDirectory {
    /// The spool's files under `relative`.
    func files(under relative: String) -> [String] {
        (FileManager.default.enumerator(atPath: path + "/" + relative)?.allObjects as? [String] ?? []).filter { $0.hasSuffix(".json") }
    }
}

/// A CA and a server certificate for 127.0.0.1 signed by it, made with openssl.
struct TestCertificates {
    let ca: String
    let serverCertificate: String
    let serverKey: String

    init(in directory: TemporaryDirectory) throws {
        let d = directory.path
        ca = d + "/ca.pem"
        serverCertificate = d + "/server.pem"
        serverKey = d + "/server.key"
        try "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n".write(toFile: d + "/ext.cnf", atomically: true, encoding: .utf8)
        for arguments in [
            ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", d + "/ca.key", "-out", ca,
             "-days", "2", "-subj", "/CN=flagwatch test CA", "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign"],
            ["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", serverKey, "-out", d + "/server.csr", "-subj", "/CN=127.0.0.1"],
            ["x509", "-req", "-in", d + "/server.csr", "-CA", ca, "-CAkey", d + "/ca.key", "-CAcreateserial", "-out", serverCertificate,
             "-days", "2", "-extfile", d + "/ext.cnf"],
        ] {
            try run(["openssl"] + arguments)
        }
    }
}

/// Runs a program to its end; throws if it failed.
@discardableResult
func run(_ arguments: [String]) throws -> String {
    let process = Process()
    let output = Pipe()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = arguments
    process.standardOutput = output
    process.standardError = output
    try process.run()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    let text = String(decoding: data, as: UTF8.self)
    guard process.terminationStatus == 0 else { throw TestFailure("\(arguments.joined(separator: " ")) failed: \(text)") }
    return text
}

/// Polls `condition` every 20 ms until it holds or `timeout` passes; returns whether it held.
func eventually(within timeout: Swift.Duration = .seconds(10), _ condition: () -> Bool) async -> Bool {
    let start = ContinuousClock.now
    while ContinuousClock.now - start < timeout {
        if condition() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return condition()
}

/// A free TCP port on 127.0.0.1 at this moment (for a receiver started later).
func freePort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let ok = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
    }
    guard ok else { throw TestFailure("no free port") }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// Every log line, for tests that check what was logged (and that secrets were not).
final class LogCapture: Sendable {
    private let lines = Mutex<[String]>([])

    var logger: Logger {
        Logger(label: "flagwatch.delivery.test") { _ in Handler(capture: self) }
    }

    var text: String { lines.withLock { $0.joined(separator: "\n") } }

    struct Handler: LogHandler {
        let capture: LogCapture
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .debug

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let line = "\(event.level) \(event.message) \(event.metadata ?? [:])"
            capture.lines.withLock { $0.append(line) }
        }
    }
}

/// Alert events as the rules engine makes them: a UF rule, its alerts attributed to a refused connection.
enum Events {
    static func rule(_ name: String = "UpstreamConnectionFailure", severity: String = "warning", repeatInterval: Int = 3600) -> AlertRule {
        var rule = AlertRule(name: name, flags: ResponseFlags(.UF))
        rule.annotations = AlertRule.defaults[0].annotations
        rule.exclude = AlertRule.defaults[0].exclude
        rule.severity = severity
        rule.repeatInterval = repeatInterval
        return rule
    }

    static func firing(_ rule: AlertRule = rule(), cluster: String = "outbound|9080||reviews.default.svc.cluster.local", at seconds: Int64 = 1_767_225_600) -> AlertEvent {
        var event = AlertEvent(status: .firing, rule: rule, cluster: cluster, count: 42, requests: 336, startsAt: seconds * 1_000_000, endsAt: nil)
        event.attribute(.connectionRefused)
        return event
    }

    static func resolved(_ rule: AlertRule = rule(), cluster: String = "outbound|9080||reviews.default.svc.cluster.local", at seconds: Int64 = 1_767_225_600) -> AlertEvent {
        var event = AlertEvent(status: .resolved, rule: rule, cluster: cluster, count: 42, requests: 336, startsAt: seconds * 1_000_000,
                               endsAt: (seconds + 120) * 1_000_000)
        event.attribute(.connectionRefused)
        return event
    }
}

extension ReceiverConfig {
    /// A webhook with test timings: quick backoff, short timeouts.
    static func quickWebhook(_ url: String, name: String = "hook") -> ReceiverConfig {
        var receiver = try! ReceiverConfig(webhook: url, name: name)
        receiver.retry.initialBackoff = .milliseconds(50)
        receiver.retry.maxBackoff = .milliseconds(400)
        receiver.timeout = .seconds(2)
        receiver.connectTimeout = .seconds(1)
        return receiver
    }
}

/// A delivery test's scratch folder and log capture, and dispatchers spooling under it.
protocol DeliveryTestSuite {
    var directory: TemporaryDirectory { get }
    var logs: LogCapture { get }
}

extension DeliveryTestSuite {
    func dispatcher(_ receivers: [ReceiverConfig], rules: [AlertRule] = [Events.rule()]) throws -> AlertDispatcher {
        try AlertDispatcher(receivers: receivers, rules: rules, stateDirectory: directory.path + "/state", logger: logs.logger)
    }
}
