import FailureCauses

extension Spike {
    /// The cause most of the spike's flagged records have, and its share of them.
    public var dominantCause: (cause: FailureCause, share: Double)? {
        guard let dominant = FailureCause.dominant(byName: causes), count > 0 else { return nil }
        return (dominant.cause, Double(dominant.count) / Double(count))
    }
}
