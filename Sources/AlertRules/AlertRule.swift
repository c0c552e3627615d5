import AccessLogFormat

/// One alert rule: which flags to watch on which keys, and when their rate is a problem.
public struct AlertRule: Sendable, Equatable {
    public var name: String
    /// Records that carry any of these flags count toward the rule.
    public var flags: ResponseFlags
    /// Sliding window, seconds.
    public var window: Int = 60
    /// Flagged records in the window.
    public var minCount: Int = 10
    /// Flagged records / requests in the window.
    public var minRatio: Double = 0.05
    /// Requests in the window.
    public var minRequests: Int = 0
    /// Fire only when the window's count exceeds this many times the key's recent baseline
    /// (an EWMA of earlier windows): a spike, not a level.
    public var baselineFactor: Double?
    /// How long the condition must hold before firing, seconds.
    public var forDuration: Int = 0
    /// How long a firing alert stays firing after its condition stops holding, seconds.
    public var keepFiringFor: Int = 0
    /// How often a firing alert is sent again, seconds.
    public var repeatInterval: Int = 3600
    /// One alert per key and cause: the condition is held by the records of one cause (of
    /// all the key's requests), and each cause fires and resolves on its own, labelled with
    /// it. Off, the rule counts its flags over every cause and names the dominant one.
    public var byCause = true
    /// Key patterns (`*`, `?`); empty means every key.
    public var include: [String] = []
    public var exclude: [String] = []
    public var severity: String = "warning"
    public var labels: [String: String] = [:]
    public var annotations: [String: String] = [:]

    public init(name: String, flags: ResponseFlags) {
        self.name = name
        self.flags = flags
    }

    /// One rule over UF, URX and UH: 60 s window, at least 10 flagged and 5 %. One rule, not
    /// one per flag: a dead backend writes `URX,UF` (and `UH` once ejected), which must page
    /// once, not once per flag. It alerts per cause (`byCause`), so one failure is one alert
    /// per cluster and cause, two failures at once are two, and receivers route and group on
    /// the `cause` label.
    /// `BlackHoleCluster` is left out: Istio routes blocked egress there, so its requests
    /// fail by design and would fire forever.
    public static let defaults: [AlertRule] = {
        var rule = AlertRule(name: "UpstreamFailure", flags: [.init(.UF), .init(.URX), .init(.UH)])
        rule.annotations = ["summary": "upstream failures ({{flag}}) on {{cluster}}, probable cause {{cause}}: {{count}} in the window, {{ratio}} of requests"]
        rule.exclude = ["BlackHoleCluster"]
        return [rule]
    }()

    /// Whether the rule watches key `key`.
    public func applies(to key: String) -> Bool {
        (include.isEmpty || include.contains { Glob.matches($0, key) }) && !exclude.contains { Glob.matches($0, key) }
    }

    /// Flag codes in Envoy's table order, for labels and reports.
    public var flagCodes: [String] { flags.members.map(\.shortCode) }
}

/// `*` and `?` patterns over key names (cluster names hold `|`, `.`, `:`, no `/` semantics).
/// Public for alert delivery, whose receivers match rules, severities and clusters the same way.
public enum Glob {
    public static func matches(_ pattern: String, _ text: String) -> Bool {
        let p = Array(pattern.unicodeScalars), t = Array(text.unicodeScalars)
        var pi = 0, ti = 0, star = -1, mark = 0
        while ti < t.count {
            if pi < p.count, p[pi] == "?" || p[pi] == t[ti] {
                pi += 1
                ti += 1
            } else if pi < p.count, p[pi] == "*" {
                star = pi
                mark = ti
                pi += 1
            } else if star >= 0 {
                pi = star + 1
                mark += 1
                ti = mark
            } else {
                return false
            }
        }
        while pi < p.count, p[pi] == "*" { pi += 1 }
        return pi == p.count
    }
}
