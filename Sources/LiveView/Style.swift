/// SGR attributes, or none at all under `NO_COLOR` (https://no-color.org) and off a terminal.
public struct Style: Sendable {
    public var colour: Bool

    public init(colour: Bool) { self.colour = colour }

    /// Whether the environment allows colour: `NO_COLOR` set to anything (even empty) forbids it.
    public static func allowsColour(environment: [String: String]) -> Bool { environment["NO_COLOR"] == nil }

    func paint(_ text: String, _ attributes: String) -> String {
        colour ? "\u{1B}[\(attributes)m" + text + "\u{1B}[0m" : text
    }

    func title(_ text: String) -> String { paint(text, "1") }
    func header(_ text: String) -> String { paint(text, "7") }
    func selected(_ text: String) -> String { paint(text, "7") }
    func firing(_ text: String) -> String { paint(text, "1;31") }
    func pending(_ text: String) -> String { paint(text, "33") }
    func dim(_ text: String) -> String { paint(text, "2") }
}
