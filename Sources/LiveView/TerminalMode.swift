#if canImport(Glibc)
import Glibc
#endif

/// The terminal taken over for a full-screen view, and given back as it was: raw input
/// (no echo, no line editing, no signals from ^C: the view reads it as a key), the alternate
/// screen, the cursor hidden. `restore` undoes all of it and may be called more than once.
public final class TerminalMode {
    private let input: Int32
    private let output: Int32
    private var saved: termios?
    private var active = false

    public init(input: Int32, output: Int32) {
        self.input = input
        self.output = output
    }

    public func enter() {
        var attributes = termios()
        if tcgetattr(input, &attributes) == 0 {
            saved = attributes
            attributes.c_lflag &= ~tcflag_t(ICANON | ECHO | ISIG | IEXTEN)
            attributes.c_iflag &= ~tcflag_t(IXON | ICRNL | BRKINT | INPCK | ISTRIP)
            // Safe: VMIN and VTIME index c_cc, an array of NCCS bytes; the buffer is the struct's own.
            withUnsafeMutableBytes(of: &attributes.c_cc) { cc in
                cc[Int(VMIN)] = 1
                cc[Int(VTIME)] = 0
            }
            tcsetattr(input, TCSANOW, &attributes)
        }
        active = true
        Output.write(output, Array("\u{1B}[?1049h\u{1B}[?25l\u{1B}[H\u{1B}[2J".utf8))
    }

    public func restore() {
        guard active else { return }
        active = false
        Output.write(output, Array("\u{1B}[0m\u{1B}[?25h\u{1B}[?1049l".utf8))
        if var saved { tcsetattr(input, TCSANOW, &saved) }
    }

    /// The size of the terminal on `descriptor`, nil when it is not one.
    public static func size(of descriptor: Int32) -> ScreenSize? {
        var size = winsize()
        guard ioctl(descriptor, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0, size.ws_row > 0 else { return nil }
        return ScreenSize(columns: Int(size.ws_col), rows: Int(size.ws_row))
    }
}

/// Writes to a descriptor.
enum Output {
    /// All of `bytes`, in one write(2) unless the kernel takes less (then the rest follows).
    static func write(_ descriptor: Int32, _ bytes: [UInt8]) {
        bytes.withUnsafeBytes { buffer in
            guard let base = buffer.baseAddress else { return }
            var done = 0
            while done < buffer.count {
                // Safe: `base + done` stays within the buffer, `buffer.count - done` bytes remain.
                let n = Glibc.write(descriptor, base + done, buffer.count - done)
                if n < 0 {
                    if errno == EINTR { continue }
                    return
                }
                done += n
            }
        }
    }
}
