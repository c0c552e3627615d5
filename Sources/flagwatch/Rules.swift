import AlertRules
import ArgumentParser
import Foundation
import RecordCounting

struct Rules: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check a rules file, or print the built-in rules.",
        subcommands: [Check.self, PrintDefaults.self]
    )

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Validate a rules file; errors give line and column.")

        @Argument(help: "The rules file (YAML).")
        var file: String

        func run() throws {
            let rules = try RulesArgument.load(file)
            let receivers = try DeliveryArguments.receivers(webhooks: [], rulesFile: file)
            // Names come from the file: shown by the terminal rule, like diagnostics.
            print(Terminal.sanitized("\(file): \(rules.count) rule\(rules.count == 1 ? "" : "s") OK (\(rules.map(\.name).joined(separator: ", ")))"
                + (receivers.isEmpty ? "" : "; \(receivers.count) receiver\(receivers.count == 1 ? "" : "s") OK (\(receivers.map(\.name).joined(separator: ", ")))")))
        }
    }

    struct PrintDefaults: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "print-defaults", abstract: "Print the built-in rules as YAML.")

        func run() {
            print(RuleFile.render(AlertRule.defaults), terminator: "")
        }
    }
}
