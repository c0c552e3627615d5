import AccessLogFormat
import Foundation
import Testing

/// Random records rendered through random format strings parse back to the same values.
@Suite(.eachInstructionSet)
struct RoundTripTests {
    struct SplitMix64: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    struct Sample: Sendable {
        var micros: Int64
        var method = "GET", path = "/", proto = "HTTP/1.1", code = 200, flags: [String] = []
        var received = 0, sent = 0, duration = 0, serviceTime: Int?
        var forwardedFor = "-", userAgent = "-", requestID = "-", authority = "-", host = "-", cluster = "-", route = "-"
    }

    /// An operator, how to print a sample's value for it, and whether the value may hold spaces.
    struct Operator: Sendable {
        var text: String
        var render: @Sendable (Sample) -> String
        var mayHoldSpaces = false
        var mayHoldQuotes = false
    }

    static let timeFormats: [(operator: String, render: @Sendable (Int64) -> String)] = [
        ("%START_TIME%", { iso($0, offsetMinutes: 0) }),
        ("%START_TIME(%s.%3f)%", { "\($0 / 1_000_000).\(String(format: "%03d", ($0 / 1000) % 1000))" }),
        ("%START_TIME(%Y-%m-%dT%H:%M:%S.%3f%z)%", { iso($0, offsetMinutes: 120, colon: false) }),
        ("%START_TIME_LOCAL%", { iso($0, offsetMinutes: -330, colon: false) }),
        ("%START_TIME(%d/%b/%Y:%H:%M:%S.%6f %z)%", { clf($0) }),
    ]

    static func iso(_ micros: Int64, offsetMinutes: Int, colon: Bool = true) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(secondsFromGMT: offsetMinutes * 60)
        formatter.dateFormat = offsetMinutes == 0 ? "yyyy-MM-dd'T'HH:mm:ss.SSS'Z'" : "yyyy-MM-dd'T'HH:mm:ss.SSSZ"
        return formatter.string(from: Date(timeIntervalSince1970: Double(micros / 1000) / 1000))
    }

    static func clf(_ micros: Int64) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(secondsFromGMT: 3600)
        formatter.dateFormat = "dd/MMM/yyyy:HH:mm:ss"
        let date = Date(timeIntervalSince1970: Double(micros / 1_000_000))
        return formatter.string(from: date) + String(format: ".%06d +0100", micros % 1_000_000)
    }

    static let operators: [Operator] = [
        Operator(text: "%REQ(:METHOD)%", render: { $0.method }),
        Operator(text: "%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%", render: { $0.path }),
        Operator(text: "%PROTOCOL%", render: { $0.proto }),
        Operator(text: "%RESPONSE_CODE%", render: { String($0.code) }),
        Operator(text: "%RESPONSE_FLAGS%", render: { $0.flags.isEmpty ? "-" : $0.flags.joined(separator: ",") }),
        Operator(text: "%BYTES_RECEIVED%", render: { String($0.received) }),
        Operator(text: "%BYTES_SENT%", render: { String($0.sent) }),
        Operator(text: "%DURATION%", render: { String($0.duration) }),
        Operator(text: "%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)%", render: { $0.serviceTime.map(String.init) ?? "-" }),
        Operator(text: "%REQ(X-FORWARDED-FOR)%", render: { $0.forwardedFor }, mayHoldSpaces: true),
        Operator(text: "%REQ(USER-AGENT)%", render: { $0.userAgent }, mayHoldSpaces: true, mayHoldQuotes: true),
        Operator(text: "%REQ(X-REQUEST-ID)%", render: { $0.requestID }),
        Operator(text: "%REQ(:AUTHORITY)%", render: { $0.authority }),
        Operator(text: "%UPSTREAM_HOST%", render: { $0.host }),
        Operator(text: "%UPSTREAM_CLUSTER%", render: { $0.cluster }),
        Operator(text: "%ROUTE_NAME%", render: { $0.route }),
    ]

    static func randomSample(_ rng: inout SplitMix64) -> Sample {
        var s = Sample(micros: Int64.random(in: 1_500_000_000_000...1_900_000_000_000, using: &rng) * 1000)
        s.method = ["GET", "POST", "CONNECT", "-"].randomElement(using: &rng)!
        s.path = ["/", "/api/v1/items?x=1&y=%22z%22", "/a/b(c)[d]{e}", "-"].randomElement(using: &rng)!
        s.proto = ["HTTP/1.1", "HTTP/2", "HTTP/3", "-"].randomElement(using: &rng)!
        s.code = [0, 200, 404, 503, 504].randomElement(using: &rng)!
        let allFlags = ResponseFlag.allCases.map(\.shortCode) + ["XYZ"]
        s.flags = Array(Set((0..<Int.random(in: 0...3, using: &rng)).map { _ in allFlags.randomElement(using: &rng)! }))
        s.received = Int.random(in: 0...1_000_000, using: &rng)
        s.sent = Int.random(in: 0...1_000_000, using: &rng)
        s.duration = Int.random(in: 0...100_000, using: &rng)
        s.serviceTime = Bool.random(using: &rng) ? Int.random(in: 0...5000, using: &rng) : nil
        s.forwardedFor = ["-", "10.0.0.1", "203.0.113.7,10.244.0.18", "10.171.53.49, 172.30.201.1"].randomElement(using: &rng)!
        s.userAgent = ["-", "curl/8.7.1", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36", #"evil " agent"#, #"a" "b"#]
            .randomElement(using: &rng)!
        s.requestID = UUID().uuidString.lowercased()
        s.authority = ["-", "api.example.com:8080", "[2607:7700::f3]:443", "x"].randomElement(using: &rng)!
        s.host = ["-", "10.1.2.3:8080", "[fd00::1]:80", "envoy://connect_originate/10.244.0.8:8096"].randomElement(using: &rng)!
        s.cluster = ["-", "outbound|8080||api.default.svc.cluster.local", "inbound|80||", "BlackHoleCluster"].randomElement(using: &rng)!
        s.route = ["-", "default", "httproute/default/ratings/rule/0"].randomElement(using: &rng)!
        return s
    }

    @Test func randomRecordsThroughRandomFormatsParseBack() throws {
        var rng = SplitMix64(state: 20_261_125)
        var lines = 0
        for _ in 0..<300 {
            let time = Self.timeFormats.randomElement(using: &rng)!
            let chosen = Self.operators.shuffled(using: &rng).prefix(Int.random(in: 3...Self.operators.count, using: &rng))
            // Free text may hold spaces and quotes: such fields are quoted, like Envoy's defaults.
            // A client's stray quote can only be told apart inside a run of quoted fields, so
            // the user agent always comes in a run with the request id, as in Envoy's formats.
            var format = "[\(time.operator)]"
            var rendered: [(op: Operator, quoted: Bool)] = []
            let requestID = Self.operators.first { $0.text == "%REQ(X-REQUEST-ID)%" }!
            for op in chosen where op.text != requestID.text || !chosen.contains(where: \.mayHoldQuotes) {
                let separator = [" ", " | ", "\t"].randomElement(using: &rng)!
                if op.mayHoldQuotes {
                    rendered += [(op, true), (requestID, true)]
                    format += separator + "\"\(op.text)\" \"\(requestID.text)\""
                    continue
                }
                let quoted = op.mayHoldSpaces || Bool.random(using: &rng)
                rendered.append((op, quoted))
                format += separator + (quoted ? "\"\(op.text)\"" : op.text)
            }
            if Bool.random(using: &rng) { format += " trailing-literal" }
            let plan = try LinePlan(formatString: format)
            let parser = LineParser(plan: plan, tokenizer: LineTokenizer(internedKeys: [.upstreamCluster, .authority, .upstreamHost, .route]))
            for _ in 0..<20 {
                let sample = Self.randomSample(&rng)
                let line = try Self.render(format: format, time: time.render(sample.micros), sample)
                try line.withBytes { bytes in
                    let failure = parser.parse(bytes)
                    try #require(failure == nil, "\(format)\n\(line)")
                }
                try Self.check(parser.tokenizer, sample, rendered.map(\.op), line: line)
                lines += 1
            }
        }
        #expect(lines == 6000)
    }

    /// Renders by substituting operators in the format string, as Envoy does.
    static func render(format: String, time: String, _ sample: Sample) throws -> String {
        var line = format
        for op in operators { line = line.replacingOccurrences(of: op.text, with: op.render(sample)) }
        for t in timeFormats { line = line.replacingOccurrences(of: t.operator, with: time) }
        return line
    }

    static func check(_ t: LineTokenizer, _ s: Sample, _ ops: [Operator], line: String) throws {
        let r = t.record
        func text(_ kind: FieldKind) -> String? { t.value(of: kind).map { String(decoding: $0, as: UTF8.self) } }
        let names = Set(ops.map(\.text))
        #expect(r.startMicros == s.micros, "\(line)")
        if names.contains("%RESPONSE_CODE%") { #expect(Int(r.responseCode) == s.code, "\(line)") }
        if names.contains("%RESPONSE_FLAGS%") {
            let unknown = (0..<Int(r.unknownFlagCount)).map { String(decoding: t.unknownFlag($0), as: UTF8.self) }
            #expect(Set(r.flags.members.map(\.shortCode) + unknown) == Set(s.flags), "\(line)")
        }
        if names.contains("%BYTES_RECEIVED%") { #expect(r.bytesReceived == Int64(s.received), "\(line)") }
        if names.contains("%BYTES_SENT%") { #expect(r.bytesSent == Int64(s.sent), "\(line)") }
        if names.contains("%DURATION%") { #expect(r.durationMillis == Int64(s.duration), "\(line)") }
        if names.contains("%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)%") {
            #expect(r.upstreamServiceMillis == s.serviceTime.map(Int64.init) ?? AccessRecord.missing, "\(line)")
        }
        if names.contains("%REQ(:METHOD)%") { #expect(text(.method) == s.method, "\(line)") }
        if names.contains("%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%") { #expect(text(.path) == s.path, "\(line)") }
        if names.contains("%PROTOCOL%") { #expect(text(.protocol) == s.proto, "\(line)") }
        if names.contains("%REQ(X-FORWARDED-FOR)%") { #expect(text(.forwardedFor) == s.forwardedFor, "\(line)") }
        if names.contains("%REQ(USER-AGENT)%") { #expect(text(.userAgent) == s.userAgent, "\(line)") }
        if names.contains("%REQ(X-REQUEST-ID)%") { #expect(text(.requestID) == s.requestID, "\(line)") }
        if names.contains("%REQ(:AUTHORITY)%") { #expect(t.authorities.string(for: r.authority) == s.authority, "\(line)") }
        if names.contains("%UPSTREAM_HOST%") { #expect(t.upstreamHosts.string(for: r.upstreamHost) == s.host, "\(line)") }
        if names.contains("%UPSTREAM_CLUSTER%") { #expect(t.clusters.string(for: r.cluster) == s.cluster, "\(line)") }
        if names.contains("%ROUTE_NAME%") { #expect(t.routes.string(for: r.route) == s.route, "\(line)") }
    }

    @Test func formatErrorsPointAtTheColumn() {
        let cases: [(String, Int)] = [("[%START_TIME%] %RESPONSE_CODE", 16), ("%REQ(:METHOD %", 1), ("a %% b", 4),
                                      ("%START_TIME(%Q)% x", 14), ("%A%%B%", 4), ("%RESPONSE_CODE%:x", 0)]
        for (format, column) in cases where column > 0 {
            do {
                _ = try LinePlan(formatString: format)
                Issue.record("\(format) compiled")
            } catch {
                #expect(error.column == column, "\(format): \(error)")
            }
        }
        #expect((try? LinePlan(formatString: "%RESPONSE_CODE%:x")) != nil, "a literal ':' after an operator is text")
    }

    /// A long format is shown around the error, not from its start, so the caret is always there.
    @Test(arguments: [("a %B", 3), (String(repeating: "x", count: 3000) + "%b" + String(repeating: "y", count: 3000), 3002),
                      (String(repeating: "x", count: 3000) + "%", 3001)])
    func theCaretStandsUnderTheColumn(format: String, column: Int) throws {
        let error = try #require(throws: FormatError.self) { try LinePlan(formatString: format) }
        #expect(error.column == column)
        let lines = error.description.split(separator: "\n", omittingEmptySubsequences: false).map { Array($0) }
        let caret = try #require(lines[2].firstIndex(of: "^"))
        #expect(lines[1].count <= 2 + 122, "at most 120 characters of the format, and two ellipses")
        #expect(caret < lines[1].count || column == format.count + 1)
        if caret < lines[1].count { #expect(lines[1][caret] == Array(format)[column - 1]) }
    }
}

struct StartTimeTests {
    static func parse(_ lines: [String]) -> [Int64] {
        let parser = LineParser(plan: try! LinePlan(formatString: "[%START_TIME%] %RESPONSE_CODE%"))
        return lines.map { line in
            line.withBytes { precondition(parser.parse($0) == nil, line) }
            return parser.tokenizer.record.startMicros
        }
    }

    @Test func sameMinuteDifferentSecondsZonesAndDays() {
        let base = StartTimeFormat.epochSeconds(year: 2024, month: 2, day: 29, hour: 10, minute: 0, second: 0)! * 1_000_000
        let times = Self.parse([
            "[2024-02-29T10:00:01.250Z] 200", "[2024-02-29T10:00:59.999Z] 200", "[2024-02-29T10:00:05+02:00] 200",
            "[2024-02-29T10:00:05-0130] 200", "[2024-02-29T10:01:00.000Z] 200", "[2024-03-01T10:00:00Z] 200",
            "[2024-02-29T10:00:02.123456Z] 200",
        ])
        #expect(times == [base + 1_250_000, base + 59_999_000, base + 5_000_000 - 7_200_000_000,
                          base + 5_000_000 + 5_400_000_000, base + 60_000_000, base + 86_400_000_000, base + 2_123_456])
    }
}
