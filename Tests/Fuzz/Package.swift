// swift-tools-version:6.1
// libFuzzer targets for flagwatch, in a package of their own so that the main package's
// `swift build` never compiles them. Build and run them with `bash Tests/fuzz.sh SECONDS`:
//
//   swift build -c release --sanitize=fuzzer --sanitize=address --product FuzzTextTokenizer
//
// Each target is one file holding `LLVMFuzzerTestOneInput`, built with `-parse-as-library`
// (libFuzzer provides `main`). The main package is used by path, through its library products.
import Foundation
import PackageDescription

let mainPath = "../.."
/// A path dependency's identity is its folder's name (`main`, `wt-fuzz`, whatever a CI clone uses).
let mainIdentity = URL(fileURLWithPath: mainPath, relativeTo: URL(fileURLWithPath: Context.packageDirectory, isDirectory: true))
    .standardizedFileURL.lastPathComponent.lowercased()

let fuzzTargets: [(name: String, products: [String])] = [
    ("FuzzFormatCompiler", ["AccessLogFormat"]),
    ("FuzzTextTokenizer", ["AccessLogFormat"]),
    ("FuzzJSONTokenizer", ["AccessLogFormat"]),
    ("FuzzGzipReader", ["LogSources"]),
    ("FuzzRulesParser", ["AlertRules", "AccessLogFormat"]),
]

let package = Package(
    name: "flagwatch-fuzz",
    platforms: [.macOS(.v15)],
    products: fuzzTargets.map { .executable(name: $0.name, targets: [$0.name]) },
    dependencies: [.package(path: mainPath)],
    targets: [
        // The invariants of a tokenized line and line splitting, shared by the tokenizer targets.
        .target(name: "FuzzSupport", dependencies: [.product(name: "AccessLogFormat", package: mainIdentity)]),
    ] + fuzzTargets.map { target in
        .executableTarget(
            name: target.name,
            dependencies: ["FuzzSupport"] + target.products.map { .product(name: $0, package: mainIdentity) },
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]
        )
    }
)
