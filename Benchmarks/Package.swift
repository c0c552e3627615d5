// swift-tools-version:6.1
// Benchmarks for flagwatch, in a package of their own: the main package's CI build never
// resolves or builds ordo-one/benchmark and its dependencies.
//
//   cd Benchmarks && swift package --allow-writing-to-package-directory benchmark
//
// The main package is used by path, and only its library products can be named here. This
// manifest reads the main manifest: when it exports `FlagAggregation`, the benchmarks count
// with the real `FlagCounter` (else with a copy of its hot path,
// Benchmarks/TokenizerBenchmarks/CountingMirror.swift); when it exports `LogSources`, the
// `gzdecode` tool (decompression alone, for compare.sh) is declared too.
import Foundation
import PackageDescription

/// The flagwatch package: `..`, or FLAGWATCH_PACKAGE_PATH (e.g. a scratch copy of the repo).
let mainPath = ProcessInfo.processInfo.environment["FLAGWATCH_PACKAGE_PATH"] ?? ".."
let mainURL = URL(fileURLWithPath: mainPath, relativeTo: URL(fileURLWithPath: Context.packageDirectory, isDirectory: true))
    .standardizedFileURL
/// A path dependency's identity is its folder's name ("main" here, whatever a CI clone uses).
let mainIdentity = mainURL.lastPathComponent.lowercased()
let mainManifest = (try? String(contentsOf: mainURL.appendingPathComponent("Package.swift"), encoding: .utf8)) ?? ""

func mainExports(_ library: String) -> Bool {
    mainManifest.contains(".library(name: \"\(library)\"")
}

let hasFlagAggregation = mainExports("FlagAggregation")
let hasLogSources = mainExports("LogSources")

var tokenizerDependencies: [Target.Dependency] = [
    .product(name: "Benchmark", package: "benchmark"),
    .product(name: "AccessLogFormat", package: mainIdentity),
]
var tokenizerSettings: [SwiftSetting] = []
if hasFlagAggregation {
    tokenizerDependencies.append(.product(name: "FlagAggregation", package: mainIdentity))
    tokenizerSettings.append(.define("REAL_FLAG_COUNTER"))
}

var targets: [Target] = [
    .executableTarget(
        name: "TokenizerBenchmarks",
        dependencies: tokenizerDependencies,
        path: "Benchmarks/TokenizerBenchmarks",
        swiftSettings: tokenizerSettings,
        plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
    ),
]
var products: [Product] = []
if hasLogSources {
    // Decompression alone, through flagwatch's own gzip decoder (compare.sh uses it).
    targets.append(.executableTarget(
        name: "gzdecode",
        dependencies: [.product(name: "LogSources", package: mainIdentity)],
        path: "Tools/gzdecode"
    ))
    products.append(.executable(name: "gzdecode", targets: ["gzdecode"]))
}

let package = Package(
    name: "flagwatch-benchmarks",
    platforms: [.macOS(.v15)],
    products: products,
    dependencies: [
        .package(path: mainPath),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: targets
)
