import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Where `tail` takes the time from: the wall clock in the binary, a clock moved by hand in
/// tests, so that `for`, `keepFiringFor`, resolution by silence and checkpoint intervals are
/// tested in process and deterministically.
public protocol TailClock: Sendable {
    /// Seconds since 1970.
    func now() -> Double
}

public struct WallClock: TailClock {
    public init() {}

    public func now() -> Double {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
    }
}

/// A clock that moves only when told to.
public final class ManualClock: TailClock {
    private let seconds: Mutex<Double>

    public init(at seconds: Double) { self.seconds = Mutex(seconds) }

    public func now() -> Double { seconds.withLock { $0 } }

    public func advance(by interval: Double) { seconds.withLock { $0 += interval } }
}
