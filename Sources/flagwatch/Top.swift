import ArgumentParser
import Foundation
import LiveTail
import LiveView
import RecordCounting

struct Top: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "A live full-screen view of the keys that fail now.",
        discussion: """
            Reads PATH as 'tail' does (the same engine and counts; no state is kept) and shows per key, over \
            --window seconds: requests/s, failure ratio, flags, cause, the failures of the last seconds, and the \
            rules' alerts. Keys: s sort, / filter, arrows or j k select, Enter detail, q quit. \
            Off a terminal it prints a compact table every --interval seconds instead. NO_COLOR turns colour off.
            """
    )

    @Argument(help: "Files, directories, globs, or '-' for standard input.")
    var paths: [String]

    @OptionGroup var reading: ReadingOptions

    @OptionGroup var following: FollowingOptions

    @Option(help: "Seconds the counts cover (1 to 180).")
    var window = 60

    @Option(help: "Off a terminal: seconds between tables.")
    var interval = 2.0

    @Option(help: "Sort by failure ratio or by request rate (s switches on screen).")
    var sort = ViewState.Sort.ratio

    /// Seconds of the per-second series the detail view draws.
    static let seriesSeconds = 180
    /// Seconds between snapshots on screen: the view redraws on each one.
    static let screenSnapshotInterval = 0.2

    func validate() throws {
        guard !paths.isEmpty else { throw ValidationError("give at least one path, or '-' for standard input") }
        guard (1...Self.seriesSeconds).contains(window) else { throw ValidationError("--window must be in 1…\(Self.seriesSeconds) seconds") }
        guard interval > 0 else { throw ValidationError("--interval must be positive") }
    }

    func run() throws {
        var options = try following.tailOptions(paths: paths, reading: reading)
        options.activity = TailOptions.ActivityRequest(window: window, seconds: Self.seriesSeconds)
        let interactive = isatty(STDOUT_FILENO) == 1
        options.snapshotInterval = interactive ? Self.screenSnapshotInterval : interval
        let diagnostics = StandardError()
        let warnings = Warnings()
        let engine: TailEngine
        do {
            engine = try TailEngine(options: options) { output in
                if case .warning(let message) = output { warnings.add("flagwatch: \(message)") }
            }
        } catch {
            diagnostics.write("flagwatch: error: \(error)")
            throw ExitCode(2)
        }
        let signals = SignalPipe(signals: [SIGINT, SIGTERM, SIGWINCH])
        if interactive {
            runScreen(engine, signals, warnings)
        } else {
            runTables(engine, signals, warnings, diagnostics)
        }
        for warning in warnings.taken() { diagnostics.write(warning) }
    }

    /// The full-screen view; the engine runs on this thread, the view on its own.
    private func runScreen(_ engine: TailEngine, _ signals: SignalPipe, _ warnings: Warnings) {
        // Keys come from the terminal itself, so that standard input can be the log.
        let keys = open("/dev/tty", O_RDONLY | O_CLOEXEC)
        let colour = Style.allowsColour(environment: ProcessInfo.processInfo.environment)
        let screen = LiveScreen(board: engine.published, keys: keys, output: STDOUT_FILENO, style: Style(colour: colour),
                                sort: sort) { signals.post(SIGTERM) }
        screen.start()
        var drawn = 0.0
        engine.run(wake: signals.readDescriptor) {
            var stop = false
            for signal in signals.take() {
                if signal == SIGWINCH { screen.wake() } else { stop = true }
            }
            if let taken = engine.published.latest.withLock({ $0?.takenAt }), taken != drawn {
                drawn = taken
                screen.wake()
            }
            if let fresh = warnings.takeFresh() { screen.note(fresh) }
            return !stop
        }
        screen.stop()
        if keys >= 0 { close(keys) }
    }

    /// Off a terminal: a table per snapshot, one snapshot per --interval.
    private func runTables(_ engine: TailEngine, _ signals: SignalPipe, _ warnings: Warnings, _ diagnostics: StandardError) {
        var printed = 0.0
        engine.run(wake: signals.readDescriptor) {
            let stop = signals.take().contains { $0 != SIGWINCH }
            for warning in warnings.taken() { diagnostics.write(warning) }
            if let snapshot = engine.published.latest.withLock({ $0 }), snapshot.takenAt != printed {
                printed = snapshot.takenAt
                FileHandle.standardOutput.write(Data(CompactTable.render(snapshot, sort: sort).utf8))
            }
            return !stop
        }
    }
}

extension ViewState.Sort: ExpressibleByArgument {}

/// The engine's warnings, kept while the screen is up (standard error is the same terminal)
/// and written once it is given back; the latest is shown on screen.
final class Warnings {
    private var kept: [String] = []
    private var fresh: String?
    private static let limit = 100

    func add(_ warning: String) {
        fresh = warning
        if kept.count < Self.limit { kept.append(warning) }
    }

    /// The latest warning, once: nil until another comes.
    func takeFresh() -> String? {
        defer { fresh = nil }
        return fresh
    }

    func taken() -> [String] {
        defer { kept.removeAll() }
        return kept
    }
}
