import Foundation
import RecordCounting
import Synchronization

/// The full-screen view on its own thread: it blocks in poll(2) on the terminal (keys) and a
/// wake pipe (a new snapshot, a resize, stop), so a key or a snapshot is drawn at once, and
/// draws at least four times a second in any case. The engine thread only writes to the pipe.
public final class LiveScreen: @unchecked Sendable {
    // Safe (unchecked Sendable): `state`, `decoder` and `lastFrame` are used by the view
    // thread alone once it has started; `notes` and `stopping` are synchronized; the rest is
    // immutable.
    private let board: SnapshotBoard
    private let terminal: TerminalMode
    private let keys: Int32
    private let output: Int32
    private let wakeRead: Int32
    private let wakeWrite: Int32
    private let style: Style
    private let onQuit: @Sendable () -> Void
    private let stopping = Atomic<Bool>(false)
    private let notes = Mutex<String?>(nil)
    private let finished = DispatchSemaphore(value: 0)
    private var state: ViewState
    private var decoder = KeyDecoder()
    private var lastFrame: (ScreenSize, [UInt8])?

    /// Longest wait between two frames, in milliseconds.
    static let refreshMilliseconds: Int32 = 200

    /// Keys come from `keys` (the controlling terminal; -1 for none), frames go to `output`;
    /// `onQuit` runs on the view thread when the operator quits.
    public init(board: SnapshotBoard, keys: Int32, output: Int32, style: Style, sort: ViewState.Sort,
                onQuit: @escaping @Sendable () -> Void)
    {
        self.board = board
        self.keys = keys
        self.output = output
        self.style = style
        self.onQuit = onQuit
        state = ViewState(sort: sort)
        terminal = TerminalMode(input: keys >= 0 ? keys : output, output: output)
        var ends: [Int32] = [-1, -1]
        precondition(pipe(&ends) == 0, "pipe failed")
        for end in ends { _ = fcntl(end, F_SETFL, O_NONBLOCK) }
        (wakeRead, wakeWrite) = (ends[0], ends[1])
    }

    deinit {
        close(wakeRead)
        close(wakeWrite)
    }

    /// Takes the terminal over and starts drawing.
    public func start() {
        terminal.enter()
        Thread { [self] in loop() }.start()
    }

    /// Draws again now (a snapshot was published, the window was resized).
    public func wake() {
        var byte: UInt8 = 1
        _ = write(wakeWrite, &byte, 1)
    }

    /// A line the engine wants the operator to see (a warning): shown above the keys' help.
    public func note(_ text: String) {
        notes.withLock { $0 = text }
        wake()
    }

    /// Stops drawing and gives the terminal back as it was.
    public func stop() {
        stopping.store(true, ordering: .releasing)
        wake()
        finished.wait()
        terminal.restore()
    }

    private func loop() {
        defer { finished.signal() }
        var readingKeys = keys >= 0
        var buffer = [UInt8](repeating: 0, count: 512)
        var quit = false
        while !stopping.load(ordering: .acquiring) {
            draw()
            var descriptors = [pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0)]
            if readingKeys { descriptors.append(pollfd(fd: keys, events: Int16(POLLIN), revents: 0)) }
            _ = poll(&descriptors, nfds_t(descriptors.count), Self.refreshMilliseconds)
            while read(wakeRead, &buffer, buffer.count) > 0 {}
            guard readingKeys, descriptors[1].revents != 0 else { continue }
            let n = read(keys, &buffer, buffer.count)
            guard n > 0 else {
                // The terminal went away (hang-up): draw on, without keys.
                if n == 0 || (errno != EINTR && errno != EAGAIN) { readingKeys = false }
                continue
            }
            let rows = currentRows().map(\.activity.name)
            for key in decoder.decode(buffer[..<n]) where !quit {
                if state.handle(key, rows: rows) == .quit {
                    quit = true
                    onQuit()
                }
            }
        }
    }

    private func currentRows() -> [Row] {
        board.latest.withLock { $0 }.map { Row.rows($0, state) } ?? []
    }

    private func draw() {
        let size = TerminalMode.size(of: output) ?? ScreenSize(columns: 80, rows: 24)
        state.pageRows = Screen.listHeight(size)
        let snapshot = board.latest.withLock { $0 }
        let rows = snapshot.map { Row.rows($0, state) } ?? []
        let input = FrameInput(snapshot: snapshot, state: state, size: size, style: style, note: notes.withLock { $0 })
        let bytes = Screen.frame(input, rows: rows).bytes(height: size.rows)
        // An unchanged frame is not written again; a resized screen always is.
        if let lastFrame, lastFrame.0 == size, lastFrame.1 == bytes { return }
        lastFrame = (size, bytes)
        Output.write(output, bytes)
    }
}
