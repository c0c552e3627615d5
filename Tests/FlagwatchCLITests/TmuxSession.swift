import Foundation
import TestSupport

/// A tmux server of its own (one socket per test) running one command in a pane of a fixed
/// size, as an operator's terminal: keys sent, the screen captured. Killed at the end.
final class TmuxSession {
    let socket = "flagwatch-top-\(UUID().uuidString.prefix(8))"
    let name = "top-\(UUID().uuidString.prefix(8))"

    /// Runs `sh SCRIPT` in `directory`.
    init(script: URL, in directory: URL, columns: Int = 160, rows: Int = 40) throws {
        let status = tmux(["new-session", "-d", "-s", name, "-x", "\(columns)", "-y", "\(rows)", "-c", directory.path, "sh " + script.path])
        guard status == 0 else { throw TmuxError(description: "tmux new-session failed (\(status))") }
    }

    deinit { _ = tmux(["kill-server"]) }

    /// The visible screen of the pane (the alternate screen while a full-screen program has it).
    func capture() -> String { output(["capture-pane", "-p", "-t", name]) }

    func lines() -> [String] { capture().components(separatedBy: "\n") }

    /// A tmux format of the pane: `#{alternate_on}`, `#{cursor_flag}`…
    func display(_ format: String) -> String {
        output(["display-message", "-p", "-t", name, format]).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Keys as tmux names them (`Enter`, `Escape`, `Down`) or literal text with `literal`.
    func send(_ keys: String..., literal: Bool = false) {
        _ = tmux(["send-keys", "-t", name] + (literal ? ["-l"] : []) + keys)
    }

    func resize(columns: Int, rows: Int) {
        _ = tmux(["resize-window", "-t", name, "-x", "\(columns)", "-y", "\(rows)"])
    }

    /// Captures until `condition` holds or `timeout` seconds pass; the last capture's lines,
    /// and whether it held.
    @discardableResult
    func waitFor(timeout: Double = 10, _ condition: ([String]) -> Bool) -> (lines: [String], met: Bool) {
        let deadline = Date().addingTimeInterval(timeout)
        var lines = self.lines()
        while !condition(lines) {
            guard Date() < deadline else { return (lines, false) }
            usleep(20_000)
            lines = self.lines()
        }
        return (lines, true)
    }

    /// Whether `condition` came to hold within `timeout` seconds.
    func until(timeout: Double = 10, _ condition: ([String]) -> Bool) -> Bool { waitFor(timeout: timeout, condition).met }

    /// Through `ChildProcess`: the tmux server the first command forks must not keep other
    /// tests' pipes open, and the client's exit must be seen.
    @discardableResult
    private func tmux(_ arguments: [String]) -> Int32 { (try? run(arguments).status) ?? -1 }

    private func output(_ arguments: [String]) -> String { (try? run(arguments)).map { String(decoding: $0.stdout, as: UTF8.self) } ?? "" }

    private func run(_ arguments: [String]) throws -> ChildProcess.Result {
        try ChildProcess.run(["tmux", "-L", socket, "-f", "/dev/null"] + arguments)
    }
}

struct TmuxError: Error, CustomStringConvertible { var description: String }
