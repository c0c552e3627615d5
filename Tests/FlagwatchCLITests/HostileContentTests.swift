import Foundation
import Testing

/// Access logs are written from what clients send (issue #8): names as hostile as a client can
/// make them go through the real binary, and every output is read back by an independent
/// parser — Python's `json` and `csv`, `promtool`, Python's HTML parser (a real browser reads
/// the same page in `HTMLReportTests`) — or checked byte by byte for what a terminal would run.
@Suite(.timeLimit(.minutes(2)))
struct HostileContentTests {
    /// Names a client can put in the cluster, authority and route fields (the cluster and the
    /// route are unquoted fields: no spaces). Each fires the UF rule, so it reaches the alerts,
    /// the spike list, the sparklines and the charts too.
    static let names: [[UInt8]] = [
        Array("outbound|80||clear\u{1B}[2J\u{1B}[H".utf8),
        Array("outbound|80||title\u{1B}]0;pwned\u{07}".utf8),
        Array("outbound|80||cr\rforged-line".utf8),
        Array("outbound|80||nul\u{0}byte".utf8),
        Array("outbound|80||tab\tbell\u{07}bs\u{08}".utf8),
        Array("outbound|80||del\u{7F}csi\u{9B}31m".utf8),
        Array("outbound|80||q\"uote,comma".utf8),
        Array("outbound|80||<script>alert(1)</script></svg>'&amp;x".utf8),
        Array("outbound|80||bidi\u{202E}gpj.exe\u{2066}".utf8),
        Array("outbound|80||bad".utf8) + [0xFF, 0xC3] + Array(".utf8".utf8),
        Array("=HYPERLINK(\"http://x\")".utf8),
        Array("@SUM(1+1)".utf8),
        Array("+1-2".utf8),
        Array("outbound|80||long".utf8) + Array(repeating: UInt8(ascii: "x"), count: 3000),
    ]

    /// A name as flagwatch keys it: invalid UTF-8 becomes U+FFFD, and past 512 bytes a name is
    /// cut and marked (`GroupKey.maxKeyLength`; the long name here is ASCII).
    static func read(_ name: [UInt8]) -> String {
        String(decoding: name.count > 512 ? name.prefix(512) + Array("…".utf8) : name, as: UTF8.self)
    }

    /// 12 UF records a second apart for each name (the UF rule: 10 in 60 s and 5 %), named in
    /// the cluster, authority and route fields, with a hostile user agent; then one malformed
    /// line quoting them all.
    static func log(startingAt start: Date = Date(timeIntervalSince1970: 1_780_000_000)) -> Data {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        var out: [UInt8] = []
        for name in names {
            for second in 0..<12 {
                let time = formatter.string(from: start.addingTimeInterval(Double(second)))
                out += Array("[\(time)] \"GET /x HTTP/1.1\" 503 UF upstream_reset_before_response_started{connection_failure} - \"-\" 0 91 1 - \"-\" ".utf8)
                out += Array("\"curl/8 \u{1B}[31m<script>\u{202E}\" \"0d7a2c1e-1111-2222-3333-444455556666\" \"".utf8) + name
                out += Array("\" \"10.0.0.1:81\" ".utf8) + name + Array(" - 10.96.0.1:81 10.0.0.2:40000 - ".utf8) + name + [10]
            }
        }
        out += Array("not an access log \u{1B}[2J\u{1B}]0;title\u{07}\u{202E} \r ".utf8) + [0, 0xFF, 0xC3] + [10]
        return Data(out)
    }

    /// Writes the log into a fresh folder; the folder is removed by the caller.
    static func logFile(startingAt start: Date = Date(timeIntervalSince1970: 1_780_000_000)) throws -> (directory: URL, log: URL) {
        let directory = try Hostile.directory()
        let log = directory.appendingPathComponent("access.log")
        try Self.log(startingAt: start).write(to: log)
        return (directory, log)
    }

    static func expectTerminalSafe(_ data: Data, _ what: String, allowed: Set<UInt32> = [0x0A]) {
        let hazards = Hostile.terminalHazards(data, allowed: allowed)
        #expect(hazards.isEmpty, "\(what) holds \(hazards)")
    }

    @Test(arguments: ["cluster", "authority", "route"])
    func tableAndDiagnosticsNeutraliseEveryName(groupBy: String) throws {
        let (directory, log) = try Self.logFile()
        defer { try? FileManager.default.removeItem(at: directory) }
        let run = try Hostile.run(["scan", "--group-by", groupBy, "--show-malformed", "5", log.path])
        #expect(run.status == 0)
        Self.expectTerminalSafe(run.stdout, "the table")
        Self.expectTerminalSafe(run.stderr, "stderr")
        let table = run.stdoutText
        #expect(table.contains("\(Self.names.count * 12) records, 1 malformed"), "\(table.suffix(300))")
        // Shown visibly, not acted on.
        #expect(table.contains(#"outbound|80||clear\x1B[2J\x1B[H"#))
        #expect(table.contains(#"outbound|80||bidi\u{202E}gpj.exe\u{2066}"#))
        #expect(table.contains(#"outbound|80||cr\x0Dforged-line"#))
        #expect(table.contains(#"outbound|80||nul\x00byte"#))
        #expect(table.contains("outbound|80||bad\u{FFFD}\u{FFFD}.utf8"))
        // One long name does not widen every row: it is cut, and the cut is said.
        #expect(table.contains("more characters)"))
        #expect(table.split(separator: "\n").allSatisfy { $0.count < 400 }, "\(table.split(separator: "\n").map(\.count).max() ?? 0)")
        // The malformed line is quoted on stderr, neutralised.
        #expect(run.stderrText.contains(#"\x1B[2J\x1B]0;title\x07\u{202E} \x0D \x00"#), "\(run.stderrText)")
    }

    @Test func jsonReportAndAlertsRoundTripThroughPython() throws {
        let (directory, log) = try Self.logFile()
        defer { try? FileManager.default.removeItem(at: directory) }
        let report = try Hostile.run(["scan", "--output", "json", log.path])
        #expect(report.status == 0)
        Self.expectTerminalSafe(report.stdout, "the JSON report")
        // Python reads the report and names every cluster back (json.dumps escapes to ASCII).
        let clusters = try Hostile.python("import json,sys; print(json.dumps([c['cluster'] for c in json.load(sys.stdin)['clusters']]))",
                                          stdin: report.stdout)
        #expect(Set(try Hostile.decoded(clusters, as: [String].self)) == Set(Self.names.map(Self.read)))

        let alerts = try Hostile.run(["scan", "--alerts", log.path])
        #expect(alerts.status == 0)
        Self.expectTerminalSafe(alerts.stdout, "--alerts")
        let firing = try Hostile.python("""
            import json,sys
            events = [json.loads(line) for line in sys.stdin.read().splitlines()]
            print(json.dumps(sorted(e['cluster'] for e in events if e['status'] == 'firing' and e['labels']['cluster'] == e['cluster'])))
            """, stdin: alerts.stdout)
        #expect(try Hostile.decoded(firing, as: [String].self).sorted() == Self.names.map(Self.read).sorted())
    }

    @Test func csvParsesWithPython() throws {
        let (directory, log) = try Self.logFile()
        defer { try? FileManager.default.removeItem(at: directory) }
        let run = try Hostile.run(["scan", "--output", "csv", log.path])
        #expect(run.status == 0)
        // CRLF ends every row (RFC 4180); nothing else a terminal acts on is left in the cells.
        Self.expectTerminalSafe(run.stdout, "the CSV", allowed: [0x0A, 0x0D])
        #expect(!run.stdoutText.replacingOccurrences(of: "\r\n", with: "").contains("\r"))
        let rows = try Hostile.decoded(try Hostile.python("import csv,json,sys,io; print(json.dumps(list(csv.reader(io.StringIO(sys.stdin.read(), newline='')))))",
                                                          stdin: run.stdout), as: [[String]].self)
        #expect(rows.count == Self.names.count + 1)
        #expect(rows.allSatisfy { $0.count == rows[0].count }, "every row has the header's \(rows[0].count) columns")
        let keys = Set(rows.dropFirst().map { $0[0] })
        #expect(keys.contains(#"outbound|80||q"uote,comma"#))
        #expect(keys.contains(#"outbound|80||clear\x1B[2J\x1B[H"#))
        #expect(keys.contains(#"outbound|80||<script>alert(1)</script></svg>'&amp;x"#))
        // Formula injection: a leading = + - @ is made text.
        #expect(keys.contains(#"'=HYPERLINK("http://x")"#))
        #expect(keys.contains("'@SUM(1+1)"))
        #expect(keys.contains("'+1-2"))
        #expect(!keys.contains { "=+-@".contains($0.first ?? " ") })
        #expect(rows.dropFirst().allSatisfy { $0[1] == "12" && $0[2] == "12" })
    }

    @Test func htmlHasNoElementFromTheLog() throws {
        let (directory, log) = try Self.logFile()
        defer { try? FileManager.default.removeItem(at: directory) }
        let page = directory.appendingPathComponent("report.html")
        let run = try Hostile.run(["scan", "--output", "html", "-o", page.path, log.path])
        #expect(run.status == 0)
        // Python's HTML parser lists the elements and the text: only the report's own tags, no
        // attribute a name could have opened, and the names back as text.
        let parsed = try Hostile.python("""
            import json, sys
            from html.parser import HTMLParser
            class Collect(HTMLParser):
                def __init__(self):
                    super().__init__(convert_charrefs=True)
                    self.tags, self.attributes, self.text = set(), set(), []
                def handle_starttag(self, tag, attrs):
                    self.tags.add(tag)
                    self.attributes.update(name for name, _ in attrs)
                def handle_data(self, data):
                    self.text.append(data)
            parser = Collect()
            parser.feed(open(sys.argv[1], encoding='utf-8').read())
            print(json.dumps({'tags': sorted(parser.tags), 'attributes': sorted(parser.attributes), 'text': ''.join(parser.text)}))
            """, [page.path])
        let result = try Hostile.decoded(parsed, as: [String: Any].self)
        let tags = Set(result["tags"] as? [String] ?? [])
        let allowed: Set<String> = ["html", "head", "meta", "title", "style", "body", "main", "header", "footer", "section", "h1", "h2",
                                    "h3", "p", "b", "i", "div", "span", "a", "ul", "li", "table", "thead", "tbody", "tr", "th", "td",
                                    "svg", "g", "rect", "path", "line", "text"]
        #expect(tags.subtracting(allowed).isEmpty, "\(tags.subtracting(allowed))")
        #expect(!(result["attributes"] as? [String] ?? []).contains { $0.hasPrefix("on") || $0 == "src" })
        let text = result["text"] as? String ?? ""
        #expect(text.contains("outbound|80||<script>alert(1)</script></svg>'&amp;x"))
        #expect(text.contains(#"outbound|80||bidi\u{202E}gpj.exe\u{2066}"#))
        Self.expectTerminalSafe(Data(text.utf8), "the page's text", allowed: [0x0A])
    }

    /// Error messages quote what they reject (a format string, a rules file, a file name) and
    /// `rules check` lists names from the file: shown by the same rule as log text.
    @Test func usageErrorsAndRuleNamesAreNeutralised() throws {
        let directory = try Hostile.directory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let format = try Hostile.run(["scan", "--format", "\u{1B}]0;pwned\u{07}\u{202E}[%START_TIME%] %BAD(", "/dev/null"])
        #expect(format.status == 64)
        Self.expectTerminalSafe(format.stderr, "a usage error")
        #expect(format.stderrText.contains(#"\x1B]0;pwned\x07\u{202E}"#), "\(format.stderrText)")

        let rules = directory.appendingPathComponent("rules.yaml")
        try "rules:\n  - name: \"Evil\\e[2J\\u202E\"\n    flags: [UF]\n".write(to: rules, atomically: true, encoding: .utf8)
        let check = try Hostile.run(["rules", "check", rules.path])
        #expect(check.status == 0, "\(check.stderrText)")
        Self.expectTerminalSafe(check.stdout, "rules check")
        #expect(check.stdoutText.contains(#"(Evil\x1B[2J\u{202E})"#), "\(check.stdoutText)")
        try "rules:\n  - name: x\n    \"fl\\e[2Jags\": [UF]\n".write(to: rules, atomically: true, encoding: .utf8)
        let bad = try Hostile.run(["rules", "check", rules.path])
        #expect(bad.status == 64)
        Self.expectTerminalSafe(bad.stderr, "a rules file error")

        // File names are chosen by whoever writes the log folder.
        let named = directory.appendingPathComponent("evil\u{1B}[2J\u{202E}.log")
        try Data("garbage\n".utf8).write(to: named)
        let files = try Hostile.run(["scan", "--show-malformed", "1", named.path, directory.appendingPathComponent("gone\u{1B}]0;t\u{07}.log").path])
        #expect(files.status == 2)
        Self.expectTerminalSafe(files.stdout, "the table")
        Self.expectTerminalSafe(files.stderr, "errors naming files")
        #expect(files.stderrText.contains(#"evil\x1B[2J\u{202E}.log:1: "#) && files.stderrText.contains(#"gone\x1B]0;t\x07.log"#), "\(files.stderrText)")
    }

    /// `tail` with `--alerts text` and a webhook receiver, then `--alerts json` and a scrape of
    /// `/metrics`.
    @Test(arguments: ["text", "json"])
    func tailAlertsReceiversAndMetrics(style: String) throws {
        // Records of the last seconds: windows run on start times.
        let (directory, log) = try Self.logFile(startingAt: Date().addingTimeInterval(-13))
        defer { try? FileManager.default.removeItem(at: directory) }
        let receiver = style == "text" ? try RefusingReceiver(in: directory) : nil
        let tail = try TailProcess(["--no-state", "--from", "beginning", "--alerts", style, "--metrics-listen", "127.0.0.1:0", log.path]
                                   + (receiver.map { ["--webhook", "http://127.0.0.1:\($0.port)/hook"] } ?? []), in: directory)
        #expect(TailFixture.waitFor(timeout: 30) { tail.stdout.split(separator: "\n").count >= Self.names.count }, "\(tail.stderr)")
        var port = 0
        #expect(TailFixture.waitFor {
            guard let range = tail.stderr.range(of: #"127\.0\.0\.1:\d+/metrics"#, options: .regularExpression) else { return false }
            port = Int(tail.stderr[range].dropFirst("127.0.0.1:".count).prefix { $0.isNumber }) ?? 0
            return true
        })
        // The follow loop publishes a snapshot a second: wait for one holding every name.
        var metrics = Data()
        #expect(TailFixture.waitFor(timeout: 15) {
            metrics = (try? Data(contentsOf: URL(string: "http://127.0.0.1:\(port)/metrics")!)) ?? Data()
            return String(decoding: metrics, as: UTF8.self).contains("nul\u{0}byte")
        })
        let names = Self.names.map(Self.read)
        if let receiver {
            #expect(TailFixture.waitFor(timeout: 15) { receiver.clusters().count >= names.count })
            #expect(TailFixture.waitFor { tail.stderr.contains("refused") })
        }
        #expect(tail.stop() == 0)
        let stdout = try Data(contentsOf: directory.appendingPathComponent("run.out"))
        let stderr = try Data(contentsOf: directory.appendingPathComponent("run.err"))
        Self.expectTerminalSafe(stdout, "tail --alerts \(style)")
        Self.expectTerminalSafe(stderr, "tail's stderr")
        if style == "text" {
            let lines = tail.stdout.split(separator: "\n")
            #expect(lines.count == names.count, "one FIRING line per name")
            #expect(lines.allSatisfy { $0.contains(" FIRING ") && $0.contains(" UpstreamFailure cluster=") })
            #expect(tail.stdout.contains(#"cluster=outbound|80||title\x1B]0;pwned\x07 UH,UF,URX "#), "\(tail.stdout)")
            // The receiver parsed every name from the webhook's JSON; its hostile answer is
            // logged neutralised.
            #expect(Set(receiver?.clusters() ?? []) == Set(names))
            #expect(tail.stderr.contains(#"response: refused \x1B[2J\x1B]0;pwned\x07 \u{202E}"#), "\(tail.stderr)")
        } else {
            let clusters = try Hostile.python("import json,sys; print(json.dumps([json.loads(l)['cluster'] for l in sys.stdin.read().splitlines()]))",
                                              stdin: stdout)
            #expect(try Hostile.decoded(clusters, as: [String].self).sorted() == names.sorted())
            try Self.checkExposition(metrics, names: names)
        }
    }

    /// `promtool check metrics` accepts the scrape, and Python, unescaping label values as the
    /// format says (`\\`, `\"`, `\n`), reads every name back.
    static func checkExposition(_ metrics: Data, names: [String]) throws {
        if FileManager.default.isExecutableFile(atPath: "/usr/bin/promtool") {
            let promtool = try Hostile.tool("/usr/bin/promtool", ["check", "metrics"], stdin: metrics)
            #expect(promtool.status == 0, "\(String(decoding: promtool.output + promtool.errors, as: UTF8.self))")
        }
        let labels = try Hostile.python(#"""
            import json, re, sys
            label = re.compile(r'flagwatch_requests_total\{cluster="((?:[^"\\\n]|\\.)*)"\} (\d+)$')
            unescape = lambda v: re.sub(r'\\(.)', lambda m: {'n': '\n'}.get(m.group(1), m.group(1)), v)
            found = {}
            for line in sys.stdin.buffer.read().decode('utf-8').split('\n'):
                m = label.match(line)
                if m: found[unescape(m.group(1))] = int(m.group(2))
            print(json.dumps(found))
            """#, stdin: metrics)
        let requests = try Hostile.decoded(labels, as: [String: Int].self)
        #expect(Set(requests.keys) == Set(names))
        #expect(requests.values.allSatisfy { $0 == 12 })
    }
}

/// A webhook receiver in Python that refuses every request (400, not retried) with a body a
/// terminal would act on, and keeps the clusters of the alerts it was sent, read with `json`.
final class RefusingReceiver {
    let process = Process()
    let port: Int
    let received: URL

    init(in directory: URL) throws {
        received = directory.appendingPathComponent("received.jsonl")
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", #"""
            import http.server, json, sys
            class Refuse(http.server.BaseHTTPRequestHandler):
                def do_POST(self):
                    payload = json.loads(self.rfile.read(int(self.headers['Content-Length'])))
                    with open(sys.argv[1], 'a') as out:
                        out.write(json.dumps([alert['labels']['cluster'] for alert in payload['alerts']]) + '\n')
                    body = b'refused \x1b[2J\x1b]0;pwned\x07 \xe2\x80\xae'
                    self.send_response(400)
                    self.send_header('Content-Length', str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                def log_message(self, *arguments):
                    pass
            server = http.server.HTTPServer(('127.0.0.1', 0), Refuse)
            print(server.server_address[1], flush=True)
            server.serve_forever()
            """#, received.path]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        var said = Data()
        while !said.contains(10) {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            said += chunk
        }
        port = try #require(Int(String(decoding: said, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)))
    }

    deinit {
        // SIGKILL: Python inherits SIGTERM blocked from the test runner (see ScaleOutTests).
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// The clusters of every alert received so far.
    func clusters() -> [String] {
        let text = (try? String(contentsOf: received, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").flatMap { line in
            (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String]) ?? []
        }
    }
}
