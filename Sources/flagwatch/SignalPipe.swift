import Foundation

/// The write end of the pipe signal handlers report to (a handler can only reach globals).
nonisolated(unsafe) private var signalPipeWriteEnd: Int32 = -1

/// Turns signals into bytes on a pipe, so the follow loop wakes from `poll` and handles them
/// on its own thread, outside the handler.
final class SignalPipe: Sendable {
    let readDescriptor: Int32

    init(signals: [Int32]) {
        var ends: [Int32] = [-1, -1]
        precondition(pipe(&ends) == 0, "pipe failed")
        for end in ends {
            _ = fcntl(end, F_SETFL, O_NONBLOCK)
            _ = fcntl(end, F_SETFD, FD_CLOEXEC)
        }
        readDescriptor = ends[0]
        signalPipeWriteEnd = ends[1]
        for signal in signals {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { number in
                var byte = UInt8(truncatingIfNeeded: number)
                _ = write(signalPipeWriteEnd, &byte, 1)
            }
            action.sa_flags = SA_RESTART
            sigaction(signal, &action, nil)
        }
        // A parent may have started us with these blocked (test runners, some supervisors).
        var set = sigset_t()
        sigemptyset(&set)
        for signal in signals { sigaddset(&set, signal) }
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
    }

    /// Reports `signal` as if it had been received: another thread asking the loop to stop.
    func post(_ signal: Int32) {
        var byte = UInt8(truncatingIfNeeded: signal)
        _ = write(signalPipeWriteEnd, &byte, 1)
    }

    /// Signals received since the last call, in order.
    func take() -> [Int32] {
        var bytes = [UInt8](repeating: 0, count: 64)
        var signals: [Int32] = []
        while true {
            let n = read(readDescriptor, &bytes, bytes.count)
            guard n > 0 else { return signals }
            signals += bytes[..<n].map(Int32.init)
        }
    }
}
