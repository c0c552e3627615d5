import AccessLogFormat
import Dispatch
import GRPCCore
import GRPCNIOTransportHTTP2
import LiveTail
import NIOCore
import NIOPosix
import NIOSSL
import Synchronization

/// What `tail --otlp-grpc/--otlp-http/--envoy-als` listen on, and how.
public struct ReceiverSettings: Sendable {
    public struct Address: Sendable, Equatable, CustomStringConvertible {
        public var host: String
        public var port: Int
        public init(host: String, port: Int) {
            self.host = host
            self.port = port
        }

        public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
    }

    public var otlpGRPC: Address?
    public var otlpHTTP: Address?
    public var envoyALS: Address?
    /// PEM files; both or neither.
    public var tlsCertificate: String?
    public var tlsKey: String?
    public var token = BearerToken(nil)
    /// Largest message taken (gRPC and HTTP alike); a larger one is refused, not read.
    public var maxMessageBytes = 4 << 20
    /// Attribute keys of OTLP records, as `--json-keys` maps them.
    public var attributeKeys = JSONKeys.standard
    /// How long an OTLP export waits for room in a full inbox before it is refused.
    public var patience: Duration = .seconds(1)
    /// Concurrent calls per HTTP/2 connection: with the message limit, what one sender can
    /// hold in memory at once.
    public var maxConcurrentStreams = 16

    public init() {}

    public var isEmpty: Bool { otlpGRPC == nil && otlpHTTP == nil && envoyALS == nil }
}

/// The running receivers: gRPC servers (OTLP and Envoy's service share one when given the
/// same address) and the OTLP/HTTP server, all putting records in one inbox.
public final class PushReceivers: Sendable {
    public let statistics = ReceiverStatistics()
    /// What each receiver listens on, ports resolved (`0` asks for any free one).
    public let listening: [(receiver: String, address: ReceiverSettings.Address)]
    private let servers: [GRPCServer<HTTP2ServerTransport.Posix>]
    private let serving: [Task<Void, Never>]
    private let http: OTLPHTTPReceiver?

    public struct StartError: Error, CustomStringConvertible {
        public var description: String
    }

    public init(_ settings: ReceiverSettings, inbox: PushInbox) throws {
        let admission = Admission(inbox: inbox, patience: settings.patience)
        let statistics = self.statistics
        var tls: (certificate: String, key: String)?
        if let certificate = settings.tlsCertificate, let key = settings.tlsKey { tls = (certificate, key) }

        var byAddress: [(address: ReceiverSettings.Address, services: [any RegistrableRPCService], names: [String])] = []
        func add(_ address: ReceiverSettings.Address?, _ service: any RegistrableRPCService, _ name: String) {
            guard let address else { return }
            if let index = byAddress.firstIndex(where: { $0.address == address && address.port != 0 }) {
                byAddress[index].services.append(service)
                byAddress[index].names.append(name)
            } else {
                byAddress.append((address, [service], [name]))
            }
        }
        add(settings.otlpGRPC, OTLPLogsGRPCService(mapping: OTLPLogMapping(receiver: OTLPLogsGRPCService.receiver, keys: settings.attributeKeys),
                                                   admission: admission, statistics: statistics, token: settings.token),
            OTLPLogsGRPCService.receiver)
        add(settings.envoyALS, AccessLogGRPCService(admission: admission, statistics: statistics, token: settings.token),
            AccessLogGRPCService.receiver)

        var servers: [GRPCServer<HTTP2ServerTransport.Posix>] = []
        var serving: [Task<Void, Never>] = []
        var listening: [(String, ReceiverSettings.Address)] = []
        for entry in byAddress {
            let security: HTTP2ServerTransport.Posix.TransportSecurity = tls.map {
                .tls(certificateChain: [.file(path: $0.certificate, format: .pem)], privateKey: .file(path: $0.key, format: .pem))
            } ?? .plaintext
            let transport = HTTP2ServerTransport.Posix(
                address: .ipv4OrIPv6(entry.address),
                transportSecurity: security,
                config: .defaults { config in
                    config.rpc.maxRequestPayloadSize = settings.maxMessageBytes
                    config.http2.maxConcurrentStreams = settings.maxConcurrentStreams
                    // The OpenTelemetry Collector's exporters compress with gzip by default.
                    config.compression.enabledAlgorithms = [.gzip, .deflate]
                })
            let server = GRPCServer(transport: transport, services: entry.services)
            let failure = Mutex<String?>(nil)
            let task = Task {
                do { try await server.serve() } catch { failure.withLock { $0 = "\(error)" } }
            }
            serving.append(task)
            servers.append(server)
            let port: Result<GRPCNIOTransportCore.SocketAddress, any Error> = PushReceivers.wait {
                do {
                    return .success(try await transport.listeningAddress)
                } catch {
                    // Serving ended with the reason (a port in use, say): wait for it to be kept.
                    await task.value
                    return .failure(error)
                }
            }
            switch port {
            case .success(let address):
                let bound = ReceiverSettings.Address(host: entry.address.host, port: address.ipv4?.port ?? address.ipv6?.port ?? entry.address.port)
                for name in entry.names { listening.append((name, bound)) }
            case .failure(let error):
                for server in servers { server.beginGracefulShutdown() }
                let reason = failure.withLock { $0 } ?? "\(error)"
                throw StartError(description: "\(entry.names.joined(separator: ", ")) on \(entry.address.host):\(entry.address.port): \(reason)")
            }
        }

        var http: OTLPHTTPReceiver?
        if let address = settings.otlpHTTP {
            do {
                let context = try tls.map { tls in
                    let chain = try NIOSSLCertificate.fromPEMFile(tls.certificate).map { NIOSSLCertificateSource.certificate($0) }
                    let key = try NIOSSLPrivateKey(file: tls.key, format: .pem)
                    return try NIOSSLContext(configuration: .makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(key)))
                }
                let handling = OTLPHTTPReceiver.Handling(
                    mapping: OTLPLogMapping(receiver: OTLPHTTPReceiver.receiver, keys: settings.attributeKeys), admission: admission,
                    statistics: statistics, token: settings.token, maxMessageBytes: settings.maxMessageBytes)
                http = try OTLPHTTPReceiver(host: address.host, port: address.port, tls: context, handling: handling,
                                            group: MultiThreadedEventLoopGroup.singleton)
                listening.append((OTLPHTTPReceiver.receiver, ReceiverSettings.Address(host: address.host, port: http!.port)))
            } catch {
                for server in servers { server.beginGracefulShutdown() }
                throw StartError(description: "\(OTLPHTTPReceiver.receiver) on \(address.host):\(address.port): \(error)")
            }
        }
        self.servers = servers
        self.serving = serving
        self.http = http
        self.listening = listening
    }

    private let stopped = Mutex(false)

    /// Stops listening and ends the calls in flight (waits up to `deadline` for them); once.
    public func stop(deadline: Duration = .seconds(2)) {
        guard !stopped.withLock({ was in defer { was = true }; return was }) else { return }
        http?.close()
        for server in servers { server.beginGracefulShutdown() }
        let serving = self.serving
        _ = PushReceivers.wait { () -> Result<Void, Never> in
            // Calls still open at the deadline (Envoy's streams never end by themselves) are cancelled.
            let timeout = Task {
                try? await Task.sleep(for: deadline)
                for task in serving { task.cancel() }
            }
            for task in serving { await task.value }
            timeout.cancel()
            return .success(())
        }
    }

    /// Runs `body` on the concurrency pool and blocks this (non-pool) thread until it ends:
    /// the CLI's follow loop is a plain thread.
    private static func wait<T: Sendable, E: Error>(_ body: @escaping @Sendable () async -> Result<T, E>) -> Result<T, E> {
        let done = DispatchSemaphore(value: 0)
        let result = Mutex<Result<T, E>?>(nil)
        Task {
            let value = await body()
            result.withLock { $0 = value }
            done.signal()
        }
        done.wait()
        return result.withLock { $0! }
    }
}

extension GRPCNIOTransportCore.SocketAddress {
    static func ipv4OrIPv6(_ address: ReceiverSettings.Address) -> Self {
        address.host.contains(":") ? .ipv6(host: address.host, port: address.port) : .ipv4(host: address.host, port: address.port)
    }
}
