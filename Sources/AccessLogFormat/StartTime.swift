/// Parses `%START_TIME%` values in place, without `String`s.
///
/// A time field delimits itself: its parser knows how many bytes the format prints, so
/// custom formats holding spaces (`%d/%b/%Y %H:%M:%S`) need no guessing about separators.
public struct StartTimeFormat: Equatable, Sendable {
    enum Piece: Equatable, Sendable {
        case literal(UInt8)
        case year, shortYear, month, monthName, day, spacePaddedDay, hour, minute, second
        case fraction(digits: Int)
        case epochSeconds, zoneOffset, zoneName, weekdayName
    }

    /// nil for Envoy's default form (RFC 3339, UTC or with an offset), parsed by a fast path.
    let pieces: [Piece]?

    public static let envoyDefault = StartTimeFormat(pieces: nil)

    init(pieces: [Piece]?) { self.pieces = pieces }

    /// Compiles a strftime argument as Envoy accepts it (`%s`, `%f`, `%3f`…`%9f` besides strftime).
    public init(strftime: String) throws(FormatError) {
        let chars = Array(strftime.utf8)
        var pieces: [Piece] = []
        var i = 0
        func fail(_ message: String) -> FormatError {
            // Columns count characters (Unicode scalars), as in the rest of the format string;
            // `i` counts UTF-8 bytes, and a column past the format's end misplaces the caret.
            FormatError(message: message, format: strftime, column: String(decoding: chars[..<i], as: UTF8.self).unicodeScalars.count + 1)
        }
        while i < chars.count {
            guard chars[i] == UInt8(ascii: "%") else {
                pieces.append(.literal(chars[i]))
                i += 1
                continue
            }
            i += 1
            guard i < chars.count else { throw fail("'%' at the end of the time format") }
            var digits: Int?
            if chars[i] >= UInt8(ascii: "1"), chars[i] <= UInt8(ascii: "9"), i + 1 < chars.count, chars[i + 1] == UInt8(ascii: "f") {
                digits = Int(chars[i] - UInt8(ascii: "0"))
                i += 1
            }
            if chars[i] == UInt8(ascii: "E"), i + 2 < chars.count, chars[i + 2] == UInt8(ascii: "S"),
                chars[i + 1] >= UInt8(ascii: "1"), chars[i + 1] <= UInt8(ascii: "9")
            {
                // absl's %E#S: seconds with # fraction digits.
                pieces += [.second, .literal(UInt8(ascii: ".")), .fraction(digits: Int(chars[i + 1] - UInt8(ascii: "0")))]
                i += 3
                continue
            }
            switch chars[i] {
            case UInt8(ascii: "Y"): pieces.append(.year)
            case UInt8(ascii: "y"): pieces.append(.shortYear)
            case UInt8(ascii: "m"): pieces.append(.month)
            case UInt8(ascii: "b"), UInt8(ascii: "h"): pieces.append(.monthName)
            case UInt8(ascii: "d"): pieces.append(.day)
            case UInt8(ascii: "e"): pieces.append(.spacePaddedDay)
            case UInt8(ascii: "H"): pieces.append(.hour)
            case UInt8(ascii: "M"): pieces.append(.minute)
            case UInt8(ascii: "S"): pieces.append(.second)
            case UInt8(ascii: "f"): pieces.append(.fraction(digits: digits ?? 9))
            case UInt8(ascii: "s"): pieces.append(.epochSeconds)
            case UInt8(ascii: "z"): pieces.append(.zoneOffset)
            case UInt8(ascii: "Z"): pieces.append(.zoneName)
            case UInt8(ascii: "a"): pieces.append(.weekdayName)
            case UInt8(ascii: "T"): pieces += [.hour, .literal(UInt8(ascii: ":")), .minute, .literal(UInt8(ascii: ":")), .second]
            case UInt8(ascii: "F"): pieces += [.year, .literal(UInt8(ascii: "-")), .month, .literal(UInt8(ascii: "-")), .day]
            case UInt8(ascii: "%"): pieces.append(.literal(UInt8(ascii: "%")))
            default: throw fail("unsupported time specifier '%\(Character(Unicode.Scalar(chars[i])))'")
            }
            i += 1
        }
        self.pieces = pieces
    }

    /// Parses a time starting at `from`; returns microseconds since the epoch and the index
    /// just past the time, or nil when the bytes do not follow the format.
    @inline(__always)
    public func parse(_ base: UnsafeRawPointer, from: Int, end: Int) -> (micros: Int64, end: Int)? {
        guard let pieces else { return StartTimeFormat.parseRFC3339(base, from: from, end: end) }
        return StartTimeFormat.parse(pieces, base, from: from, end: end)
    }

    @inline(__always)
    static func digits(_ base: UnsafeRawPointer, _ at: Int, _ count: Int, _ end: Int) -> Int? {
        guard at + count <= end else { return nil }
        var value = 0
        for i in at..<(at + count) {
            let d = base.load(fromByteOffset: i, as: UInt8.self) &- UInt8(ascii: "0")
            guard d < 10 else { return nil }
            value = value * 10 + Int(d)
        }
        return value
    }

    /// The last minute parsed: consecutive lines of a log nearly always share their
    /// `YYYY-MM-DDTHH:MM` prefix, so comparing 16 bytes skips most of the date arithmetic.
    public struct MinuteCache {
        var prefix: (UInt64, UInt64) = (0, 0)
        var epochSeconds: Int64 = 0
        public init() {}
        init(prefix: (UInt64, UInt64), epochSeconds: Int64) {
            self.prefix = prefix
            self.epochSeconds = epochSeconds
        }
    }

    /// `parseRFC3339` through `cache`.
    @inline(__always)
    static func parseRFC3339(_ base: UnsafeRawPointer, from p: Int, end: Int, cache: inout MinuteCache) -> (micros: Int64, end: Int)? {
        guard p + 19 <= end else { return nil }
        let prefix = (base.loadUnaligned(fromByteOffset: p, as: UInt64.self), base.loadUnaligned(fromByteOffset: p + 8, as: UInt64.self))
        guard prefix == cache.prefix, base.load(fromByteOffset: p + 16, as: UInt8.self) == UInt8(ascii: ":"),
            let second = digits(base, p + 17, 2, end), second <= 60
        else {
            guard let parsed = parseRFC3339(base, from: p, end: end) else { return nil }
            // Remember the minute only once the whole value parsed.
            if let minute = minuteEpoch(base, p, end) { cache = MinuteCache(prefix: prefix, epochSeconds: minute) }
            return parsed
        }
        var i = p + 19
        var micros = 0
        if i < end, base.load(fromByteOffset: i, as: UInt8.self) == UInt8(ascii: ".") {
            (micros, i) = fraction(base, from: i + 1, end: end, maxDigits: 9)
        }
        guard let (offset, zoneEnd) = zone(base, from: i, end: end) else { return nil }
        return ((cache.epochSeconds + Int64(second) - offset) * 1_000_000 + Int64(micros), zoneEnd)
    }

    /// Seconds since 1970 at the start of the minute `YYYY-MM-DDTHH:MM` at `p`, UTC.
    static func minuteEpoch(_ base: UnsafeRawPointer, _ p: Int, _ end: Int) -> Int64? {
        guard let year = digits(base, p, 4, end), let month = digits(base, p + 5, 2, end), let day = digits(base, p + 8, 2, end),
            let hour = digits(base, p + 11, 2, end), let minute = digits(base, p + 14, 2, end)
        else { return nil }
        return epochSeconds(year: year, month: month, day: day, hour: hour, minute: minute, second: 0)
    }

    /// `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±hh[:]mm)?`; no zone means UTC.
    static func parseRFC3339(_ base: UnsafeRawPointer, from p: Int, end: Int) -> (micros: Int64, end: Int)? {
        guard p + 19 <= end,
            let year = digits(base, p, 4, end), let month = digits(base, p + 5, 2, end),
            let day = digits(base, p + 8, 2, end), let hour = digits(base, p + 11, 2, end),
            let minute = digits(base, p + 14, 2, end), let second = digits(base, p + 17, 2, end),
            base.load(fromByteOffset: p + 4, as: UInt8.self) == UInt8(ascii: "-"),
            base.load(fromByteOffset: p + 7, as: UInt8.self) == UInt8(ascii: "-"),
            base.load(fromByteOffset: p + 13, as: UInt8.self) == UInt8(ascii: ":"),
            base.load(fromByteOffset: p + 16, as: UInt8.self) == UInt8(ascii: ":")
        else { return nil }
        let separator = base.load(fromByteOffset: p + 10, as: UInt8.self)
        guard separator == UInt8(ascii: "T") || separator == UInt8(ascii: " ") else { return nil }
        var i = p + 19
        var micros = 0
        if i < end, base.load(fromByteOffset: i, as: UInt8.self) == UInt8(ascii: ".") {
            (micros, i) = fraction(base, from: i + 1, end: end, maxDigits: 9)
        }
        guard let (offset, zoneEnd) = zone(base, from: i, end: end) else { return nil }
        guard let seconds = epochSeconds(year: year, month: month, day: day, hour: hour, minute: minute, second: second)
        else { return nil }
        return ((seconds - offset) * 1_000_000 + Int64(micros), zoneEnd)
    }

    /// Reads up to `maxDigits` fraction digits; returns microseconds.
    @inline(__always)
    static func fraction(_ base: UnsafeRawPointer, from: Int, end: Int, maxDigits: Int) -> (Int, Int) {
        var i = from
        var micros = 0
        var scale = 100_000
        while i < end, i - from < maxDigits {
            let d = base.load(fromByteOffset: i, as: UInt8.self) &- UInt8(ascii: "0")
            guard d < 10 else { break }
            micros += Int(d) * scale
            scale /= 10
            i += 1
        }
        return (micros, i)
    }

    /// `Z`, `±hh`, `±hhmm`, `±hh:mm` or nothing (UTC); returns the offset in seconds.
    @inline(__always)
    static func zone(_ base: UnsafeRawPointer, from i: Int, end: Int) -> (Int64, Int)? {
        guard i < end else { return (0, i) }
        let c = base.load(fromByteOffset: i, as: UInt8.self)
        if c == UInt8(ascii: "Z") { return (0, i + 1) }
        guard c == UInt8(ascii: "+") || c == UInt8(ascii: "-") else { return (0, i) }
        guard let hours = digits(base, i + 1, 2, end) else { return nil }
        var j = i + 3
        if j < end, base.load(fromByteOffset: j, as: UInt8.self) == UInt8(ascii: ":") { j += 1 }
        let minutes = digits(base, j, 2, end)
        if minutes != nil { j += 2 }
        let offset = Int64(hours * 3600 + (minutes ?? 0) * 60)
        return (c == UInt8(ascii: "-") ? -offset : offset, j)
    }

    static let monthNames: [UInt32] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        .map { name in name.utf8.reduce(0) { $0 << 8 | UInt32($1) } }

    static func parse(_ pieces: [Piece], _ base: UnsafeRawPointer, from: Int, end: Int) -> (micros: Int64, end: Int)? {
        var i = from
        var year = 1970, month = 1, day = 1, hour = 0, minute = 0, second = 0, micros = 0
        var epoch: Int64?
        var offset: Int64 = 0
        func letters(_ count: Int) -> UInt32? {
            guard i + count <= end else { return nil }
            var value: UInt32 = 0
            for k in 0..<count { value = value << 8 | UInt32(base.load(fromByteOffset: i + k, as: UInt8.self)) }
            return value
        }
        for piece in pieces {
            switch piece {
            case .literal(let byte):
                guard i < end, base.load(fromByteOffset: i, as: UInt8.self) == byte else { return nil }
                i += 1
            case .year:
                guard let v = digits(base, i, 4, end) else { return nil }
                year = v; i += 4
            case .shortYear:
                guard let v = digits(base, i, 2, end) else { return nil }
                year = 2000 + v; i += 2
            case .month, .day, .hour, .minute, .second:
                guard let v = digits(base, i, 2, end) else { return nil }
                i += 2
                switch piece {
                case .month: month = v
                case .day: day = v
                case .hour: hour = v
                case .minute: minute = v
                default: second = v
                }
            case .spacePaddedDay:
                guard i + 2 <= end else { return nil }
                let padded = base.load(fromByteOffset: i, as: UInt8.self) == UInt8(ascii: " ")
                guard let v = padded ? digits(base, i + 1, 1, end) : digits(base, i, 2, end) else { return nil }
                day = v; i += 2
            case .monthName:
                guard let name = letters(3), let index = monthNames.firstIndex(of: name) else { return nil }
                month = index + 1; i += 3
            case .weekdayName:
                guard letters(3) != nil else { return nil }
                i += 3
            case .fraction(let count):
                let (value, next) = fraction(base, from: i, end: end, maxDigits: count)
                guard next - i == count else { return nil }
                micros = value; i = next
            case .epochSeconds:
                var value: Int64 = 0
                let start = i
                while i < end, i - start < 12 {
                    let d = base.load(fromByteOffset: i, as: UInt8.self) &- UInt8(ascii: "0")
                    guard d < 10 else { break }
                    value = value * 10 + Int64(d); i += 1
                }
                guard i > start else { return nil }
                epoch = value
            case .zoneOffset:
                guard let (value, next) = zone(base, from: i, end: end), next > i else { return nil }
                offset = value; i = next
            case .zoneName:
                if letters(3) == 0x55_54_43 || letters(3) == 0x47_4D_54 { i += 3 } else { return nil }  // UTC, GMT
            }
        }
        if let epoch { return (epoch * 1_000_000 + Int64(micros), i) }
        guard let seconds = epochSeconds(year: year, month: month, day: day, hour: hour, minute: minute, second: second)
        else { return nil }
        return ((seconds - offset) * 1_000_000 + Int64(micros), i)
    }

    /// Seconds since 1970 for a UTC civil time (Howard Hinnant's days-from-civil).
    @inline(__always)
    public static func epochSeconds(year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int) -> Int64? {
        guard (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second <= 60 else { return nil }
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        let days = era * 146_097 + dayOfEra - 719_468
        return Int64(days * 86_400 + hour * 3600 + minute * 60 + second)
    }
}
