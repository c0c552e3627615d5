// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "flagwatch",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "flagwatch", targets: ["flagwatch"]),
        // The engine's libraries, for the benchmarks package and for embedding.
        .library(name: "AccessLogFormat", targets: ["AccessLogFormat"]),
        .library(name: "LogSources", targets: ["LogSources"]),
        .library(name: "FlagAggregation", targets: ["FlagAggregation"]),
        .library(name: "FailureCauses", targets: ["FailureCauses"]),
        // For the fuzz targets (Tests/Fuzz): the rules parser.
        .library(name: "AlertRules", targets: ["AlertRules"]),
    ],
    traits: [
        .trait(name: "ISAL", description: "Inflate gzip input with ISA-L (libisal-dev) instead of zlib."),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        // Alert delivery and the metrics endpoint only (the engine modules stay free of the HTTP stack).
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.3"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        // Format compiler and zero-copy tokenizer: standard library only. The compiler's
        // Builtin module names SSE2's movemask, which the standard library's SIMD types lack.
        .target(name: "AccessLogFormat", swiftSettings: [.enableExperimentalFeature("BuiltinModule")]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CIsal", pkgConfig: "libisal", providers: [.apt(["libisal-dev"])]),
        .target(name: "LogSources", dependencies: ["CZlib", .target(name: "CIsal", condition: .when(traits: ["ISAL"]))]),
        .target(name: "FlagAggregation", dependencies: ["AccessLogFormat"]),
        // The probable cause of each failed record, and the commands to check it: standard library only.
        .target(name: "FailureCauses", dependencies: ["AccessLogFormat"]),
        .target(name: "AlertRules", dependencies: ["AccessLogFormat", "FlagAggregation", .product(name: "Yams", package: "Yams")]),
        .target(name: "LogScan", dependencies: ["AccessLogFormat", "LogSources", "FlagAggregation", "AlertRules"]),
        .target(name: "LogFollow", dependencies: ["LogSources"]),
        .target(name: "LiveTail", dependencies: ["AccessLogFormat", "FlagAggregation", "AlertRules", "LogFollow", "LogScan"]),
        .target(name: "FlagMetrics", dependencies: [
            "FlagAggregation", "LiveTail",
            .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
        ]),
        .target(name: "ScanReports", dependencies: ["AccessLogFormat", "FlagAggregation", "AlertRules", "LogScan"]),
        // Sends alert events to webhooks, Slack and Alertmanager: queues, retries, spool.
        .target(
            name: "AlertDelivery",
            dependencies: [
                "AlertRules",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Yams", package: "Yams"),
            ]
        ),
        .executableTarget(
            name: "flagwatch",
            dependencies: [
                "LogScan", "ScanReports", "LiveTail", "FlagMetrics", "AlertDelivery", "FailureCauses",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(name: "AccessLogFormatTests", dependencies: ["AccessLogFormat"]),
        .testTarget(name: "LogSourcesTests", dependencies: ["LogSources"]),
        .testTarget(name: "FlagAggregationTests", dependencies: ["FlagAggregation"]),
        .testTarget(name: "FailureCausesTests", dependencies: ["FailureCauses", "AccessLogFormat"], exclude: ["Fixtures"]),
        .testTarget(name: "AlertRulesTests", dependencies: ["AlertRules"]),
        .testTarget(name: "LogScanTests", dependencies: ["LogScan", "ScanReports"]),
        .testTarget(name: "LogFollowTests", dependencies: ["LogFollow"]),
        .testTarget(name: "LiveTailTests", dependencies: ["LiveTail"]),
        .testTarget(name: "FlagMetricsTests", dependencies: ["FlagMetrics"]),
        // Real HTTP servers, TLS and Alertmanager on 127.0.0.1.
        .testTarget(name: "AlertDeliveryTests", dependencies: ["AlertDelivery", "AlertRules"], exclude: ["Support"]),
        // Runs the built `flagwatch` binary as a user would.
        .testTarget(name: "FlagwatchCLITests", dependencies: ["flagwatch", .product(name: "Yams", package: "Yams")], exclude: ["Support"]),
    ]
)
