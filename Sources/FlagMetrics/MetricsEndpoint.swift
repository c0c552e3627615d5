import Foundation
import RecordCounting

/// The paths `--metrics-listen` answers, over the snapshots the follow loop publishes.
public enum MetricsEndpoint {
    /// flagwatch's version: what `flagwatch --version` prints and `flagwatch_build_info`
    /// reports. The one place it is written.
    public static let version = "0.3.0"
    /// A loop that has not published for this long is reported unhealthy.
    static let stalledAfter = 10.0

    public static func serve(_ board: SnapshotBoard, on address: ListenAddress,
                             extra: @escaping @Sendable () -> [ExtraSeries] = { [] }) throws -> MetricsServer
    {
        try MetricsServer(address: address) { path in respond(to: path, board: board, extra: extra) }
    }

    static func respond(to path: String, board: SnapshotBoard, extra: () -> [ExtraSeries]) -> MetricsServer.Response {
        let snapshot = board.latest.withLock { $0 }
        switch path {
        case "/metrics":
            guard let snapshot else { return MetricsServer.Response(status: .serviceUnavailable, body: Array("starting\n".utf8)) }
            return MetricsServer.Response(status: .ok, contentType: PrometheusText.contentType,
                                          body: PrometheusText.render(snapshot, extra: extra(), version: version))
        case "/healthz":
            guard let snapshot, Date().timeIntervalSince1970 - snapshot.takenAt < stalledAfter else {
                return MetricsServer.Response(status: .serviceUnavailable, body: Array("follow loop not running\n".utf8))
            }
            return MetricsServer.Response(status: .ok, body: Array("ok\n".utf8))
        case "/readyz":
            return snapshot == nil
                ? MetricsServer.Response(status: .serviceUnavailable, body: Array("starting\n".utf8))
                : MetricsServer.Response(status: .ok, body: Array("ready\n".utf8))
        default:
            return MetricsServer.Response(status: .notFound, body: Array("not found: /metrics, /healthz, /readyz\n".utf8))
        }
    }
}
