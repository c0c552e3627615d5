import Foundation
import Testing
import TestSupport

/// The spikes, alert events and counts the scan engine finds are the ones the per-second engine
/// found (recorded in Fixtures/EngineBaseline), on every sample and generated corpus, with one
/// thread and with two.
struct EngineBaselineTests {
    static let script = Repository.url("Tests/FlagwatchCLITests/Fixtures/EngineBaseline/baseline.py").path

    @Test func spikesAndCountsMatchTheRecordedEngine() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", Self.script, "--binary", ScanCommandTests.binary, "--check"]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(text)")
        #expect(text.contains("0 case runs differ"), "\(text)")
    }
}
