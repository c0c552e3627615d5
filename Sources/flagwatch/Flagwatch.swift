import ArgumentParser

@main
struct Flagwatch: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "flagwatch",
        abstract: "Spot failing upstreams in Envoy and Istio access logs, from their response flags.",
        subcommands: [Scan.self, Tail.self, Rules.self]
    )
}
