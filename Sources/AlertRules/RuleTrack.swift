import FailureCauses

/// The state machine of one rule on one key: inactive → pending → firing → resolved.
///
/// It is stepped once per bucket with the window's sums, in time order, by `scan` replaying
/// history and by `tail` as the watermark passes each bucket, so both see the same alerts.
public struct RuleTrack: Sendable, Codable {
    public enum Phase: Sendable, Equatable, Codable {
        case inactive
        case pending(since: Int64)
        case firing(since: Int64, lastTrue: Int64)
    }

    public enum Transition: Sendable, Equatable {
        /// The condition has held for `for`; `startsAt` is when it began to hold.
        case firing(startsAt: Int64)
        case resolved(startsAt: Int64, endsAt: Int64)
    }

    public private(set) var phase = Phase.inactive
    /// EWMA of earlier windows' counts, for `baselineFactor`.
    public private(set) var baseline: Double?
    /// Largest window count and ratio since the condition began to hold.
    public private(set) var peakCount = 0
    public private(set) var peakRatio = 0.0
    /// The cause of the alert firing under this track, kept from firing to resolution so that
    /// both events carry the same labels; set by the evaluator. Not a name: a track is copied
    /// on every step of `scan`'s replay, and a string would make each copy retain and release.
    public var cause: FailureCause?

    static let baselineWeight = 0.3

    /// What a step reads of its rule: plain numbers, so that stepping copies no strings.
    package struct Limits: Sendable {
        let minCount: Int
        let minRequests: Int
        let minRatio: Double
        let baselineFactor: Double?
        let forMicros: Int64
        let keepFiringMicros: Int64

        package init(_ rule: AlertRule) {
            minCount = rule.minCount
            minRequests = rule.minRequests
            minRatio = rule.minRatio
            baselineFactor = rule.baselineFactor
            forMicros = Int64(rule.forDuration) * 1_000_000
            keepFiringMicros = Int64(rule.keepFiringFor) * 1_000_000
        }
    }

    public init() {}

    /// The track of one cause under a by-cause rule starts with a baseline of 0: the cause had
    /// no record in the earlier windows.
    package static let ofCause = RuleTrack(baseline: 0)

    private init(baseline: Double?) {
        self.baseline = baseline
    }

    /// Inactive with a baseline of 0: a step with no flagged record leaves it so, so a cause
    /// with none in its window need not be stepped (nor kept).
    package var isAtRest: Bool { phase == .inactive && baseline == 0 }

    /// Steps to time `now` (microseconds, the end of the bucket just completed) with the
    /// window's flagged `count` and `requests`. `windowEnds` says that `now` closes a whole
    /// window, when the baseline takes the window's count.
    public mutating func step(_ rule: AlertRule, now: Int64, count: Int, requests: Int, windowEnds: Bool) -> Transition? {
        step(Limits(rule), now: now, count: count, requests: requests, windowEnds: windowEnds)
    }

    package mutating func step(_ rule: Limits, now: Int64, count: Int, requests: Int, windowEnds: Bool) -> Transition? {
        let ratio = requests > 0 ? Double(count) / Double(requests) : 0
        var holds = count >= rule.minCount && requests >= rule.minRequests && ratio >= rule.minRatio
        if let factor = rule.baselineFactor {
            holds = holds && baseline.map { Double(count) > factor * max($0, 1) } == true
        }
        if holds {
            peakCount = max(peakCount, count)
            peakRatio = max(peakRatio, ratio)
        }
        var transition: Transition?
        let forMicros = rule.forMicros
        switch phase {
        case .inactive:
            if holds {
                peakCount = count
                peakRatio = ratio
                if forMicros == 0 {
                    phase = .firing(since: now, lastTrue: now)
                    transition = .firing(startsAt: now)
                } else {
                    phase = .pending(since: now)
                }
            }
        case .pending(let since):
            if !holds {
                phase = .inactive
            } else if now - since >= forMicros {
                phase = .firing(since: since, lastTrue: now)
                transition = .firing(startsAt: since)
            }
        case .firing(let since, let lastTrue):
            if holds {
                phase = .firing(since: since, lastTrue: now)
            } else if now - lastTrue > rule.keepFiringMicros {
                phase = .inactive
                transition = .resolved(startsAt: since, endsAt: now)
            }
        }
        // A spike must not become its own baseline: learn only from quiet windows.
        // Below `negligibleBaseline` it is 0, as `skipQuietWindows` leaves it, so that a cause's
        // track comes to rest.
        if windowEnds, phase == .inactive {
            let learnt = baseline.map { RuleTrack.baselineWeight * Double(count) + (1 - RuleTrack.baselineWeight) * $0 } ?? Double(count)
            baseline = learnt < RuleTrack.negligibleBaseline ? 0 : learnt
        }
        return transition
    }

    /// Skips `windows` whole quiet windows (no flagged record): the baseline decays as if
    /// each had been stepped with a count of 0, one multiplication a window as `step` does.
    /// Below `negligibleBaseline` it is 0: no later count can tell the two apart (it vanishes
    /// in `0.3 * count + 0.7 * baseline` for any count ≥ 1, and `max(baseline, 1)` hides it),
    /// so a gap of weeks costs a few dozen steps, not one per window.
    public mutating func skipQuietWindows(_ windows: Int) {
        guard windows > 0, var value = baseline else { return }
        for _ in 0..<windows {
            value = (1 - RuleTrack.baselineWeight) * value
            if value < RuleTrack.negligibleBaseline {
                value = 0
                break
            }
        }
        baseline = value
    }

    static let negligibleBaseline = 1e-20

    public var isInactive: Bool { phase == .inactive }
}

extension RuleTrack {
    /// The cause of the alert firing under this track; `unknown` for a track saved before causes.
    var firingCause: FailureCause { cause ?? .unknown }
}
