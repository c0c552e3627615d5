import ArgumentParser
import FlagMetrics
import Foundation

@main
struct Flagwatch: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "flagwatch",
        abstract: "Spot failing upstreams in Envoy and Istio access logs, from their response flags.",
        discussion: """
            Shell completions: flagwatch --generate-completion-script bash|zsh|fish. A man page: \
            swift package plugin generate-manual (see the README).
            """,
        version: MetricsEndpoint.version,
        subcommands: [Scan.self, Tail.self, Top.self, Rules.self, Explain.self]
    )

    /// ArgumentParser's `main`, except that error messages go out through `StandardError`:
    /// they can quote a rules file, a format string or a path, which are shown by the
    /// terminal rule like every other diagnostic.
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            let code = exitCode(for: error)
            // Help and clean exits print as ArgumentParser prints them.
            guard code != .success else { exit(withError: error) }
            let message = fullMessage(for: error)
            if !message.isEmpty { StandardError().write(message, keepingLineBreaks: true) }
            Foundation.exit(code.rawValue)
        }
    }
}
