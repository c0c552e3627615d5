import Foundation
import Testing
import TestSupport

/// A running `flagwatch tail` (or another following command: `top` off a terminal): the built
/// binary in a scratch folder, its output in files.
final class TailProcess {
    let directory: URL
    let process = Process()
    private let out: URL
    private let err: URL
    private var input: Pipe?

    /// Starts `flagwatch tail ARGS` in `directory`; `stdin` gives it a pipe to write to.
    init(_ arguments: [String], in directory: URL, stdin: Bool = false, name: String = "run", command: String = "tail") throws {
        self.directory = directory
        out = directory.appendingPathComponent("\(name).out")
        err = directory.appendingPathComponent("\(name).err")
        for file in [out, err] { FileManager.default.createFile(atPath: file.path, contents: nil) }
        process.executableURL = URL(fileURLWithPath: ScanCommandTests.binary)
        process.arguments = [command] + arguments
        process.currentDirectoryURL = directory
        process.standardOutput = try FileHandle(forWritingTo: out)
        process.standardError = try FileHandle(forWritingTo: err)
        if stdin {
            let pipe = Pipe()
            process.standardInput = pipe
            input = pipe
        } else {
            process.standardInput = FileHandle.nullDevice
        }
        try process.run()
    }

    deinit {
        if process.isRunning { process.terminate() }
    }

    var stdout: String { (try? String(contentsOf: out, encoding: .utf8)) ?? "" }
    var stderr: String { (try? String(contentsOf: err, encoding: .utf8)) ?? "" }

    func write(_ text: String) { input?.fileHandleForWriting.write(Data(text.utf8)) }
    func closeInput() { try? input?.fileHandleForWriting.close() }

    /// Sends a signal; SIGKILL at once, others once the handlers are in place (flagwatch says
    /// what it follows right after installing them).
    func signal(_ number: Int32) {
        if number != SIGKILL { _ = TailFixture.waitFor { self.stderr.contains("flagwatch: following") } }
        kill(process.processIdentifier, number)
    }

    /// Waits for the process to end; false when it is still running after `timeout` seconds.
    @discardableResult
    func waitForExit(timeout: Double = 10) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning, Date() < deadline { usleep(20_000) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            return false
        }
        return true
    }

    /// Stops it as an operator would (SIGTERM) and returns the exit status.
    func stop() -> Int32 {
        signal(SIGTERM)
        waitForExit()
        return process.terminationStatus
    }
}

/// Scratch folders, Istio-format lines and state polling for the scenarios.
enum TailFixture {
    static func directory() throws -> URL { try Scratch.directory("tail") }

    /// A value, so shared across the tests' threads; one ISO8601DateFormatter per line made
    /// the writers of the scenario tests too slow to keep up under a sanitizer.
    static let timestamp = Date.ISO8601FormatStyle(includingFractionalSeconds: true)

    /// An Istio 1.9+ default-format line started now, numbered `n` in its path.
    static func line(_ n: Int, cluster: String = "outbound|8000||httpbin.foo.svc.cluster.local", flags: String = "-",
                     code: Int = 200, at date: Date = Date()) -> String
    {
        return "[\(timestamp.format(date))] \"GET /item/\(n) HTTP/1.1\" \(code) \(flags) via_upstream - \"-\" 0 135 4 4 \"-\" "
            + "\"curl/7.73.0\" \"84961386-6d84-929d-98bd-c5aee93b5c88\" \"httpbin:8000\" \"10.44.1.27:80\" \(cluster) "
            + "10.44.1.23:37652 10.0.45.184:8000 10.44.1.23:46520 - default\n"
    }

    static func lines(_ range: Range<Int>, flags: String = "-") -> String { range.map { line($0, flags: flags) }.joined() }

    static func append(_ text: String, to url: URL) throws {
        if !FileManager.default.fileExists(atPath: url.path) { FileManager.default.createFile(atPath: url.path, contents: nil) }
        let handle = try FileHandle(forWritingTo: url)
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(text.utf8))
        try handle.close()
    }

    /// The counters of the last checkpoint in state directory `state`.
    static func counters(_ state: URL) -> [String: Any] {
        guard let data = try? Data(contentsOf: state.appendingPathComponent("state.json")),
            let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        else { return [:] }
        return object["counters"] as? [String: Any] ?? [:]
    }

    /// Waits until the checkpoint counts `records` records (checkpoints come once a second).
    @discardableResult
    static func waitForRecords(_ records: Int, in state: URL, timeout: Double = 15) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if counters(state)["records"] as? Int == records { return true }
            usleep(50_000)
        }
        return false
    }

    static func waitFor(timeout: Double = 10, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if condition() { return true }
            usleep(50_000)
        }
        return false
    }

    static func report(_ url: URL) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
    }
}
