@testable import AccessLogFormat
import Testing

extension InstructionSet {
    /// The sets this CPU runs: every one of them is tested.
    static let runnable = allCases.filter { $0 <= detected }
}

/// Runs each test of a suite once per instruction set this CPU runs, the structural index of
/// every tokenizer made inside built by that set's kernel. A failure here does not name the
/// set; `InstructionSetTests` compares the sets directly, and does.
struct EachInstructionSet: SuiteTrait, TestTrait, TestScoping {
    var isRecursive: Bool { true }

    func provideScope(for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void) async throws {
        // The suite itself (no test case) is only a container.
        guard testCase != nil else { return try await function() }
        for instructionSet in InstructionSet.runnable {
            try await InstructionSet.$override.withValue(instructionSet) {
                try await function()
            }
        }
    }
}

extension Trait where Self == EachInstructionSet {
    static var eachInstructionSet: Self { EachInstructionSet() }
}
