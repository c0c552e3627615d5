import Foundation

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

    @discardableResult
    private func tmux(_ arguments: [String]) -> Int32 { Self.spawn(tmux: ["-L", socket, "-f", "/dev/null"] + arguments, capture: false).status }

    private func output(_ arguments: [String]) -> String {
        String(decoding: Self.spawn(tmux: ["-L", socket, "-f", "/dev/null"] + arguments, capture: true).output, as: UTF8.self)
    }

    /// glibc's posix_spawn_file_actions_addclosefrom_np (2.34), which Swift does not import
    /// without _GNU_SOURCE.
    private static let closeFrom: (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32)? = {
        // Safe: the symbol, when present, has exactly this C signature.
        dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np").map { unsafeBitCast($0, to: (@convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32).self) }
    }()

    /// Runs tmux with posix_spawn and reaps it with waitpid, with every descriptor but 0–2
    /// closed in the child. Foundation's Process is not used: the tmux server that the first
    /// command forks kept descriptors of other tests' pipes open, and Process missed the
    /// client's exit (its zombie stayed, waitUntilExit never returned). The exit status (-1 when
    /// it did not run or did not exit), and standard output with `capture`.
    private static func spawn(tmux arguments: [String], capture: Bool) -> (status: Int32, output: [UInt8]) {
        var ends: [Int32] = [-1, -1]
        if capture {
            guard pipe(&ends) == 0 else { return (-1, []) }
            for end in ends { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        if capture {
            posix_spawn_file_actions_adddup2(&actions, ends[1], 1)
        } else {
            posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        }
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        _ = closeFrom?(&actions, 3)
        let argv = (["tmux"] + arguments).map { strdup($0) } + [nil]
        defer { for arg in argv { free(arg) } }
        var pid: pid_t = 0
        let spawned = posix_spawnp(&pid, "tmux", &actions, nil, argv, environ)
        var output: [UInt8] = []
        if capture {
            close(ends[1])
            var buffer = [UInt8](repeating: 0, count: 65536)
            while true {
                let n = read(ends[0], &buffer, buffer.count)
                if n < 0, errno == EINTR { continue }
                if n <= 0 { break }
                output += buffer[..<n]
            }
            close(ends[0])
        }
        guard spawned == 0 else { return (-1, output) }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            guard errno == EINTR else { return (-1, output) }
        }
        // WIFEXITED / WEXITSTATUS, which Swift does not import.
        return (status & 0x7F == 0 ? (status >> 8) & 0xFF : -1, output)
    }
}

struct TmuxError: Error, CustomStringConvertible { var description: String }
