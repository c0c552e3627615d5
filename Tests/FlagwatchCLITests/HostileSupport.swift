import Foundation
import Testing

#if canImport(Glibc)
import Glibc
import TestSupport
#endif

/// A finished `flagwatch` run: output as raw bytes (hostile input may make them anything), the
/// child's own peak memory and how long it took.
struct MeasuredRun {
    var status: Int32
    var stdout: Data
    var stderr: Data
    /// The child's maximum resident set size, bytes (see `Hostile.run`).
    var peakRSS: Int
    var seconds: Double
    var timedOut: Bool

    var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
    var stderrText: String { String(decoding: stderr, as: UTF8.self) }
    var peakMiB: Double { Double(peakRSS) / 1_048_576 }
}

enum Hostile {
    static let gnuTime = "/usr/bin/time"

    /// Runs the built binary and reaps it with `wait4`; killed after `timeout` seconds.
    /// Standard input is `stdin`, or empty.
    ///
    /// Peak RSS: Linux keeps in a process's `ru_maxrss` the resident set of the memory it
    /// replaced at `exec` — for a child spawned by this test process (vfork), this process's
    /// own tens of MiB. So the binary runs under GNU `time` (Tests/run.sh installs it), a small
    /// process that forks it and reports its `%M`. Without GNU time, `wait4`'s figure is used:
    /// an upper bound, never an underestimate.
    static func run(_ arguments: [String], stdin: URL? = nil, timeout: Double = 60) throws -> MeasuredRun {
        let scratch = try directory()
        defer { try? FileManager.default.removeItem(at: scratch) }
        let out = scratch.appendingPathComponent("out").path, err = scratch.appendingPathComponent("err").path
        let rss = scratch.appendingPathComponent("rss").path
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, stdin?.path ?? "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, out, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, err, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        // A process group of its own, so that a timeout kills GNU time and the binary together.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP))
        posix_spawnattr_setpgroup(&attributes, 0)
        let timed = FileManager.default.isExecutableFile(atPath: gnuTime)
        let command = (timed ? [gnuTime, "-f", "%M", "-o", rss] : []) + [ScanCommandTests.binary] + arguments
        let argv = command.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let started = Date()
        let spawned = posix_spawn(&pid, command[0], &actions, &attributes, argv, environ)
        try #require(spawned == 0, "posix_spawn: \(String(cString: strerror(spawned)))")
        var status: Int32 = 0
        var usage = rusage()
        var timedOut = false
        while true {
            let reaped = wait4(pid, &status, WNOHANG, &usage)
            if reaped == pid { break }
            if reaped < 0 && errno != EINTR { throw POSIXError(.ECHILD) }
            if Date().timeIntervalSince(started) > timeout, !timedOut {
                timedOut = true
                kill(-pid, SIGKILL)
            }
            usleep(5_000)
        }
        // Exited: the code (GNU time exits with the binary's); killed by a signal: 128 + the signal.
        let exitStatus = status & 0x7F == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
        // GNU time writes "%M" (KiB) last, after a line about a non-zero exit.
        let measuredKiB = timed ? (try? String(contentsOfFile: rss, encoding: .utf8))?.split(separator: "\n").last.flatMap { Int($0) } : nil
        return MeasuredRun(status: exitStatus, stdout: try Data(contentsOf: URL(fileURLWithPath: out)),
                           stderr: try Data(contentsOf: URL(fileURLWithPath: err)),
                           peakRSS: (measuredKiB ?? Int(usage.ru_maxrss)) * 1024,
                           seconds: Date().timeIntervalSince(started), timedOut: timedOut)
    }

    static func directory() throws -> URL { try Scratch.directory("hostile") }

    /// What in `data` a terminal would act on, or that could reorder or hide text, described;
    /// empty when it is safe to print. Independent of flagwatch's own rule: C0 controls but
    /// the `allowed` ones, DEL, C1 controls (CSI is U+009B), bidirectional controls, and
    /// invalid UTF-8 (a terminal may read it as C1).
    static func terminalHazards(_ data: Data, allowed: Set<UInt32> = [0x0A]) -> [String] {
        guard let text = String(validating: data, as: UTF8.self) else { return ["invalid UTF-8"] }
        var found: [String] = []
        for scalar in text.unicodeScalars {
            let v = scalar.value
            let hazard = (v < 0x20 && !allowed.contains(v)) || (0x7F...0x9F).contains(v) || (0x202A...0x202E).contains(v)
                || (0x2066...0x2069).contains(v)
            if hazard, found.count < 10 { found.append(String(format: "U+%04X", v)) }
        }
        return found
    }

    /// Runs `python3 -c SCRIPT ARGS…` and returns its standard output; the test fails when
    /// Python does.
    static func python(_ script: String, _ arguments: [String] = [], stdin: Data = Data()) throws -> String {
        let (status, said, complaint) = try tool("/usr/bin/env", ["python3", "-c", script] + arguments, stdin: stdin)
        try #require(status == 0, "python3: \(String(decoding: complaint, as: UTF8.self))")
        return String(decoding: said, as: UTF8.self)
    }

    /// Runs a program with `stdin` as its input: its exit status, standard output and error.
    static func tool(_ path: String, _ arguments: [String], stdin: Data = Data()) throws -> (status: Int32, output: Data, errors: Data) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        let input = Pipe(), output = Pipe(), errors = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        input.fileHandleForWriting.write(stdin)
        try input.fileHandleForWriting.close()
        // Read before waiting: a child that writes more than a pipe holds would block.
        let said = output.fileHandleForReading.readDataToEndOfFile()
        let complaint = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, said, complaint)
    }

    /// A JSON value printed by Python (ASCII-only, as `json.dumps` writes it), read back.
    static func decoded<T>(_ json: String, as: T.Type) throws -> T {
        try #require(try JSONSerialization.jsonObject(with: Data(json.utf8), options: [.fragmentsAllowed]) as? T)
    }
}
