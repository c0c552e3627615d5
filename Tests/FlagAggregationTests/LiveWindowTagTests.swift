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

    /// A rule summed per tag gets a counter per tag; another rule in the same pass one for all,
    /// and each its own window's requests.
    @Test func sumsPerTagBesideSumsOverEveryTag() {
        let windows = LiveWindows(horizon: 60)
        windows.add(key: 0, second: 90, flags: uf, tag: 1)
        windows.add(key: 0, second: 100, flags: uf | urx, tag: 1)
        windows.add(key: 0, second: 100, flags: uf, tag: 2)
        windows.add(key: 0, second: 100, flags: urx)
        windows.add(key: 0, second: 100, flags: 0)
        let rules = [LiveWindows.WindowSum(mask: uf, window: 60, offset: 0, tags: 3),
                     LiveWindows.WindowSum(mask: uf | urx, window: 5, offset: 3, tags: 0)]
        var counts = Array(repeating: -1, count: 4), requests = [-1, -1]
        windows.sums(key: 0, rules, endingAt: 100, counts: &counts, requests: &requests)
        // Tag 1: seconds 90 and 100; tag 2: one; the untagged URX record counts only in the sum over every tag.
        #expect(counts == [0, 2, 1, 3])
        #expect(requests == [5, 4])
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
