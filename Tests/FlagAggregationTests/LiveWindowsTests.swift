import FlagAggregation
import Testing

struct LiveWindowsTests {
    let uf: UInt32 = 1 << 6, urx: UInt32 = 1 << 13

    @Test func sumsCountRecordsCarryingAnyFlagOfTheMask() {
        let windows = LiveWindows(horizon: 60)
        windows.add(key: 3, second: 100, flags: 0)
        windows.add(key: 3, second: 100, flags: uf)
        windows.add(key: 3, second: 101, flags: uf | urx)
        windows.add(key: 3, second: 101, flags: urx)
        // A record with both flags counts once for a rule watching both.
        #expect(windows.sums(key: 3, mask: uf | urx, window: 60, endingAt: 101) == (3, 4))
        #expect(windows.sums(key: 3, mask: uf, window: 60, endingAt: 101) == (2, 4))
        #expect(windows.sums(key: 3, mask: uf, window: 1, endingAt: 101) == (1, 2))
        #expect(windows.sums(key: 4, mask: uf, window: 60, endingAt: 101) == (0, 0))
    }

    @Test func oldSecondsLeaveTheWindowAndTheirSlotsAreReused() {
        let windows = LiveWindows(horizon: 10)
        windows.add(key: 0, second: 100, flags: uf)
        windows.add(key: 0, second: 110, flags: 0)  // same slot as 100
        #expect(windows.sums(key: 0, mask: uf, window: 10, endingAt: 110) == (0, 1))
        #expect(windows.activeKeys(endingAt: 110) == [0])
        #expect(windows.activeKeys(endingAt: 125).isEmpty)
    }

    @Test func bucketsRestoreExactly() {
        let windows = LiveWindows(horizon: 60)
        for second in Int64(1000)..<1030 {
            windows.add(key: 1, second: second, flags: second % 3 == 0 ? uf : 0)
            windows.add(key: 1, second: second, flags: second % 5 == 0 ? uf | urx : 0)
        }
        let copy = LiveWindows(horizon: 90)
        copy.restore(key: 1, windows.buckets(key: 1, endingAt: 1029))
        for mask in [uf, urx, uf | urx] {
            #expect(copy.sums(key: 1, mask: mask, window: 60, endingAt: 1029) == windows.sums(key: 1, mask: mask, window: 60, endingAt: 1029))
        }
    }
}

extension LiveWindows {
    /// One rule's sums, through the every-rule form the evaluator uses.
    func sums(key id: UInt32, mask: UInt32, window: Int, endingAt last: Int64) -> (count: Int, requests: Int) {
        var counts = [0], requests = [0]
        sums(key: id, [WindowSum(mask: mask, window: window, offset: 0, tags: 0)], endingAt: last, counts: &counts, requests: &requests)
        return (counts[0], requests[0])
    }
}
