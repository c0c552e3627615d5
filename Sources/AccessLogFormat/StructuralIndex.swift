/// Where a line's spaces and double quotes are: one bit per byte, 64 bytes per word.
///
/// Built once per line, 64 bytes per step with the widest compare the CPU has (`ByteKernels`)
/// and without a branch per byte; a field's end is then one bit scan. Searching each of a
/// line's ~25 short fields byte-wise (even 8 bytes at a time) costs about twice as much,
/// mostly in loop exits that depend on the data.
struct StructuralIndex {
    private(set) var spaces: UnsafeMutablePointer<UInt64>
    private(set) var quotes: UnsafeMutablePointer<UInt64>
    private var capacityWords: Int
    /// Bytes indexed: positions at or past it hold no bit.
    private(set) var count = 0
    /// Whose kernel builds the bitmaps: `InstructionSet.current` when the index was made.
    let instructionSet: InstructionSet

    init(instructionSet: InstructionSet = .current) {
        self.instructionSet = instructionSet
        capacityWords = 64
        spaces = .allocate(capacity: capacityWords)
        quotes = .allocate(capacity: capacityWords)
    }

    func deallocate() {
        spaces.deallocate()
        quotes.deallocate()
    }

    /// Indexes `[0, count)` of `base`. Reads no byte past it; grows only for a line longer
    /// than any before.
    @inline(__always)
    mutating func build(_ base: UnsafeRawPointer, count: Int) {
        let words = (count &+ 63) >> 6
        if words > capacityWords { grow(to: words) }
        self.count = count
        instructionSet.index(base, count: count, spaces: spaces, quotes: quotes)
    }

    private mutating func grow(to words: Int) {
        deallocate()
        capacityWords = max(words, capacityWords * 2)
        spaces = .allocate(capacity: capacityWords)
        quotes = .allocate(capacity: capacityWords)
    }

    /// The first space at or after `from`, or `end` (at most `count`) when there is none before it.
    @inline(__always)
    func nextSpace(from: Int, end: Int) -> Int { StructuralIndex.next(spaces, from: from, end: end) }

    /// The first `"` at or after `from`, or `end` (at most `count`) when there is none before it.
    @inline(__always)
    func nextQuote(from: Int, end: Int) -> Int { StructuralIndex.next(quotes, from: from, end: end) }

    /// Walks the spaces from a position onwards, one per call: a field run's spaces are
    /// consecutive set bits, so each is one bit cleared instead of a new search.
    struct SpaceCursor {
        private let bits: UnsafeMutablePointer<UInt64>
        private var word: Int
        private var set: UInt64
        private let lastWord: Int

        @inline(__always)
        init(_ index: StructuralIndex, from: Int) {
            bits = index.spaces
            lastWord = (index.count &- 1) >> 6
            word = from >> 6
            set = word <= lastWord ? bits[word] & (~0 << UInt64(from & 63)) : 0
        }

        /// The next space, or `end` when there is none before it.
        @inline(__always)
        mutating func next(end: Int) -> Int {
            while set == 0 {
                word &+= 1
                if word > lastWord { return end }
                set = bits[word]
            }
            let position = word << 6 | set.trailingZeroBitCount
            set &= set &- 1
            return position < end ? position : end
        }
    }

    /// The first `" ` (both bytes before `end`) at or after `from`, or `end`.
    @inline(__always)
    func nextQuoteSpace(from: Int, end: Int) -> Int { nextPair(quotes, spaces, from: from, end: end) }

    /// The first ` "` (both bytes before `end`) at or after `from`, or `end`.
    @inline(__always)
    func nextSpaceQuote(from: Int, end: Int) -> Int { nextPair(spaces, quotes, from: from, end: end) }

    /// Where a byte of `first` is followed by one of `second`.
    @inline(__always)
    private func nextPair(_ first: UnsafeMutablePointer<UInt64>, _ second: UnsafeMutablePointer<UInt64>,
                          from: Int, end: Int) -> Int
    {
        let lastWord = (count &- 1) >> 6
        let position = StructuralIndex.firstSet(from: from, end: end) { word in
            // Bit i of `following` is bit i + 1 of `second`, across the word boundary.
            let following = second[word] >> 1 | (word < lastWord ? second[word &+ 1] << 63 : 0)
            return first[word] & following
        }
        return position &+ 2 <= end ? position : end
    }

    @inline(__always)
    private static func next(_ bits: UnsafeMutablePointer<UInt64>, from: Int, end: Int) -> Int {
        firstSet(from: from, end: end) { bits[$0] }
    }

    /// The first set bit at or after `from` and before `end` in the words `bitsOf` gives, or `end`.
    @inline(__always)
    private static func firstSet(from: Int, end: Int, _ bitsOf: (Int) -> UInt64) -> Int {
        guard from < end else { return end }
        let lastWord = (end &- 1) >> 6
        var word = from >> 6
        var set = bitsOf(word) & (~0 << UInt64(from & 63))
        while set == 0 {
            word &+= 1
            if word > lastWord { return end }
            set = bitsOf(word)
        }
        let position = word << 6 | set.trailingZeroBitCount
        return position < end ? position : end
    }
}
