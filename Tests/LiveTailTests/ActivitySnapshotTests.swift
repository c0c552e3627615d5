import Foundation
import LiveTail
import LogFollow
import RecordCounting
import Testing

/// The per-key activity a terminal view reads: the same records the engine counted, per
/// second and over the window, on a clock moved by hand.
struct ActivitySnapshotTests {
    typealias Clock = AlertClockScenarioTests

    @Test func windowAndSeriesCountWhatWasRead() throws {
        let folder = try TailEngineTests.folder()
        let log = folder.appendingPathComponent("access.log")
        let other = "outbound|80||frontend.default.svc.cluster.local"
        var text = ""
        // 20 seconds of one line a second; the last 5 seconds add a UF line each; 3 lines elsewhere.
        for second in 0..<20 {
            let at = Clock.start + Double(second)
            text += Clock.line(at: at, flags: "-")
            if second >= 15 { text += Clock.line(at: at, flags: "UF") }
            if second < 3 { text += Clock.line(at: at, flags: "-", cluster: other) }
        }
        try text.write(to: log, atomically: true, encoding: .utf8)
        var follow = Follower.Options(patterns: [log.path])
        follow.startAtEnd = false
        var options = TailOptions(follow: follow)
        options.activity = TailOptions.ActivityRequest(window: 10, seconds: 30)
        options.snapshotInterval = 0
        let clock = ManualClock(at: Clock.start + 20)
        let engine = try TailEngine(options: options, clock: clock) { _ in }
        engine.start()
        engine.pass()
        let activity = try #require(engine.published.latest.withLock { $0 }?.activity)
        #expect(activity.clockSecond == Int64(Clock.start) + 19)
        #expect(activity.windowSeconds == 10)
        let key = try #require(activity.keys.first { $0.name == Clock.cluster })
        #expect(key.requests == 15)
        #expect(key.failures == 5)
        #expect(key.flags == ["UF": 5])
        #expect(key.causes.values.reduce(0, +) == 5)
        #expect(key.requestSeries.count == 30)
        #expect(key.requestSeries.suffix(20).map(Int.init) == Array(repeating: 1, count: 15) + Array(repeating: 2, count: 5))
        #expect(key.failureSeries.reduce(0, +) == 5)
        // Outside the window but within the series: listed, with nothing in the window.
        let quiet = try #require(activity.keys.first { $0.name == other })
        #expect(quiet.requests == 0)
        #expect(quiet.requestSeries.reduce(0, +) == 3)
        // The window's counts are the totals' while every record is in it.
        let totals = engine.totals.keys[Clock.cluster]
        #expect(totals?.requests == 25)
        #expect(totals?.flags == key.flags)
    }

    @Test func windowShrinksToTheSecondsSeen() throws {
        let folder = try TailEngineTests.folder()
        let log = folder.appendingPathComponent("access.log")
        try (Clock.line(at: Clock.start, flags: "-") + Clock.line(at: Clock.start + 1, flags: "UF")).write(to: log, atomically: true, encoding: .utf8)
        var follow = Follower.Options(patterns: [log.path])
        follow.startAtEnd = false
        var options = TailOptions(follow: follow)
        options.activity = TailOptions.ActivityRequest(window: 60, seconds: 180)
        options.snapshotInterval = 0
        let engine = try TailEngine(options: options, clock: ManualClock(at: Clock.start + 2)) { _ in }
        engine.start()
        engine.pass()
        let activity = try #require(engine.published.latest.withLock { $0 }?.activity)
        #expect(activity.windowSeconds == 2)
        #expect(activity.keys.first?.ratio == 0.5)
    }
}
