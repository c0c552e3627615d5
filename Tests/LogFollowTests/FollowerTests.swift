import Foundation
import LogFollow
import Testing
import TestSupport

/// The follower in process, pass by pass: what it hands on after each change to the files.
struct FollowerTests {
    final class Recorder: FollowerDelegate {
        var lines: [String] = []
        var truncated = 0
        var finished: [String] = []
        func follower(read lines: UnsafeMutableRawBufferPointer, from file: FollowedFile) {
            self.lines += String(decoding: UnsafeRawBufferPointer(lines), as: UTF8.self).split(separator: "\n").map(String.init)
        }
        func follower(skippedLongLineIn file: FollowedFile) { lines.append("<too long>") }
        func follower(truncated file: FollowedFile) { truncated += 1 }
        func follower(finished file: FollowedFile) { finished.append(file.path) }
        func follower(warning: String) {}
    }

    static func folder() throws -> String { try Scratch.directory("follower").path }

    static func append(_ text: String, _ path: String) {
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0o644)
        _ = text.withCString { write(fd, $0, strlen($0)) }
        close(fd)
    }

    func follower(_ patterns: [String], startAtEnd: Bool = false, checkpoints: [FileCheckpoint] = []) -> (Follower, Recorder) {
        var options = Follower.Options(patterns: patterns)
        options.startAtEnd = startAtEnd
        options.drainGrace = 0
        options.maxLineLength = 256
        let follower = Follower(options: options, checkpoints: checkpoints)
        let recorder = Recorder()
        follower.delegate = recorder
        return (follower, recorder)
    }

    @Test func startsAtTheEndOnlyForFilesPresentAtStartup() throws {
        let dir = try Self.folder()
        Self.append("old\n", dir + "/a.log")
        let (follower, recorder) = follower([dir], startAtEnd: true)
        follower.pass(now: 1)
        Self.append("new\n", dir + "/a.log")
        Self.append("first\n", dir + "/b.log")
        follower.pass(now: 3)
        #expect(recorder.lines.sorted() == ["first", "new"])
    }

    @Test func holdsALineUntilItsNewlineAndSkipsTooLongLines() throws {
        let dir = try Self.folder()
        let (follower, recorder) = follower([dir + "/a.log"])
        Self.append("one\ntw", dir + "/a.log")
        follower.pass(now: 1)
        #expect(recorder.lines == ["one"])
        // A line longer than a whole read is skipped here; a shorter one is the reader's to judge.
        Self.append("o\n" + String(repeating: "x", count: 3 << 20) + "\nthree\n", dir + "/a.log")
        follower.pass(now: 1.1)
        #expect(recorder.lines == ["one", "two", "<too long>", "three"])
    }

    @Test func finishesARenamedFileBeforeItsSuccessor() throws {
        let dir = try Self.folder()
        let (follower, recorder) = follower([dir + "/a.log"])
        Self.append("1\n", dir + "/a.log")
        follower.pass(now: 1)
        rename(dir + "/a.log", dir + "/a.log.1")
        Self.append("2\nlast-without-newline", dir + "/a.log.1")
        Self.append("3\n", dir + "/a.log")
        follower.pass(now: 3)
        follower.pass(now: 5)
        // The unterminated last line is handed on when the old file is closed.
        #expect(recorder.lines == ["1", "2", "3", "last-without-newline"])
        #expect(recorder.finished == [dir + "/a.log"])
        #expect(follower.rotations == 1)
    }

    @Test func readsAGenerationThatCameAndWentBetweenTwoLooks() throws {
        let dir = try Self.folder()
        let (follower, recorder) = follower([dir + "/a.log"])
        Self.append("1\n", dir + "/a.log")
        follower.pass(now: 1)
        rename(dir + "/a.log", dir + "/a.log.1")
        Self.append("2\n", dir + "/a.log")
        rename(dir + "/a.log", dir + "/a.log.2")
        Self.append("3\n", dir + "/a.log")
        follower.pass(now: 3)
        follower.pass(now: 5)
        #expect(recorder.lines == ["1", "2", "3"])
    }

    @Test func truncationRestartsAtTheBeginning() throws {
        let dir = try Self.folder()
        let (follower, recorder) = follower([dir + "/a.log"])
        Self.append("aaaa\nbbbb\n", dir + "/a.log")
        follower.pass(now: 1)
        truncate(dir + "/a.log", 0)
        // Written past the old offset before the next look: only the head shows the truncation.
        Self.append("cccc\ndddd\neeee\n", dir + "/a.log")
        follower.pass(now: 1.5)
        #expect(recorder.lines == ["aaaa", "bbbb", "cccc", "dddd", "eeee"])
        #expect(recorder.truncated == 1)
    }

    @Test func findsACheckpointedFileRotatedWhileNothingFollowedIt() throws {
        let dir = try Self.folder()
        let (first, recorder) = follower([dir + "/access.log"])
        Self.append("1\n2\n", dir + "/access.log")
        first.pass(now: 1)
        let saved = first.positions.map { $0.checkpoint(holding: 0) }
        // Down: the writer goes on, the log is rotated, a new one is started.
        Self.append("3\n", dir + "/access.log")
        rename(dir + "/access.log", dir + "/access.log.1")
        Self.append("4\n", dir + "/access.log")
        let (second, after) = follower([dir + "/access.log"], startAtEnd: true, checkpoints: saved)
        second.pass(now: 10)
        #expect(recorder.lines == ["1", "2"])
        #expect(after.lines == ["3", "4"])
    }
}
