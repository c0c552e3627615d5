// swift-tools-version:6.1
// Benchmarks for flagwatch, in a package of their own: the main package's CI build never
// resolves or builds ordo-one/benchmark and its dependencies.
//
//   cd Benchmarks && swift package --allow-writing-to-package-directory benchmark
//
// The main package is used by path, through its library products.
import Foundation
import PackageDescription

/// The flagwatch package: `..`, or FLAGWATCH_PACKAGE_PATH (e.g. a scratch copy of the repo).
let mainPath = ProcessInfo.processInfo.environment["FLAGWATCH_PACKAGE_PATH"] ?? ".."
let mainURL = URL(fileURLWithPath: mainPath, relativeTo: URL(fileURLWithPath: Context.packageDirectory, isDirectory: true))
    .standardizedFileURL
/// A path dependency's identity is its folder's name ("main" here, whatever a CI clone uses).
let mainIdentity = mainURL.lastPathComponent.lowercased()

let package = Package(
    name: "flagwatch-benchmarks",
    platforms: [.macOS(.v15)],
    products: [.executable(name: "gzdecode", targets: ["gzdecode"])],
    dependencies: [
        .package(path: mainPath),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "TokenizerBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "AccessLogFormat", package: mainIdentity),
                .product(name: "RecordCounting", package: mainIdentity),
                .product(name: "FailureCauses", package: mainIdentity),
            ],
            path: "Benchmarks/TokenizerBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        // Decompression alone, through flagwatch's own gzip decoder (compare.sh uses it).
        .executableTarget(
            name: "gzdecode",
            dependencies: [.product(name: "LogSources", package: mainIdentity)],
            path: "Tools/gzdecode"
        ),
    ]
)
