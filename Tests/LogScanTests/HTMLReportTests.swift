import AlertRules
import Foundation
import LogScan
import RecordCounting
import ScanReports
import Testing
import TestSupport

/// The `--output html` page: self-contained, escaped, one chart per spiking cluster, and
/// rendered by a real headless browser.
struct HTMLReportTests {
    static let reviews = "outbound|9080||reviews.default.svc.cluster.local"
    /// A cluster that spikes, named by a hostile client.
    static let hostileSpiking = "outbound|80||<script>alert(1)</script>\"q'&amp;.evil"
    /// A cluster on one appended line: a tag that would run code as an attribute or in SVG.
    static let hostileLine = "outbound|81||<script>alert(1)</script>'\"><img/src=x/onerror=alert(2)><svg/onload=alert(3)>.x"
    /// Terminal and bidirectional controls, a NUL, a closing tag of the chart, then invalid UTF-8
    /// (0xFF 0xC3, read as two U+FFFD) and more characters than the page shows of a name.
    static let hostileControls: [UInt8] = Array("outbound|82||\u{1B}[2J\u{1B}]0;t\u{07}\u{202E}</svg></div><b>bold\u{0}".utf8) + [0xFF, 0xC3]
        + Array(String(repeating: "y", count: 400).utf8)

    struct Rendered: Sendable {
        var result: ScanResult
        var html: String
    }

    /// One generated log with two injected spikes and a hostile line, scanned and rendered once.
    static let shared: Result<Rendered, any Error> = Result {
        let directory = try Scratch.directory("scan")
        defer { try? FileManager.default.removeItem(at: directory) }
        let (log, _) = try Fixtures.generate(
            ["--format", "istio", "--lines", "60000", "--rate", "100", "--seed", "7",
             "--spike", "\(reviews):UF,URX:300:120:0.6",
             "--spike", "\(hostileSpiking):UH:100:60:0.9"],
            in: directory, name: "spiky.log")
        let handle = try FileHandle(forWritingTo: log)
        try handle.seekToEnd()
        for cluster in [Array(hostileLine.utf8), hostileControls] {
            let head = #"[2026-06-28T15:04:00.000Z] "GET /x HTTP/1.1" 503 UF upstream_reset_before_response_started{connection_failure} - "-" 0 91 1 - "-" "curl/8.5.0" "0d7a2c1e-1111-2222-3333-444455556666" "x:81" "10.0.0.1:81" "#
            try handle.write(contentsOf: Data(head.utf8) + Data(cluster) + Data(" - 10.96.0.1:81 10.0.0.2:40000 - default\n".utf8))
        }
        try handle.close()
        let options = ScanOptions()
        let result = ScanEngine.scan([log.path], options: options)
        return Rendered(result: result, html: HTMLReport.render(result, rules: options.rules))
    }

    static func rendered() throws -> Rendered { try shared.get() }

    static func escapedForHTML(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
            .replacingOccurrences(of: "'", with: "&#39;")
    }

    static func occurrences(of needle: String, in text: String) -> Int {
        text.components(separatedBy: needle).count - 1
    }

    @Test func scanFoundTheInjectedSpikesAndTheHostileKeys() throws {
        let result = try Self.rendered().result
        let clusters = Set(result.spikes.map(\.cluster))
        #expect(clusters.contains(Self.reviews))
        #expect(clusters.contains(Self.hostileSpiking))
        #expect(result.totals.keys[Self.hostileLine]?.requests == 1)
        #expect(result.totals.keys[String(decoding: Self.hostileControls, as: UTF8.self)]?.requests == 1)
    }

    @Test func pageHasNoScriptAndNothingExternal() throws {
        let html = try Self.rendered().html
        #expect(html.hasPrefix("<!DOCTYPE html>"))
        #expect(!html.lowercased().contains("<script"))
        #expect(!html.lowercased().contains("javascript:"))
        #expect(!html.contains("url("))
        #expect(!html.contains("@import"))
        #expect(!html.contains("https://"))
        // The only absolute URL is the SVG namespace, which is a name, not a fetch.
        #expect(html.replacingOccurrences(of: "xmlns=\"http://www.w3.org/2000/svg\"", with: "").contains("http://") == false)
        // Every tag is one the report writes: log text cannot have opened one.
        let allowed: Set<String> = ["!doctype", "html", "head", "meta", "title", "style", "body", "main", "header", "footer",
                                    "section", "h1", "h2", "h3", "p", "b", "i", "div", "span", "a", "ul", "li", "table",
                                    "thead", "tbody", "tr", "th", "td", "svg", "g", "rect", "path", "line", "text"]
        let tags = try Regex("<\\/?([!a-zA-Z][a-zA-Z0-9]*)")
        var seen: Set<String> = []
        for match in html.matches(of: tags) { seen.insert(String(match.output[1].substring ?? "").lowercased()) }
        #expect(seen.subtracting(allowed).isEmpty, "unexpected tags \(seen.subtracting(allowed))")
        // No event handler, source or stray link inside any tag.
        for match in html.matches(of: try Regex("<[^>]*>")) {
            let tag = String(html[match.range])
            #expect(tag.firstMatch(of: try Regex("\\son[a-zA-Z]+\\s*=")) == nil, "\(tag)")
            #expect(!tag.contains("src="), "\(tag)")
            if let href = tag.firstMatch(of: try Regex("href=\"([^\"]*)\"")) {
                #expect(String(href.output[1].substring ?? "").hasPrefix("#chart-"), "\(tag)")
            }
        }
        #expect(html.contains("Content-Security-Policy"))
    }

    @Test func hostileNamesAreEscapedEverywhere() throws {
        let html = try Self.rendered().html
        for name in [Self.hostileSpiking, Self.hostileLine] {
            #expect(!html.contains(name))
            #expect(html.contains(Self.escapedForHTML(name)))
        }
        #expect(!html.contains("<img"))
        #expect(!html.contains("<svg/"))
        // The spiking hostile name is in the spike table, the chart heading and the chart's
        // label attribute, escaped each time.
        #expect(Self.occurrences(of: Self.escapedForHTML(Self.hostileSpiking), in: html) >= 4)
        // Inside the chart's aria-label attribute, quotes are escaped too.
        #expect(html.contains("aria-label=\"Timeline of \(Self.escapedForHTML(Self.hostileSpiking)):"))
    }

    @Test func oneChartPerSpikingClusterAndTheSpikeList() throws {
        let (result, html) = try { let r = try Self.rendered(); return (r.result, r.html) }()
        let spiking = Set(result.spikes.map(\.cluster))
        #expect(!spiking.isEmpty)
        #expect(Self.occurrences(of: "<svg ", in: html) == min(spiking.count, 20))
        #expect(Self.occurrences(of: "<div class=\"chart\" id=\"chart-", in: html) == min(spiking.count, 20))
        #expect(html.contains("<table id=\"spike-table\">"))
        let spikeTable = html.components(separatedBy: "<table id=\"spike-table\">")[1].components(separatedBy: "</table>")[0]
        #expect(Self.occurrences(of: "<tr>", in: spikeTable) == result.spikes.count + 1)
        for spike in result.spikes {
            #expect(spikeTable.contains(RFC3339.string(micros: spike.start)))
            #expect(spikeTable.contains(RFC3339.string(micros: spike.end)))
        }
        // Each spike's cause breakdown, dominant cause first.
        for spike in result.spikes {
            let dominant = try #require(spike.dominantCause)
            #expect(spikeTable.contains("<td class=\"f\"><i><b>\(dominant.cause.name)</b>"))
        }
        // The reviews chart draws a line per rule that fired there (the default rule, over UF,
        // URX and UH: a `URX,UF` failure is one line, one shaded episode), with a legend.
        let reviewsChart = html.components(separatedBy: "<h3 class=\"mono\">\(Self.reviews)</h3>")[1].components(separatedBy: "</svg>")[0]
        #expect(reviewsChart.contains("UpstreamFailure (UH,UF,URX)</text>"))
        #expect(Self.occurrences(of: "fill-opacity=\"0.08\"", in: reviewsChart) == 1)
        #expect(reviewsChart.contains(">UTC</text>"))
        // At most 300 bins: hover targets, one per bin holding data.
        #expect(Self.occurrences(of: "<title>", in: reviewsChart) <= 300 + 2)
        // Totals table with every cluster.
        let totals = html.components(separatedBy: "<table id=\"totals-table\">")[1].components(separatedBy: "</table>")[0]
        #expect(Self.occurrences(of: "<tr>", in: totals) == result.totals.keys.count + 1)
        #expect(html.utf8.count < 1_000_000, "\(html.utf8.count) bytes")
    }

    @Test func emptyResultRenders() throws {
        let directory = try Scratch.directory("scan")
        defer { try? FileManager.default.removeItem(at: directory) }
        let empty = directory.appendingPathComponent("empty.log")
        _ = FileManager.default.createFile(atPath: empty.path, contents: Data())
        let result = ScanEngine.scan([empty.path], options: ScanOptions())
        for rules in [AlertRule.defaults, []] {
            let html = HTMLReport.render(result, rules: rules)
            #expect(html.hasPrefix("<!DOCTYPE html>"))
            #expect(html.hasSuffix("</html>\n"))
            #expect(html.contains("No records."))
            #expect(!html.contains("<svg"))
        }
    }

    @Test func escaping() {
        #expect(HTMLReport.escaped("<a href='x' title=\"y\">&amp;</a>")
            == "&lt;a href=&#39;x&#39; title=&quot;y&quot;&gt;&amp;amp;&lt;/a&gt;")
        #expect(HTMLReport.escaped("a\u{1B}[31mb\nc\u{7F}") == "a\\x1B[31mb\\x0Ac\\x7F")
        #expect(HTMLReport.escaped("abc\u{202E}fed") == "abc\\u{202E}fed")
        #expect(HTMLReport.escaped("ümlaut 集群") == "ümlaut 集群")
        #expect(HTMLReport.escaped(String(repeating: "<", count: 10), limit: 3) == "&lt;&lt;&lt;… (7 more characters)")
    }

    // MARK: - In a real browser

    /// A Chromium binary: `$CHROMIUM`, else the first of the usual names on PATH.
    static let chromium: String? = {
        let environment = ProcessInfo.processInfo.environment
        if let path = environment["CHROMIUM"], FileManager.default.isExecutableFile(atPath: path) { return path }
        let directories = (environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":").map(String.init) + ["/usr/bin", "/snap/bin"]
        for name in ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable"] {
            for directory in directories where FileManager.default.isExecutableFile(atPath: directory + "/" + name) {
                return directory + "/" + name
            }
        }
        return nil
    }()

    /// Runs headless Chromium with `arguments` and a throwaway profile; killed after `seconds`.
    static func runBrowser(_ arguments: [String], seconds: Int = 60) throws -> (status: Int32, stdout: Data, timedOut: Bool) {
        let scratch = try Scratch.directory("scan")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let profile = scratch.appendingPathComponent("profile")
        let stdoutFile = scratch.appendingPathComponent("stdout")
        let stderrFile = scratch.appendingPathComponent("stderr")
        _ = FileManager.default.createFile(atPath: stdoutFile.path, contents: nil)
        _ = FileManager.default.createFile(atPath: stderrFile.path, contents: nil)
        let browserArguments = [chromium!, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                                "--no-first-run", "--hide-scrollbars", "--user-data-dir=\(profile.path)"] + arguments
        let process = Process()
        // `timeout` kills the browser's whole process group; the deadline below is a second guard.
        if FileManager.default.isExecutableFile(atPath: "/usr/bin/timeout") {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/timeout")
            process.arguments = ["-k", "5", String(seconds)] + browserArguments
        } else {
            process.executableURL = URL(fileURLWithPath: browserArguments[0])
            process.arguments = Array(browserArguments.dropFirst())
        }
        process.standardOutput = try FileHandle(forWritingTo: stdoutFile)
        process.standardError = try FileHandle(forWritingTo: stderrFile)
        process.standardInput = FileHandle.nullDevice
        let done = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in done.signal() }
        try process.run()
        var timedOut = false
        if done.wait(timeout: .now() + .seconds(seconds + 10)) == .timedOut {
            timedOut = true
            process.terminate()
            if done.wait(timeout: .now() + .seconds(5)) == .timedOut { kill(process.processIdentifier, SIGKILL) }
        }
        if process.terminationReason == .exit, process.terminationStatus == 124 { timedOut = true }
        return (process.isRunning ? -1 : process.terminationStatus, try Data(contentsOf: stdoutFile), timedOut)
    }

    /// Where the page (and its screenshot) are written; kept when `FLAGWATCH_HTML_KEEP` names a folder.
    static func pageDirectory() throws -> (URL, keep: Bool) {
        if let keep = ProcessInfo.processInfo.environment["FLAGWATCH_HTML_KEEP"], !keep.isEmpty {
            let url = URL(fileURLWithPath: keep)
            try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
            return (url, true)
        }
        return (try Scratch.directory("scan"), false)
    }

    @Test(.enabled(if: chromium != nil, "no chromium binary found (apt-get install -y chromium, or set CHROMIUM): headless rendering check skipped"), .timeLimit(.minutes(3)))
    func screenshotInHeadlessChromium() throws {
        let (directory, keep) = try Self.pageDirectory()
        defer { if !keep { try? FileManager.default.removeItem(at: directory) } }
        let page = directory.appendingPathComponent("report.html")
        try Self.rendered().html.write(to: page, atomically: true, encoding: .utf8)
        let png = directory.appendingPathComponent("report.png")
        try? FileManager.default.removeItem(at: png)
        let run = try Self.runBrowser(["--screenshot=\(png.path)", "--window-size=1280,2000", page.absoluteString])
        #expect(!run.timedOut, "chromium did not finish within 60 s")
        #expect(run.status == 0)
        let data = try Data(contentsOf: png)
        // A PNG of the window's size, and far from blank: a plain page compresses to a few KB.
        #expect(data.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]))
        func bigEndian(_ offset: Int) -> Int { data[offset..<offset + 4].reduce(0) { $0 << 8 | Int($1) } }
        #expect(data.count > 24 && bigEndian(16) == 1280 && bigEndian(20) == 2000, "\(bigEndian(16))×\(bigEndian(20))")
        #expect(data.count > 60_000, "\(data.count) bytes")
    }

    @Test(.enabled(if: chromium != nil, "no chromium binary found (apt-get install -y chromium, or set CHROMIUM): headless rendering check skipped"), .timeLimit(.minutes(3)))
    func domParsesInHeadlessChromium() throws {
        let (directory, keep) = try Self.pageDirectory()
        defer { if !keep { try? FileManager.default.removeItem(at: directory) } }
        let rendered = try Self.rendered()
        let page = directory.appendingPathComponent("dom.html")
        try rendered.html.write(to: page, atomically: true, encoding: .utf8)
        let run = try Self.runBrowser(["--dump-dom", page.absoluteString])
        #expect(!run.timedOut, "chromium did not finish within 60 s")
        #expect(run.status == 0)
        let dom = String(decoding: run.stdout, as: UTF8.self)
        #expect(dom.contains("<table id=\"spike-table\">"))
        #expect(dom.contains("<table id=\"totals-table\">"))
        // No element but the report's own: attribute values are left out, as older Chromium
        // serializes `<` in them unescaped.
        let markup = dom.replacing(try Regex("\"[^\"]*\""), with: "\"\"")
        #expect(!markup.lowercased().contains("<script"))
        #expect(!markup.contains("<img"))
        // As many charts and table rows in the parsed document as written: no name closed an element early.
        #expect(Self.occurrences(of: "<svg ", in: dom) == Self.occurrences(of: "<svg ", in: rendered.html))
        #expect(Self.occurrences(of: "<tr>", in: dom) == Self.occurrences(of: "<tr>", in: rendered.html))
        #expect(Self.occurrences(of: "<title>", in: dom) == Self.occurrences(of: "<title>", in: rendered.html))
        // The hostile names come back as text.
        #expect(dom.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
        #expect(dom.contains("&lt;img/src=x/onerror=alert(2)&gt;"))
        // Controls come back visible, never raw; the closing tags in a name closed nothing.
        #expect(dom.contains(#"outbound|82||\x1B[2J\x1B]0;t\x07\u{202E}&lt;/svg&gt;&lt;/div&gt;&lt;b&gt;bold\x00"# + "\u{FFFD}\u{FFFD}yyy"))
        #expect(!dom.unicodeScalars.contains { $0.value < 0x20 && $0 != "\n" && $0 != "\t" || $0 == "\u{202E}" })
        #expect(!markup.contains("<b>bold"))
    }
}
