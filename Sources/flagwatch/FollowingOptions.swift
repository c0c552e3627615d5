import ArgumentParser
import LiveTail
import LogFollow

/// Options `tail` and `top` share: where to start a file, and how often to look at every path.
struct FollowingOptions: ParsableArguments {
    enum StartPoint: String, ExpressibleByArgument, CaseIterable { case beginning, end }

    @Option(help: "Where to start a file that has no checkpoint: beginning or end. A checkpoint always wins.")
    var from: StartPoint = .end

    @Option(name: .customLong("poll-interval"), help: "Seconds between looks at every path, whatever inotify says.")
    var pollInterval = 1.0

    func validate() throws {
        guard pollInterval > 0, pollInterval <= 60 else { throw ValidationError("--poll-interval must be in (0, 60] seconds") }
    }

    /// The engine's options for following `paths` read as `reading` says, with its rules.
    func tailOptions(paths: [String], reading: ReadingOptions) throws -> TailOptions {
        var follow = Follower.Options(patterns: paths)
        follow.include = reading.include
        follow.exclude = reading.exclude
        follow.startAtEnd = from == .end
        follow.pollInterval = pollInterval
        var options = TailOptions(follow: follow)
        options.reading = try reading.configuration()
        options.rules = try reading.loadRules()
        return options
    }
}
