import Foundation
import Testing
import TestSupport

/// A directory holding an Envoy-default log, an Istio log and a sparse Gloo JSON log (real
/// lines from Tests/Corpus): each file grouped by the first field of `--group-by` it has,
/// nothing merged silently, and what records lacked said in the report and on stderr.
struct MixedDirectoryTests {
    static let corpus = Repository.corpus

    /// a-istio.log sorts first: its field, cluster, keeps plain key names.
    static func directory() throws -> URL {
        let folder = try Scratch.directory("mixed")
        for (source, name) in [("text/12-simple-app-istio-ingress.log", "a-istio.log"), ("text/21-envoy-default-misc.log", "b-envoy.log"),
                               ("written/gloo-camel-case.jsonl", "c-gloo.jsonl")]
        {
            try FileManager.default.copyItem(at: corpus.appendingPathComponent(source), to: folder.appendingPathComponent(name))
        }
        return folder
    }

    static func inputs(_ report: [String: Any]) throws -> [String: [String: Any]] {
        let inputs = try #require(report["inputs"] as? [[String: Any]])
        return Dictionary(uniqueKeysWithValues: inputs.map { (URL(fileURLWithPath: $0["path"] as! String).lastPathComponent, $0) })
    }

    @Test(arguments: [[], ["--group-by", "cluster,authority"]])
    func eachFileIsGroupedByItsOwnFieldAndSaysWhatWasMissing(groupBy: [String]) throws {
        let folder = try Self.directory()
        defer { try? FileManager.default.removeItem(at: folder) }
        for threads in ["1", "2"] {
            let run = try ScanCommandTests.flagwatch(["scan", "--output", "json", "--threads", threads] + groupBy + [folder.path])
            #expect(run.status == 0, "\(run.stderr)")
            let report = try ScanCommandTests.json(run.stdout)
            #expect(report["groupBy"] as? String == "cluster")
            let inputs = try Self.inputs(report)
            #expect(inputs["a-istio.log"]?["groupBy"] as? String == "cluster")
            #expect(inputs["b-envoy.log"]?["groupBy"] as? String == "authority")
            #expect(inputs["c-gloo.jsonl"]?["groupBy"] as? String == "cluster")
            #expect(inputs["a-istio.log"]?["missingFields"] as? [String: Int] == [:])
            #expect(inputs["b-envoy.log"]?["missingFields"] as? [String: Int] == [:])
            #expect(inputs["c-gloo.jsonl"]?["missingFields"] as? [String: Int] == ["time": 2, "responseCode": 1, "responseFlags": 2])
            #expect(inputs.values.allSatisfy { $0["envelope"] == nil })

            let clusters = try #require(report["clusters"] as? [[String: Any]])
            let requests = Dictionary(uniqueKeysWithValues: clusters.map { ($0["cluster"] as! String, $0["requests"] as! Int) })
            #expect(requests == [
                "-": 3,  // Istio's NR lines, and nothing of the Envoy file
                "outbound|80||my-app.default.svc.cluster.local": 1,
                "authority:example.projectcontour.io": 1, "authority:localhost:8000": 1, "authority:locations": 1,
                "default-petstore-8080_gloo-system": 3,
            ])
            let stderr = run.stderr.split(separator: "\n").map(String.init)
            #expect(stderr.contains("note: grouped by authority (their format has no cluster field), keys named authority:VALUE: "
                + folder.appendingPathComponent("b-envoy.log").path), "\(run.stderr)")
            #expect(stderr.contains("note: \(folder.appendingPathComponent("c-gloo.jsonl").path): "
                + "2 records have no time (untimed), 1 no response code, 2 no response flags"), "\(run.stderr)")
        }
    }

    @Test func oneFieldForEveryFileSaysWhichRecordsLackIt() throws {
        let folder = try Self.directory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let run = try ScanCommandTests.flagwatch(["scan", "--group-by", "cluster", folder.path])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("grouped by cluster"))
        #expect(!run.stderr.contains("note: grouped by"))
        #expect(run.stderr.contains("note: \(folder.appendingPathComponent("b-envoy.log").path): 3 records have no cluster (counted under -)"),
                "\(run.stderr)")
    }

    @Test func anEnvelopeIsNamedPerInput() throws {
        let folder = try Self.directory()
        defer { try? FileManager.default.removeItem(at: folder) }
        try FileManager.default.copyItem(at: Self.corpus.appendingPathComponent("written/docker-json-file.log"),
                                         to: folder.appendingPathComponent("d-docker.log"))
        let run = try ScanCommandTests.flagwatch(["scan", "--output", "json", folder.path])
        let inputs = try Self.inputs(try ScanCommandTests.json(run.stdout))
        #expect(inputs["d-docker.log"]?["envelope"] as? String == "docker-json")
        #expect(inputs["a-istio.log"]?["envelope"] == nil)
    }

    @Test func aGroupOrderWithAnUnknownFieldIsAUsageError() throws {
        let run = try ScanCommandTests.flagwatch(["scan", "--group-by", "cluster,host", "-"])
        #expect(run.status == 64)
        #expect(run.stderr.contains("not 'host'"), "\(run.stderr)")
    }
}
