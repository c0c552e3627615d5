#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// A program run to its end with posix_spawn and reaped with waitpid: standard input from
/// bytes (through a file, so that no pipe can fill), standard output captured, standard error
/// to a file, every other descriptor closed and the signals reset in the child. For programs
/// that fork daemons (tmux), where Foundation's `Process` missed the client's exit (its zombie
/// stayed, `waitUntilExit` never returned) and the daemon kept other tests' pipes open.
public enum ChildProcess {
    public struct Result: Sendable {
        /// The exit status; -1 when the program could not run or was killed by a signal.
        public var status: Int32
        public var stdout: Data
        public var stderr: Data
    }

    /// Runs `arguments[0]` (looked up on PATH) with the rest as its arguments.
    public static func run(_ arguments: [String], stdin: Data = Data(), environment: [String: String]? = nil) throws -> Result {
        let scratch = try Scratch.directory("child")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let input = scratch.appendingPathComponent("stdin"), errors = scratch.appendingPathComponent("stderr")
        try stdin.write(to: input)
        var ends: [Int32] = [-1, -1]
        guard pipe(&ends) == 0 else { throw POSIXError(.EMFILE) }
        // The parent's ends must not leak into programs other threads start meanwhile.
        for end in ends { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, input.path, O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, ends[1], 1)
        posix_spawn_file_actions_addopen(&actions, 2, errors.path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        _ = closeFrom?(&actions, 3)
        let argv = arguments.map { strdup($0) } + [nil]
        let variables = environment.map { $0.map { strdup("\($0.key)=\($0.value)") } + [nil] }
        defer {
            for argument in argv { free(argument) }
            for variable in variables ?? [] { free(variable) }
        }
        // The child starts with no signal blocked and every signal at its default: a test
        // thread's mask (libdispatch's workers block most signals) must not be inherited, or a
        // daemon such as the tmux server never sees SIGCHLD and cannot exit.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t(), all = sigset_t()
        sigemptyset(&none)
        sigfillset(&all)
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setsigdefault(&attributes, &all)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var pid: pid_t = 0
        let spawned = variables.map { posix_spawnp(&pid, arguments[0], &actions, &attributes, argv, $0) }
            ?? posix_spawnp(&pid, arguments[0], &actions, &attributes, argv, environ)
        close(ends[1])
        var output = Data()
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = read(ends[0], &buffer, buffer.count)
            if n < 0, errno == EINTR { continue }
            if n <= 0 { break }
            output.append(contentsOf: buffer[..<n])
        }
        close(ends[0])
        guard spawned == 0 else { throw POSIXError(POSIXErrorCode(rawValue: spawned) ?? .ENOENT) }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            guard errno == EINTR else { throw POSIXError(.ECHILD) }
        }
        // WIFEXITED and WEXITSTATUS, which Swift does not import.
        let exit = status & 0x7F == 0 ? (status >> 8) & 0xFF : -1
        return Result(status: exit, stdout: output, stderr: (try? Data(contentsOf: errors)) ?? Data())
    }

    /// glibc's posix_spawn_file_actions_addclosefrom_np (2.34), which Swift does not import
    /// without _GNU_SOURCE.
    private typealias AddCloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
    private static let closeFrom: AddCloseFrom? = {
        // Safe: the symbol, when glibc has it, has exactly this C signature.
        dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np").map { unsafeBitCast($0, to: AddCloseFrom.self) }
    }()
}
