// swift-tools-version: 6.1
import PackageDescription

// Linux only: the byte sources and the follower call Glibc (mmap, inotify, pthreads) directly.

/// The byte kernels (Sources/ByteKernelsSSE2/ByteKernels.swift) are one source compiled once per
/// x86-64 instruction set; `InstructionSet` in AccessLogFormat chooses among them at run time.
/// On other architectures the three are the same portable build, and only the first is used.
func byteKernels(_ name: String, x86Flags: [String]) -> Target {
    #if arch(x86_64)
    let flags = x86Flags.flatMap { ["-Xcc", $0] }
    #else
    let flags: [String] = []
    #endif
    return .target(
        name: name, path: "Sources/\(name)",
        swiftSettings: [.enableExperimentalFeature("BuiltinModule")] + (flags.isEmpty ? [] : [.unsafeFlags(flags)]))
}

let package = Package(
    name: "flagwatch",
    products: [
        .executable(name: "flagwatch", targets: ["flagwatch"]),
        // The engine's libraries, for the benchmarks package and for embedding.
        .library(name: "AccessLogFormat", targets: ["AccessLogFormat"]),
        .library(name: "LogSources", targets: ["LogSources"]),
        .library(name: "RecordCounting", targets: ["RecordCounting"]),
        .library(name: "FailureCauses", targets: ["FailureCauses"]),
        // For the fuzz targets (Tests/Fuzz): the rules parser.
        .library(name: "AlertRules", targets: ["AlertRules"]),
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
        // Pushed inputs only (OTLP over gRPC and Envoy's access-log service), as the HTTP stack is.
        .package(url: "https://github.com/grpc/grpc-swift-2", from: "2.4.3"),
        .package(url: "https://github.com/grpc/grpc-swift-nio-transport", from: "2.9.2"),
        .package(url: "https://github.com/grpc/grpc-swift-protobuf", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
    ],
    targets: [
        // The structural index's and the newline search's byte classification, one build per
        // instruction set. The compiler's Builtin module names the vector movemask, which the
        // standard library's SIMD types lack (Benchmarks/README.md has what that costs).
        byteKernels("ByteKernelsSSE2", x86Flags: []),
        byteKernels("ByteKernelsAVX2", x86Flags: ["-mavx2"]),
        byteKernels("ByteKernelsAVX512", x86Flags: ["-mavx512bw"]),
        // Format compiler and zero-copy tokenizer: standard library and the byte kernels only.
        .target(name: "AccessLogFormat", dependencies: ["ByteKernelsSSE2", "ByteKernelsAVX2", "ByteKernelsAVX512"]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        // ISA-L's inflate, loaded at run time when libisal.so.2 is installed (Debian libisal2):
        // the build needs no ISA-L package, and zlib reads archives when it is missing.
        .target(name: "CIsal", linkerSettings: [.linkedLibrary("dl", .when(platforms: [.linux]))]),
        .target(name: "LogSources", dependencies: ["CZlib", "CIsal"]),
        // The counting core every driver shares: line → record → key → counters (and each
        // flagged record's cause, so the classifier sits below it).
        .target(name: "RecordCounting", dependencies: ["AccessLogFormat", "FailureCauses"]),
        // Windows over time: live rings for tail, sorted bucket runs and timelines for scan.
        .target(name: "FlagAggregation"),
        .target(name: "AlertRules", dependencies: ["AccessLogFormat", "RecordCounting", "FlagAggregation", "FailureCauses", .product(name: "Yams", package: "Yams")]),
        .target(name: "LogScan", dependencies: ["AccessLogFormat", "LogSources", "RecordCounting", "FlagAggregation", "AlertRules", "FailureCauses"]),
        // The probable cause of each failed record, and the commands to check it: standard library only.
        .target(name: "FailureCauses", dependencies: ["AccessLogFormat"]),
        .target(name: "LogFollow", dependencies: ["LogSources"]),
        .target(name: "LiveTail", dependencies: ["AccessLogFormat", "RecordCounting", "FlagAggregation", "AlertRules", "FailureCauses", "LogFollow"]),
        // `top`'s full-screen view: frames as pure functions of a snapshot, the terminal's modes, keys.
        .target(name: "LiveView", dependencies: ["RecordCounting", "FailureCauses"]),
        .target(name: "FlagMetrics", dependencies: [
            "RecordCounting",
            .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
        ]),
        .target(name: "ScanReports", dependencies: ["AccessLogFormat", "RecordCounting", "FlagAggregation", "AlertRules", "FailureCauses", "LogScan"]),
        // Sends alert events to webhooks, Slack and Alertmanager: queues, retries, spool.
        .target(
            name: "AlertDelivery",
            dependencies: [
                "AlertRules", "RecordCounting",
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
        // OTLP logs and Envoy's access-log service, generated by Protos/generate.sh (committed).
        .target(
            name: "ReceiverProtos",
            dependencies: [
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
            ],
            exclude: ["Protos"]
        ),
        // Receives pushed logs (OTLP/gRPC, OTLP/HTTP, Envoy's gRPC access-log service) and
        // hands their records to tail's inbox.
        .target(
            name: "LogReceivers",
            dependencies: [
                "ReceiverProtos", "AccessLogFormat", "LiveTail",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        .executableTarget(
            name: "flagwatch",
            dependencies: [
                "RecordCounting", "LogScan", "ScanReports", "LiveTail", "LiveView", "FlagMetrics", "AlertDelivery", "FailureCauses",
                "LogReceivers",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // What every test target shares: scratch folders, repository paths, a process runner.
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "AccessLogFormatTests", dependencies: ["AccessLogFormat", "TestSupport"]),
        .testTarget(name: "LogSourcesTests", dependencies: ["LogSources", "TestSupport"]),
        .testTarget(name: "RecordCountingTests", dependencies: ["RecordCounting", "AccessLogFormat", "FailureCauses"]),
        .testTarget(name: "FlagAggregationTests", dependencies: ["FlagAggregation"]),
        .testTarget(name: "FailureCausesTests", dependencies: ["FailureCauses", "AccessLogFormat"], exclude: ["Fixtures"]),
        .testTarget(name: "AlertRulesTests", dependencies: ["AlertRules", "FlagAggregation", "FailureCauses"]),
        .testTarget(name: "LogScanTests", dependencies: ["LogScan", "ScanReports", "RecordCounting", "FlagAggregation", "AlertRules", "FailureCauses", "TestSupport"]),
        .testTarget(name: "LogFollowTests", dependencies: ["LogFollow", "TestSupport"]),
        .testTarget(name: "LiveTailTests", dependencies: ["LiveTail", "LogScan", "RecordCounting", "AlertRules", "LogFollow", "AccessLogFormat", "TestSupport"]),
        .testTarget(name: "LiveViewTests", dependencies: ["LiveView", "RecordCounting", "FailureCauses"]),
        .testTarget(name: "FlagMetricsTests", dependencies: ["FlagMetrics", "RecordCounting"]),
        // Real gRPC and HTTP clients on 127.0.0.1 against the receivers.
        .testTarget(name: "LogReceiversTests", dependencies: [
            "LogReceivers", "ReceiverProtos", "LiveTail", "AccessLogFormat", "TestSupport",
            .product(name: "GRPCCore", package: "grpc-swift-2"),
            .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
            .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
        ]),
        // Real HTTP servers, TLS and Alertmanager on 127.0.0.1.
        .testTarget(name: "AlertDeliveryTests", dependencies: ["AlertDelivery", "AlertRules", "AccessLogFormat", "FailureCauses", "TestSupport"], exclude: ["Support"]),
        // Runs the built `flagwatch` binary as a user would.
        .testTarget(name: "FlagwatchCLITests", dependencies: ["flagwatch", "TestSupport", .product(name: "Yams", package: "Yams")], exclude: ["Fixtures", "Support"]),
    ]
)
