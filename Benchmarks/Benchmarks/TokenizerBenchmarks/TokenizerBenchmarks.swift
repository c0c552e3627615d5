import AccessLogFormat
import Benchmark
import Foundation

// Throughput of flagwatch's per-line work on realistic generated logs held in memory.
//
// One iteration = 1000 lines (scalingFactor .kilo): `throughput` is thousands of lines per
// second; with `--scale`, wall clock and mallocCountTotal are per line. The custom metrics
// `MB/s` and `lines/s` are measured inside each iteration from the bytes it covered.
// mallocCountTotal must be 0: the setup runs a full pass over the corpus first, so every
// interner and counter already holds every key.
//
// Regression gate (Benchmarks/gate.sh): `thresholds check` compares each run's p90 against
// Thresholds/HOST/ with the tolerances below: no allocation at all, and throughput within
// FLAGWATCH_GATE_TOLERANCE percent (default 20: the machine is shared).

let megabytesPerSecond = BenchmarkMetric.custom("MB/s", polarity: .prefersLarger, useScalingFactor: false)
let linesPerSecond = BenchmarkMetric.custom("lines/s", polarity: .prefersLarger, useScalingFactor: false)

/// Set up lazily by each benchmark's setup, so a filtered run generates only what it needs.
final class Holder: @unchecked Sendable {
    var pipeline: Pipeline?
}

@inline(__always)
func report(_ benchmark: Benchmark, bytes: Int, lines: Int, nanos: Int) {
    guard nanos > 0 else { return }
    benchmark.measurement(megabytesPerSecond, bytes * 1000 / nanos)
    benchmark.measurement(linesPerSecond, Int(Double(lines) * 1e9 / Double(nanos)))
}

let benchmarks: @Sendable () -> Void = {
    let environment = ProcessInfo.processInfo.environment
    let tolerance = environment["FLAGWATCH_GATE_TOLERANCE"].flatMap(Double.init) ?? 20
    let configuration = Benchmark.Configuration(
        metrics: [.wallClock, .throughput, .mallocCountTotal, megabytesPerSecond, linesPerSecond],
        units: [megabytesPerSecond: .count, linesPerSecond: .kilo],
        warmupIterations: 20,
        scalingFactor: .kilo,
        // FLAGWATCH_BENCH_SECONDS shortens the runs (the gate uses 2).
        maxDuration: .seconds(environment["FLAGWATCH_BENCH_SECONDS"].flatMap(Int.init) ?? 3),
        maxIterations: 1_000_000,
        thresholds: [
            .mallocCountTotal: .init(absolute: [.p90: 0]),
            .throughput: .init(relative: [.p90: tolerance]),
        ]
    )

    for corpusName in ["istio", "envoy"] {
        // Tokenize and count, then the same with every failed record's cause computed too.
        for (name, classifying) in [("Tokenize+count \(corpusName) (auto format)", false),
                                    ("Tokenize+count+classify \(corpusName) (auto format, causes)", true)]
        {
            let parse = Holder()
            Benchmark(
                name,
                configuration: configuration,
                closure: { benchmark in
                    let pipeline = parse.pipeline!
                    let count = benchmark.scaledIterations.count
                    let start = monotonicNanos()
                    let bytes = pipeline.run(lines: count)
                    let nanos = monotonicNanos() - start
                    benchmark.stopMeasurement()
                    report(benchmark, bytes: bytes, lines: count, nanos: nanos)
                },
                setup: {
                    let pipeline = Pipeline(corpus: Corpus.named(corpusName), classifying: classifying)
                    FileHandle.standardError.write(Data((pipeline.warmUpAndVerify() + "\n").utf8))
                    parse.pipeline = pipeline
                },
                teardown: { parse.pipeline = nil }
            )
        }

        let split = Holder()
        Benchmark(
            "LineSplitter \(corpusName) (newline search only)",
            configuration: configuration,
            closure: { benchmark in
                let pipeline = split.pipeline!
                let count = benchmark.scaledIterations.count
                let start = monotonicNanos()
                let bytes = pipeline.split(lines: count)
                let nanos = monotonicNanos() - start
                benchmark.stopMeasurement()
                Benchmark.blackHole(bytes)
                report(benchmark, bytes: bytes, lines: count, nanos: nanos)
            },
            setup: { split.pipeline = Pipeline(corpus: Corpus.named(corpusName)) },
            teardown: { split.pipeline = nil }
        )

        // The same search with the standard library's SIMD types alone: no movemask, so the
        // bits are gathered by multiplication (StandardLibrarySIMD.swift).
        let plain = Holder()
        Benchmark(
            "LineSplitter \(corpusName), standard library SIMD only",
            configuration: configuration,
            closure: { benchmark in
                let pipeline = plain.pipeline!
                let count = benchmark.scaledIterations.count
                let start = monotonicNanos()
                let bytes = pipeline.splitWithStandardLibrarySIMD(lines: count)
                let nanos = monotonicNanos() - start
                benchmark.stopMeasurement()
                Benchmark.blackHole(bytes)
                report(benchmark, bytes: bytes, lines: count, nanos: nanos)
            },
            setup: { plain.pipeline = Pipeline(corpus: Corpus.named(corpusName)) },
            teardown: { plain.pipeline = nil }
        )
    }
}
