import FlagAggregation
import Foundation
import Testing

/// Flag sets told apart by tag (the records' cause): counted per tag, summed as before.
struct LiveWindowTagTests {
    let uf: UInt32 = 1 << 6, urx: UInt32 = 1 << 13

    @Test func tagsSplitTheCountsButNotTheSums() {
        let windows = LiveWindows(horizon: 60)
        windows.add(key: 0, second: 100, flags: uf | urx, tag: 0)
        windows.add(key: 0, second: 100, flags: uf | urx, tag: 0)
        windows.add(key: 0, second: 101, flags: uf, tag: 4)
        windows.add(key: 0, second: 101, flags: urx, tag: 7)
        windows.add(key: 0, second: 101, flags: 0)
        #expect(windows.sums(key: 0, mask: uf, window: 60, endingAt: 101) == (3, 5))
        #expect(windows.tagCounts(key: 0, mask: uf, window: 60, endingAt: 101) == [0: 2, 4: 1])
        #expect(windows.tagCounts(key: 0, mask: uf | urx, window: 1, endingAt: 101) == [4: 1, 7: 1])
        #expect(windows.tagCounts(key: 1, mask: uf, window: 60, endingAt: 101).isEmpty)
    }

    /// Checkpoints keep the tags; a checkpoint written before tags restores its records untagged
    /// (counted in the sums, never a cause).
    @Test func checkpointsKeepTagsAndOldOnesRestoreUntagged() throws {
        let windows = LiveWindows(horizon: 60)
        windows.add(key: 0, second: 100, flags: uf, tag: 3)
        windows.add(key: 0, second: 100, flags: uf, tag: 5)
        let buckets = windows.buckets(key: 0, endingAt: 100)
        let restored = LiveWindows(horizon: 60)
        restored.restore(key: 0, try JSONDecoder().decode([LiveWindows.Bucket].self, from: JSONEncoder().encode(buckets)))
        #expect(restored.tagCounts(key: 0, mask: uf, window: 60, endingAt: 100) == [3: 1, 5: 1])

        let old = #"[{"second":100,"requests":3,"flagSets":[64,2]}]"#
        let fromOld = LiveWindows(horizon: 60)
        fromOld.restore(key: 0, try JSONDecoder().decode([LiveWindows.Bucket].self, from: Data(old.utf8)))
        #expect(fromOld.sums(key: 0, mask: uf, window: 60, endingAt: 100) == (2, 3))
        #expect(fromOld.tagCounts(key: 0, mask: uf, window: 60, endingAt: 100).isEmpty)
    }
}
