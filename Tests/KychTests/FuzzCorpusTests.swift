import Foundation
import Testing

/// The fuzz targets (`Sources/Fuzz/`, `scripts/fuzz`) in the normal build: every committed corpus input and crash
/// reproducer (`Tests/Fuzz/corpus/NAME`, `Tests/Fuzz/regressions/NAME`) replayed through `kych-fuzz-NAME`, which runs
/// the same checks as under libFuzzer, so a parser crash, hang or broken invariant fails here in seconds.
@Suite struct FuzzCorpusTests {
    static let fuzzDirectory = TestEnvironment.packageRoot.appendingPathComponent("Tests/Fuzz")
    static let targets = ((try? FileManager.default.contentsOfDirectory(
        atPath: fuzzDirectory.appendingPathComponent("corpus").path)) ?? []).sorted()

    /// Runs `kych-fuzz-NAME arguments…`: its exit status and standard output.
    static func run(_ name: String, _ arguments: [String]) async throws -> (status: Int32, output: String) {
        let result = try await Run.program("kych-fuzz-\(name)", arguments)
        return (result.status, result.stdout)
    }

    /// The replay's verdict per input file name.
    static func replay(_ name: String) async throws -> [String: Bool] {
        var directories = [fuzzDirectory.appendingPathComponent("corpus/\(name)").path]
        let regressions = fuzzDirectory.appendingPathComponent("regressions/\(name)").path
        if FileManager.default.fileExists(atPath: regressions) { directories.append(regressions) }
        let (status, output) = try await run(name, directories)
        #expect(status == 0, "kych-fuzz-\(name) stopped (\(status)) after: \(output.split(separator: "\n").suffix(2))")
        var verdicts: [String: Bool] = [:]
        for line in output.split(separator: "\n") {
            guard let colon = line.lastIndex(of: ":") else { continue }
            let verdict = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            guard verdict == "accepted" || verdict == "rejected" else { continue }
            verdicts[URL(fileURLWithPath: String(line[..<colon])).lastPathComponent] = verdict == "accepted"
        }
        return verdicts
    }

    @Test func everyParserHasACorpus() {
        #expect(Set(Self.targets) == ["client-jwt", "dcql", "deflate", "form", "ini", "json", "jwe", "request-object", "sdjwt",
                                     "statuslist", "wallet-response"])
    }

    @Test(arguments: targets) func corpusAndRegressionsReplayCleanly(_ name: String) async throws {
        let verdicts = try await Self.replay(name)
        #expect(verdicts.values.contains(true), "no input of \(name) gets past its parser's checks")
    }

    /// The generated seeds (signed with the fixture keys at the fixture time) are committed, so the fuzzer starts
    /// from inputs that pass the signature checks.
    @Test(arguments: targets) func generatedSeedsAreCommitted(_ name: String) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("kych-seeds-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let (status, _) = try await Self.run(name, ["--seeds", directory.path])
        #expect(status == 0)
        let generated = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        let committed = try FileManager.default.contentsOfDirectory(atPath: Self.fuzzDirectory.appendingPathComponent("corpus/\(name)").path)
        #expect(Set(generated).isSubset(of: committed), "regenerate with kych-fuzz-\(name) --seeds Tests/Fuzz/corpus/\(name)")
    }

    /// The committed presentations and status lists verify, so the fuzzer explores from accepted inputs.
    @Test func signedSeedsVerify() async throws {
        let presentations = try await Self.replay("sdjwt")
        for seed in ["all-as-sent", "some-as-sent", "none-as-sent", "all-resigned-claims", "some-resigned-claims"] {
            #expect(presentations[seed] == true, "\(seed)")
        }
        #expect(presentations["issuance-as-sent"] == false, "an issuance without a KB-JWT is not a presentation")
        let statusLists = try await Self.replay("statuslist")
        #expect(statusLists["token-1bit"] == true && statusLists["token-8bit-resigned"] == true)
        let responses = try await Self.replay("wallet-response")
        #expect(responses.filter { $0.key.hasPrefix("direct-post") }.values.allSatisfy { $0 } && responses.count >= 4)
        let clientJWTs = try await Self.replay("client-jwt")
        #expect(clientJWTs["dpop-proof"] == true && clientJWTs["fixture-jwk"] == true && clientJWTs["private-jwk"] == false)
        let requests = try await Self.replay("request-object")
        for seed in ["claims-direct_post", "claims-direct_post.jwt", "signed-direct_post", "signed-direct_post.jwt"] {
            #expect(requests[seed] == true, "\(seed)")
        }
    }

    /// The fuzz targets link no networking, so the sanitizer build stays small.
    @Test func fuzzTargetsLinkNoNetworking() async throws {
        let graph = try await PackageGraphTests.graph()
        let fuzzTargets = graph.keys.filter { $0.hasPrefix("kych-fuzz-") }
        #expect(Set(fuzzTargets) == Set(Self.targets.map { "kych-fuzz-\($0)" }))
        for target in fuzzTargets {
            let networking = PackageGraphTests.closure(target, in: graph).filter {
                $0.hasPrefix("swift-nio") || $0.hasPrefix("async-http-client") || $0.hasPrefix("hummingbird/")
                    || $0.hasPrefix("postgres-nio") || $0.hasPrefix("sqlite-nio")
            }
            #expect(networking.isEmpty, "\(target) reaches \(networking.sorted())")
        }
    }
}
