import Foundation
import Testing

/// The sanitizer the binary and tests were built with, as `Tests/sanitizers.sh` sets
/// `FLAGWATCH_SANITIZER` (`address` or `thread`); nil for a plain build.
let sanitizer: String? = ProcessInfo.processInfo.environment["FLAGWATCH_SANITIZER"].flatMap { $0.isEmpty ? nil : $0 }

extension Trait where Self == ConditionTrait {
    /// Skips a test that asserts a peak-memory bound under a sanitizer: ASan's shadow memory and
    /// quarantine, or TSan's shadow (several times the heap), would be measured, not flagwatch.
    /// The bound itself stays as it is for the plain build (Tests/run.sh).
    static var measuresPeakMemory: Self {
        .disabled(if: sanitizer != nil, "asserts peak RSS; the \(sanitizer ?? "") sanitizer's shadow memory would be measured")
    }
}
