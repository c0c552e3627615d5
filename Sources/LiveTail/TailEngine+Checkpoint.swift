import AccessLogFormat
import RecordCounting

/// Checkpoint assembly: the state that lets a restart go on as if `tail` had never stopped.
extension TailEngine {
    func checkpoint(durable: Bool) {
        guard let store else { return }
        let now = clock.now()
        lastCheckpoint = now
        if durable { lastSync = now }
        var state = TailState(groupBy: primaryGroupKey.groupName, groupOrder: options.reading.groupOrder.map(\.groupName))
        state.files = follower.positions.map { $0.checkpoint(holding: contexts[$0.id]?.joiner.heldBytes ?? 0) }
        state.counters = counters
        state.totals = totals
        state.inputs = inputs
        (state.clockSecond, state.windows, state.tracks) = alerting.saved(naming: counter.keyName)
        do {
            try store.save(state, durable: durable)
            if checkpointFailing { output(.warning("checkpoints are written again")) }
            checkpointFailing = false
            dirty = false
        } catch {
            // Keep counting; the previous checkpoint stays whole and the next try may succeed.
            if !checkpointFailing { output(.warning("cannot write checkpoint: \(error); counting goes on")) }
            checkpointFailing = true
        }
    }

    /// Takes a loaded state's counts, windows and alerts; the files' offsets went to the follower.
    func restore(_ state: TailState) {
        earlier = state.counters
        // Rotations and truncations of this run are the follower's, added to these.
        earlierTotals = state.totals
        runOrder = 1 + (state.totals.keys.values.lazy.flatMap(\.causeSamples.values).map(\.inputOrder).max() ?? -1)
        inputs = state.inputs
        alerting.restore(clockSecond: state.clockSecond, windows: state.windows, tracks: state.tracks, id: counter.keys.id(named:))
    }
}
