import AlertRules
import Foundation
import Yams

/// Reads the `receivers:` section of a rules file (the rules parser skips it).
///
/// ```yaml
/// receivers:
///   - name: oncall
///     type: webhook                 # webhook | alertmanager | slack
///     url: https://hooks.example.com/flagwatch
///     match: {severity: critical, cluster: ["outbound|*||payments.*"]}
///     auth: {bearerTokenEnv: ONCALL_TOKEN}
///     hmac: {secretFile: /run/secrets/oncall-hmac}
///   - name: alertmanager
///     type: alertmanager
///     urls: [http://am-0:9093, http://am-1:9093]
///   - name: slack
///     type: slack
///     urlEnv: SLACK_WEBHOOK_URL
/// ```
///
/// Secrets (tokens, passwords, HMAC keys, URLs that hold a token) are only read from
/// environment variables (`…Env`) or files (`…File`), never written in the file itself.
public enum ReceiverFile {
    /// The receivers in `yaml`; none when it has no `receivers:` key. Secrets are read from
    /// `environment` and from files (a file's trailing newline is not part of its secret).
    public static func parse(_ yaml: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws(RuleFileError) -> [ReceiverConfig] {
        guard let list = try RuleFile.compose(yaml)?.mapping?["receivers"] else { return [] }
        guard let items = list.sequence else { throw RuleFile.at(list, "'receivers' must be a list") }
        let reader = SecretReader(environment: environment)
        var receivers: [ReceiverConfig] = []
        for item in items {
            let receiver = try parseReceiver(item, reader)
            if receivers.contains(where: { $0.name == receiver.name }) { throw RuleFile.at(item, "duplicate receiver name '\(receiver.name)'") }
            receivers.append(receiver)
        }
        return receivers
    }

    static func parseReceiver(_ node: Node, _ reader: SecretReader) throws(RuleFileError) -> ReceiverConfig {
        guard let mapping = node.mapping else { throw RuleFile.at(node, "a receiver must be a mapping") }
        guard let nameNode = mapping["name"], let name = nameNode.string, !name.isEmpty else {
            throw RuleFile.at(node, "a receiver needs a 'name'")
        }
        guard let typeNode = mapping["type"] else { throw RuleFile.at(node, "receiver '\(name)' needs a 'type' (\(kindList))") }
        guard let kind = ReceiverConfig.Kind(rawValue: try RuleFile.string(typeNode)) else {
            throw RuleFile.at(typeNode, "unknown receiver type (expected \(kindList))")
        }
        var receiver = ReceiverConfig(name: name, kind: kind, endpoints: [])
        for (keyNode, value) in mapping {
            let key = keyNode.string ?? ""
            switch key {
            case "name", "type": break
            case "url": receiver.endpoints.append(try endpoint(value, isSecret: false))
            case "urlEnv", "urlFile": receiver.endpoints.append(try endpoint(reader.read(key, value), isSecret: true))
            case "urls" where kind == .alertmanager:
                guard let urls = value.sequence, urls.count > 0 else { throw RuleFile.at(value, "'urls' must be a list of URLs") }
                for url in urls { receiver.endpoints.append(try endpoint(url, isSecret: false)) }
            case "match": receiver.match = try match(value)
            case "groupWait": receiver.groupWait = try duration(value)
            case "timeout": receiver.timeout = try duration(value, minimum: .milliseconds(1))
            case "connectTimeout": receiver.connectTimeout = try duration(value, minimum: .milliseconds(1))
            case "resendInterval" where kind == .alertmanager: receiver.resendInterval = try duration(value, minimum: .seconds(1))
            case "queueCapacity":
                receiver.queueCapacity = try RuleFile.integer(value)
                if receiver.queueCapacity < 1 { throw RuleFile.at(value, "'queueCapacity' must be at least 1") }
            case "retry": receiver.retry = try retry(value)
            case "tls": receiver.tls = try tls(value)
            case "auth": receiver.authorization = try authorization(value, reader)
            case "hmac": receiver.signingSecret = try fields(value, "hmac", [:], secrets: ["secret"], reader).secrets["secret"]
            case "externalURL":
                let url = try RuleFile.string(value)
                if let problem = Endpoint.problem(url, allowsPassword: false) { throw RuleFile.at(value, problem) }
                receiver.externalURL = url
            default: throw RuleFile.at(keyNode, "unknown key '\(key)' in receiver '\(name)'")
            }
        }
        if receiver.endpoints.isEmpty {
            throw RuleFile.at(node, "receiver '\(name)' needs 'url', 'urlEnv' or 'urlFile'\(kind == .alertmanager ? " or 'urls'" : "")")
        }
        if kind != .alertmanager, receiver.endpoints.count > 1 { throw RuleFile.at(node, "receiver '\(name)' has more than one URL") }
        return receiver
    }

    static var kindList: String { ReceiverConfig.Kind.allCases.map(\.rawValue).joined(separator: ", ") }

    static func endpoint(_ node: Node, isSecret: Bool) throws(RuleFileError) -> Endpoint {
        try endpoint((RuleFile.string(node), node), isSecret: isSecret)
    }

    static func endpoint(_ value: (text: String, node: Node), isSecret: Bool) throws(RuleFileError) -> Endpoint {
        // A URL read from a secret source is not repeated in the error.
        if let problem = Endpoint.problem(value.text, allowsPassword: isSecret) { throw RuleFile.at(value.node, problem) }
        return Endpoint(value.text, isSecret: isSecret)
    }

    static func match(_ node: Node) throws(RuleFileError) -> ReceiverMatch {
        let values = try fields(node, "match", ["rule": .patterns, "severity": .patterns, "cluster": .patterns], secrets: [], nil)
        return ReceiverMatch(rules: values.patterns["rule"] ?? [], severities: values.patterns["severity"] ?? [], clusters: values.patterns["cluster"] ?? [])
    }

    static func retry(_ node: Node) throws(RuleFileError) -> RetryPolicy {
        var policy = RetryPolicy()
        let values = try fields(node, "retry", ["initialBackoff": .duration, "maxBackoff": .duration, "maxRetryAfter": .duration], secrets: [], nil)
        policy.initialBackoff = values.durations["initialBackoff"] ?? policy.initialBackoff
        policy.maxBackoff = values.durations["maxBackoff"] ?? policy.maxBackoff
        policy.maxRetryAfter = values.durations["maxRetryAfter"] ?? policy.maxRetryAfter
        return policy
    }

    static func tls(_ node: Node) throws(RuleFileError) -> TLSOptions {
        let values = try fields(node, "tls", ["caFile": .string, "insecureSkipVerify": .bool], secrets: [], nil)
        return TLSOptions(caFile: values.strings["caFile"], insecureSkipVerify: values.bools["insecureSkipVerify"] ?? false)
    }

    static func authorization(_ node: Node, _ reader: SecretReader) throws(RuleFileError) -> Authorization {
        let values = try fields(node, "auth", ["username": .string], secrets: ["bearerToken", "password"], reader)
        switch (values.secrets["bearerToken"], values.strings["username"], values.secrets["password"]) {
        case (let token?, nil, nil): return .bearer(token)
        case (nil, let user?, let password?): return .basic(username: user, password: password)
        default: throw RuleFile.at(node, "'auth' takes bearerTokenEnv or bearerTokenFile, or username with passwordEnv or passwordFile")
        }
    }

    // MARK: Values

    enum FieldKind { case string, bool, duration, patterns }

    struct Fields {
        var strings: [String: String] = [:]
        var bools: [String: Bool] = [:]
        var durations: [String: Swift.Duration] = [:]
        var patterns: [String: [String]] = [:]
        var secrets: [String: Secret] = [:]
    }

    /// A mapping of known keys. A secret named `token` is read from `tokenEnv` or `tokenFile`;
    /// `token` itself is refused, so a credential never lands in a file that is committed.
    static func fields(_ node: Node, _ section: String, _ kinds: [String: FieldKind], secrets: [String], _ reader: SecretReader?) throws(RuleFileError) -> Fields {
        guard let mapping = node.mapping else { throw RuleFile.at(node, "'\(section)' must be a mapping") }
        var values = Fields()
        for (keyNode, value) in mapping {
            let key = keyNode.string ?? ""
            if let secret = secrets.first(where: { key == $0 + "Env" || key == $0 + "File" }), let reader {
                if values.secrets[secret] != nil { throw RuleFile.at(keyNode, "'\(secret)' is given twice") }
                values.secrets[secret] = Secret(try reader.read(key, value).text)
                continue
            }
            if secrets.contains(key) { throw RuleFile.at(keyNode, "secrets are read from '\(key)Env' (an environment variable) or '\(key)File', never written here") }
            switch kinds[key] {
            case .string: values.strings[key] = try RuleFile.string(value)
            case .bool:
                guard let flag = value.bool else { throw RuleFile.at(value, "expected true or false") }
                values.bools[key] = flag
            case .duration: values.durations[key] = try duration(value)
            case .patterns: values.patterns[key] = value.sequence == nil ? [try RuleFile.string(value)] : try RuleFile.strings(value)
            case nil:
                let known = kinds.keys.sorted() + secrets.flatMap { [$0 + "Env", $0 + "File"] }
                throw RuleFile.at(keyNode, "unknown key '\(key)' in '\(section)' (expected \(known.joined(separator: ", ")))")
            }
        }
        return values
    }

    /// `250ms`, `2s`, `5m`.
    static func duration(_ node: Node, minimum: Swift.Duration = .zero) throws(RuleFileError) -> Swift.Duration {
        guard let text = node.scalar?.string, let millis = DurationText.milliseconds(text), Swift.Duration.milliseconds(millis) >= minimum else {
            throw RuleFile.at(node, "expected a duration such as 500ms, 30s or 5m (at least \(minimum))")
        }
        return .milliseconds(millis)
    }
}

/// Reads `…Env` and `…File` values.
struct SecretReader {
    var environment: [String: String]

    /// The value for `key` (ending in `Env` or `File`) named by `node`, with the node for errors.
    func read(_ key: String, _ node: Node) throws(RuleFileError) -> (text: String, node: Node) {
        let source = try RuleFile.string(node)
        let text: String
        if key.hasSuffix("Env") {
            guard let value = environment[source] else { throw RuleFile.at(node, "environment variable \(source) is not set") }
            text = value
        } else {
            do {
                text = try String(contentsOfFile: source, encoding: .utf8)
            } catch {
                throw RuleFile.at(node, "cannot read \(source)")
            }
        }
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.isEmpty { throw RuleFile.at(node, "\(source) is empty") }
        return (trimmed, node)
    }
}
