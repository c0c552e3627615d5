import AccessLogFormat
import AlertRules
import Foundation
import LogScan
import RecordCounting

/// The `--output json` report. Keys are documented in the README; later versions add keys
/// and never rename these.
public struct JSONReport: Encodable {
    struct Cluster: Encodable {
        var cluster: String
        var requests: Int
        /// Requests with at least one upstream-failure flag (UF, URX, UH, UT, UC, UO, …).
        var upstreamFailures: Int
        var flags: [String: Int]
        /// Records with a flag per cause name; they add up to the records with a flag.
        var causes: [String: Int]
        /// The cause most of them have (null without flagged records).
        var cause: String?
        var causeSamples: [String: Sample]

        init(_ key: String, _ totals: KeyTotals) {
            cluster = key
            requests = totals.requests
            upstreamFailures = totals.upstreamFailures
            flags = totals.flags
            causes = totals.causes
            cause = totals.dominantCause?.cause.name
            causeSamples = totals.causeSamples.mapValues(Sample.init)
        }

        func encode(to encoder: Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(cluster, forKey: .cluster)
            try container.encode(requests, forKey: .requests)
            try container.encode(upstreamFailures, forKey: .upstreamFailures)
            try container.encode(flags, forKey: .flags)
            try container.encode(causes, forKey: .causes)
            try container.encode(cause, forKey: .cause)  // null, not absent, when nothing failed
            try container.encode(causeSamples, forKey: .causeSamples)
        }

        enum CodingKeys: String, CodingKey { case cluster, requests, upstreamFailures, flags, causes, cause, causeSamples }
    }

    /// A cause's first line.
    struct Sample: Encodable {
        var line: String
        var file: String
        var lineNumber: Int

        init(_ sample: CauseSample) {
            line = sample.line
            file = sample.file
            lineNumber = sample.lineNumber
        }
    }

    struct Input: Encodable {
        var path: String
        var bytes: Int
        var lines: Int
        var records: Int
        var malformed: Int
        var error: String?
        /// The field the input was grouped by; absent when no format was chosen for it.
        var groupBy: String?
        /// The shipper's envelope its lines came in (`docker-json`, `message`, `loki`); absent when none.
        var envelope: String?
        /// Records that lacked a counted field, by field; only non-zero counts.
        var missingFields: [String: Int]

        init(_ input: InputSummary) {
            path = input.path
            bytes = input.bytes
            lines = input.lines
            records = input.records
            malformed = input.malformed
            error = input.error
            groupBy = input.groupBy?.groupName
            envelope = input.envelope?.name
            missingFields = input.groupBy.map(input.missingFields.byName(groupBy:)) ?? [:]
        }

        func encode(to encoder: Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(path, forKey: .path)
            try container.encode(bytes, forKey: .bytes)
            try container.encode(lines, forKey: .lines)
            try container.encode(records, forKey: .records)
            try container.encode(malformed, forKey: .malformed)
            try container.encode(error, forKey: .error)  // null, not absent, when the input was read whole
            try container.encodeIfPresent(groupBy, forKey: .groupBy)
            try container.encodeIfPresent(envelope, forKey: .envelope)
            try container.encode(missingFields, forKey: .missingFields)
        }

        enum CodingKeys: String, CodingKey { case path, bytes, lines, records, malformed, error, groupBy, envelope, missingFields }
    }

    struct SpikeEntry: Encodable {
        var rule: String
        var cluster: String
        var flags: [String]
        var start: String
        var end: String
        var peakCount: Int
        var peakRatio: Double
        var count: Int
        var requests: Int
        var causes: [String: Int]
        /// The dominant cause and its share of `count`.
        var cause: String?
        var causeShare: Double?

        func encode(to encoder: Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            for (key, value) in [(CodingKeys.rule, rule), (.cluster, cluster), (.start, start), (.end, end)] {
                try container.encode(value, forKey: key)
            }
            try container.encode(flags, forKey: .flags)
            try container.encode(peakCount, forKey: .peakCount)
            try container.encode(peakRatio, forKey: .peakRatio)
            try container.encode(count, forKey: .count)
            try container.encode(requests, forKey: .requests)
            try container.encode(causes, forKey: .causes)
            try container.encode(cause, forKey: .cause)
            try container.encode(causeShare, forKey: .causeShare)
        }

        enum CodingKeys: String, CodingKey {
            case rule, cluster, flags, start, end, peakCount, peakRatio, count, requests, causes, cause, causeShare
        }
    }

    var format: String
    var formats: [String: Int]
    var gzipDecoder: String
    var groupBy: String
    var lines: Int
    var records: Int
    var malformed: Int
    var malformedByReason: [String: Int]
    var outsideTimeRange: Int
    var flags: [String: Int]
    /// Records with a flag per cause, over all clusters.
    var causes: [String: Int]
    var clusters: [Cluster]
    var inputs: [Input]
    var late: Int
    var keysOverflowed: Int
    var untimed: Int
    var spikes: [SpikeEntry]

    public init(_ result: ScanResult, gzipDecoder: String) {
        self.init(result.counts, spikes: result.spikes, gzipDecoder: gzipDecoder)
    }

    /// A report of counts alone (`tail --report`), or of counts and the spikes found in them.
    public init(_ result: CountSummary, spikes: [Spike] = [], gzipDecoder: String) {
        format = result.format
        formats = result.recordsByFormat
        self.gzipDecoder = gzipDecoder
        groupBy = result.groupBy.groupName
        lines = result.lines
        records = result.records
        malformed = result.malformed
        malformedByReason = Dictionary(uniqueKeysWithValues: result.malformedByReason.map { ($0.key.name, $0.value) })
        outsideTimeRange = result.outsideTimeRange
        flags = result.totals.flags
        causes = result.totals.causes
        clusters = result.totals.keys.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }.map { Cluster($0.key, $0.value) }
        late = result.late
        keysOverflowed = result.keysOverflowed
        untimed = result.untimed
        self.spikes = spikes.map {
            SpikeEntry(rule: $0.rule, cluster: $0.cluster, flags: $0.flags, start: RFC3339.string(micros: $0.start),
                       end: RFC3339.string(micros: $0.end), peakCount: $0.peakCount, peakRatio: $0.peakRatio,
                       count: $0.count, requests: $0.requests, causes: $0.causes, cause: $0.dominantCause?.cause.name,
                       causeShare: $0.dominantCause?.share)
        }
        inputs = result.inputs.map(Input.init)
    }

    /// Pretty JSON with sorted keys, so equal scans give byte-identical reports; safe to print
    /// on a terminal (`Terminal.escapingJSON`).
    public func rendered() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        // Encoding plain strings and integers cannot fail.
        return Terminal.escapingJSON(String(decoding: try! encoder.encode(self), as: UTF8.self)) + "\n"
    }
}
