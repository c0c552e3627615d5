extension FailureCause {
    /// The cause with the most records in `counts`, and its count; ties go to the cause listed
    /// first in `FailureCause`, so every report and alert names the same one. Nil when no count
    /// is above zero.
    public static func dominant(in counts: some Sequence<(cause: FailureCause, count: Int)>) -> (cause: FailureCause, count: Int)? {
        var best: (cause: FailureCause, count: Int)?
        for entry in counts where entry.count > 0 {
            if let current = best, (current.count, entry.cause.rawValue) >= (entry.count, current.cause.rawValue) { continue }
            best = entry
        }
        return best
    }

    /// The same over counts by cause name (names that are no cause are skipped).
    public static func dominant(byName counts: [String: Int]) -> (cause: FailureCause, count: Int)? {
        dominant(in: counts.lazy.compactMap { name, count in FailureCause(name: name).map { (cause: $0, count: count) } })
    }
}
