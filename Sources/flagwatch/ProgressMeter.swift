import Foundation
import LogScan

/// A progress line on standard error (bytes, MB/s), redrawn a few times a second while a
/// scan runs; only used when standard error is a terminal.
final class ProgressMeter: @unchecked Sendable {
    private let progress: ScanProgress
    private let started = Date()
    private let done = NSCondition()
    private var stopped = false
    private var thread: Thread?

    init(progress: ScanProgress) {
        self.progress = progress
        let thread = Thread { [unowned self] in self.loop() }
        self.thread = thread
        thread.start()
    }

    private func loop() {
        done.lock()
        while !stopped {
            _ = done.wait(until: Date().addingTimeInterval(0.25))
            if stopped { break }
            let bytes = Double(progress.bytesScanned)
            let seconds = max(Date().timeIntervalSince(started), 0.001)
            let rate = bytes / seconds
            var line = String(format: "\r\u{1B}[K%.1f MB  %.0f MB/s  %.1fs", bytes / 1e6, rate / 1e6, seconds)
            let total = Double(progress.totalBytes)
            if total > 0, rate > 0 { line += String(format: "  ETA %.0fs", max(0, total - bytes) / rate) }
            FileHandle.standardError.write(Data(line.utf8))
        }
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
        done.unlock()
    }

    func stop() {
        done.lock()
        stopped = true
        done.signal()
        done.unlock()
        while thread?.isFinished == false { usleep(1000) }
    }
}
