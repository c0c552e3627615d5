import AlertDelivery
import AlertRules
import ArgumentParser
import FlagMetrics
import Foundation
import LiveTail
import LogFollow
import LogReceivers
import RecordCounting
import ScanReports

struct Tail: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Follow access logs and alert as soon as a rule fires.",
        discussion: """
            PATH may be a file (followed across rename and copytruncate rotation, and waited for if it does not \
            exist yet), a directory (every *.log under it, new ones included), a glob (new matches are picked up), \
            or '-' for standard input. With --otlp-grpc, --otlp-http or --envoy-als it also (or, without paths, only) \
            counts records pushed to it; then no path reads nothing, not standard input.
            Alerts go to standard output, diagnostics to standard error. Checkpoints in the state directory make \
            counts exact across restarts, kill -9 included. SIGINT/SIGTERM stop after a last checkpoint; SIGHUP \
            reloads --rules: its rules and receivers (queued notifications are kept).
            """
    )

    enum AlertStyle: String, ExpressibleByArgument, CaseIterable { case text, json }

    @Argument(help: "Files, directories, globs, or '-' for standard input.")
    var paths: [String] = []

    @OptionGroup var reading: ReadingOptions

    @OptionGroup var following: FollowingOptions

    @OptionGroup(title: "Pushed inputs") var push: PushOptions

    @Option(help: "text (one line per alert, coloured on a terminal) or json (the alert-event JSON lines).")
    var alerts: AlertStyle = .text

    @Option(name: .customLong("state-dir"), help: "Checkpoints and counters (default: a folder per set of paths under $XDG_STATE_HOME/flagwatch, or ~/.local/state/flagwatch).")
    var stateDir: String?

    @Flag(name: .customLong("no-state"), help: "Keep no state: every run starts afresh.")
    var noState = false

    @Flag(name: .customLong("ignore-checkpoints"), help: "Start over: forget saved offsets, counters and alerts.")
    var ignoreCheckpoints = false

    @Option(help: "At exit, write the counters (over every run that used the state directory) as the scan JSON report.")
    var report: String?

    @Option(name: .customLong("stats-interval"), help: "Print counters to standard error every N seconds.")
    var statsInterval: Double?

    @Option(name: .customLong("metrics-listen"), help: ArgumentHelp(
        "Serve /metrics (Prometheus), /healthz and /readyz on HOST:PORT; ':PORT' or 'PORT' binds 127.0.0.1 only.",
        valueName: "address"))
    var metricsListen: String?

    @Option(help: "Also send alerts to this URL as generic JSON webhooks, shaped like Alertmanager's (repeatable). Other receivers: 'receivers:' in the rules file.")
    var webhook: [String] = []

    func validate() throws {
        if let metricsListen, ListenAddress(metricsListen) == nil {
            throw ValidationError("--metrics-listen: '\(metricsListen)' is not HOST:PORT, :PORT or PORT")
        }
        guard !paths.isEmpty || push.isEnabled else {
            throw ValidationError("give at least one path, '-' for standard input, or a pushed input (--otlp-grpc, --otlp-http, --envoy-als)")
        }
        if let statsInterval, statsInterval <= 0 { throw ValidationError("--stats-interval must be positive") }
        if noState, stateDir != nil { throw ValidationError("--no-state and --state-dir exclude each other") }
    }

    func run() throws {
        var options = try following.tailOptions(paths: paths, reading: reading)
        options.ignoreCheckpoints = ignoreCheckpoints
        options.stateDirectory = noState ? nil : stateDir ?? defaultStateDirectory()
        let listen = metricsListen.flatMap(ListenAddress.init)
        if listen != nil { options.snapshotInterval = 1 }
        let inbox = push.isEnabled ? PushInbox(capacityBytes: push.queueBytes) : nil
        options.inbox = inbox

        let diagnostics = StandardError()
        let printer = AlertPrinter(style: alerts)
        let signals = SignalPipe(signals: [SIGINT, SIGTERM, SIGHUP])
        let receivers = try DeliveryArguments.receivers(webhooks: webhook, rulesFile: reading.rules)
        let dispatcher: AlertDispatcher?
        let engine: TailEngine
        do {
            dispatcher = try DeliveryArguments.dispatcher(receivers, rules: options.rules, stateDirectory: options.stateDirectory,
                                                          reloadable: reading.rules != nil, diagnostics: diagnostics)
            engine = try TailEngine(options: options) { output in
                switch output {
                case .alerts(let events):
                    printer.print(events)
                    // The checkpoint that follows records these alerts as sent: they must be in
                    // the spool, on disk, before it is written.
                    if let dispatcher, !dispatcher.submit(events, waitingUpTo: .seconds(2)) {
                        diagnostics.write("flagwatch: alert notifications not yet on disk in the spool after 2 s; a crash now may lose them")
                    }
                case .resumed(let events): dispatcher?.resume(events)
                case .warning(let message): diagnostics.write("flagwatch: \(message)")
                }
            }
        } catch {
            diagnostics.write("flagwatch: error: \(error)")
            throw ExitCode(2)
        }
        // Sends what it can within a few seconds; the rest waits in the spool for the next run.
        defer { dispatcher?.shutdown(deadline: .seconds(5)) }
        var pushReceivers: PushReceivers?
        if let inbox {
            do {
                pushReceivers = try PushReceivers(push.settings(jsonKeys: reading.jsonKeys), inbox: inbox)
            } catch {
                diagnostics.write("flagwatch: error: \(error)")
                throw ExitCode(2)
            }
            for (receiver, address) in pushReceivers!.listening {
                diagnostics.write("flagwatch: \(receiver) receiving on \(address)")
            }
        }
        // Nothing more is taken once the loop ends: what was taken is counted before the last checkpoint.
        defer { pushReceivers?.stop() }
        var server: MetricsServer?
        if let listen {
            do {
                server = try MetricsEndpoint.serve(engine.published, on: listen) { [pushReceivers] in
                    DeliveryArguments.notificationSeries(dispatcher) + PushOptions.series(pushReceivers, inbox: inbox)
                }
            } catch {
                diagnostics.write("flagwatch: error: --metrics-listen \(listen): \(error)")
                throw ExitCode(2)
            }
            diagnostics.write("flagwatch: metrics on http://\(listen.host.contains(":") ? "[\(listen.host)]" : listen.host):\(server!.port)/metrics")
        }
        defer { server?.close() }
        diagnostics.write("flagwatch: following \(paths.isEmpty ? "no paths" : paths.joined(separator: " ")); "
            + (options.stateDirectory.map { "state in \($0)" } ?? "no state kept"))

        var nextStats = statsInterval.map { Date().timeIntervalSince1970 + $0 }
        engine.run(wake: signals.readDescriptor) {
            var stop = false
            for signal in signals.take() {
                if signal == SIGHUP {
                    reload(engine, dispatcher, diagnostics)
                } else {
                    stop = true
                }
            }
            // Senders are answered no more once stopping; what they sent is counted by `stop`.
            if stop { pushReceivers?.stop() }
            if let due = nextStats, let statsInterval, Date().timeIntervalSince1970 >= due {
                diagnostics.write(StatsLine.render(engine.statistics))
                nextStats = due + statsInterval
            }
            return !stop
        }
        if let report {
            let text = JSONReport(engine.summary(), gzipDecoder: "none").rendered()
            do {
                try ReportFile.write(text, to: report)
            } catch {
                diagnostics.write("flagwatch: error: cannot write \(report): \(error.localizedDescription)")
                throw ExitCode(2)
            }
        }
    }

    /// SIGHUP: the rules file's rules and receivers, both or neither (a file that does not
    /// parse changes nothing).
    private func reload(_ engine: TailEngine, _ dispatcher: AlertDispatcher?, _ diagnostics: StandardError) {
        guard let path = reading.rules else {
            diagnostics.write("flagwatch: SIGHUP: no --rules file to reload; keeping the built-in rules")
            return
        }
        do {
            let rules = try RulesArgument.load(path)
            let receivers = try DeliveryArguments.receivers(webhooks: webhook, rulesFile: path)
            try dispatcher?.reload(receivers: receivers, rules: rules)
            engine.replaceRules(rules)
            diagnostics.write("flagwatch: reloaded \(path): \(rules.count) rule\(rules.count == 1 ? "" : "s"), "
                + "\(receivers.count) receiver\(receivers.count == 1 ? "" : "s")")
        } catch {
            diagnostics.write("flagwatch: SIGHUP: keeping the current rules and receivers: \(error)")
        }
    }

    /// One folder per set of followed paths, so two `tail`s over different logs never share
    /// offsets. Standard input alone has nothing to checkpoint.
    private func defaultStateDirectory() -> String? {
        guard paths != ["-"] else { return nil }
        let environment = ProcessInfo.processInfo.environment
        let base = environment["XDG_STATE_HOME"].map { $0 + "/flagwatch" }
            ?? (environment["HOME"] ?? NSHomeDirectory()) + "/.local/state/flagwatch"
        let pushed = [("otlp-grpc", push.otlpGRPC), ("otlp-http", push.otlpHTTP), ("envoy-als", push.envoyALS)].compactMap { name, address in
            address.map { "\(name)=\($0)" }
        }
        let absolute = paths.map { $0.hasPrefix("/") || $0 == "-" ? $0 : FileManager.default.currentDirectoryPath + "/" + $0 }.sorted() + pushed
        return base + "/tail-" + AlertEvent.fingerprint(Dictionary(uniqueKeysWithValues: absolute.enumerated().map { ("\($0.offset)", $0.element) }))
    }
}

/// `--alerts text|json` on standard output, one line per event, flushed at once.
struct AlertPrinter {
    let style: Tail.AlertStyle
    let colour = isatty(STDOUT_FILENO) == 1 && ProcessInfo.processInfo.environment["NO_COLOR"] == nil

    func print(_ events: [AlertEvent]) {
        var text = ""
        for event in events {
            text += (style == .json ? Terminal.escapingJSON(event.jsonLine) : line(event)) + "\n"
        }
        FileHandle.standardOutput.write(Data(text.utf8))
    }

    /// `2026-11-25T23:40:01Z FIRING UpstreamConnectionFailure cluster=… UF 23/120 (19.2%) in 60s: summary`
    func line(_ event: AlertEvent) -> String {
        let firing = event.status == .firing
        let status = firing ? "FIRING  " : "RESOLVED"
        let painted = colour ? (firing ? "\u{1B}[1;31m\(status)\u{1B}[0m" : "\u{1B}[32m\(status)\u{1B}[0m") : status
        let time = RFC3339.string(micros: firing ? event.startsAt : event.endsAt ?? event.startsAt)
        let percent = Percent.string(event.ratio)
        // The cluster and the summary (which quotes it) come from the log; names from the rules file.
        var text = "\(time) \(painted) \(Terminal.sanitized(event.rule)) cluster=\(Terminal.sanitized(event.cluster)) \(event.flags.joined(separator: ",")) "
            + "\(event.count)/\(event.requests) (\(percent)) in \(event.window)s"
        if let summary = event.annotations["summary"] { text += ": " + Terminal.sanitized(summary) }
        return text
    }
}

/// `--stats-interval`: one line of counters.
enum StatsLine {
    static func render(_ statistics: LiveStatistics) -> String {
        let counters = statistics.counters
        let behind = statistics.inputs.reduce(0) { $0 + $1.bytesBehind }
        return "flagwatch: stats lines=\(counters.lines) records=\(counters.records) malformed=\(counters.malformed) "
            + "bytes=\(counters.bytes) late=\(counters.late) rotations=\(counters.rotations) truncations=\(counters.truncations) "
            + "files=\(statistics.inputs.count) bytes-behind=\(behind) alerts-fired=\(counters.alertsFired)"
    }
}
