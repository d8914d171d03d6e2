import Foundation
import Testing

/// The module graph as `Package.swift` declares it (read through `swift package dump-package`): the test
/// wallet stays out of production executables, storage stays below the verifier's service, and the
/// authorization-server domain stays free of networking.
@Suite struct PackageGraphTests {
    /// Each target's direct dependencies: our targets by name, products as `package/product`.
    static func graph() async throws -> [String: [String]] {
        let root = TestEnvironment.packageRoot
        // Its own scratch path: the package's .build is locked by the `swift test` running this.
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("kych-dump-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let data = Data(try await Run.program("/usr/bin/env", ["swift", "package", "--package-path", root.path, "--scratch-path", scratch.path,
                                                               "dump-package"]).stdout.utf8)
        let package = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let targets = try #require(package["targets"] as? [[String: Any]])
        var graph: [String: [String]] = [:]
        for target in targets {
            let name = try #require(target["name"] as? String)
            let dependencies = target["dependencies"] as? [[String: [Any]]] ?? []
            graph[name] = dependencies.compactMap { dependency in
                if let byName = dependency["byName"]?.first as? String { return byName }
                if let product = dependency["product"], let name = product.first as? String, product.count > 1,
                   let package = product[1] as? String { return "\(package)/\(name)" }
                return nil
            }
        }
        return graph
    }

    /// Everything `target` depends on, directly or not.
    static func closure(_ target: String, in graph: [String: [String]]) -> Set<String> {
        var seen: Set<String> = []
        var queue = graph[target] ?? []
        while let next = queue.popLast() {
            guard seen.insert(next).inserted else { continue }
            queue += graph[next] ?? []
        }
        return seen
    }

    @Test func productionExecutablesDoNotLinkTheTestWallet() async throws {
        let graph = try await Self.graph()
        for executable in ["kych-oauth2-gateway", "kych-verifier", "kych-client-management", "kych-dbinit"] {
            #expect(graph[executable] != nil, "\(executable) is not a target")
            #expect(!Self.closure(executable, in: graph).contains("KychWallet"), "\(executable) links KychWallet")
        }
        #expect(Self.closure("kych-demo", in: graph).contains("KychWallet"))
    }

    @Test func storageDoesNotDependOnTheVerifierService() async throws {
        let graph = try await Self.graph()
        for storage in ["KychPostgres", "KychSQLite", "KychStorage"] {
            let closure = Self.closure(storage, in: graph)
            #expect(!closure.contains("KychVerifier") && !closure.contains("KychVerifierServer"), "\(storage): \(closure.sorted())")
        }
    }

    @Test func theDomainImportsNoNetworking() async throws {
        let graph = try await Self.graph()
        let closure = Self.closure("KychOAuth", in: graph)
        let networking = closure.filter { $0.hasPrefix("swift-nio") || $0.hasPrefix("async-http-client") || $0.hasPrefix("hummingbird/")
            || $0.hasPrefix("postgres-nio") || $0.hasPrefix("sqlite-nio") }
        #expect(networking.isEmpty, "KychOAuth reaches \(networking.sorted())")
        #expect(!closure.contains("KychOutboundHTTP") && !closure.contains("KychSwiyuClient"))
        #expect(!closure.contains { $0.hasPrefix("swift-metrics/") || $0.hasPrefix("swift-prometheus/") }, "the domain counts through FlowEvents")
    }

    /// One module links the metrics backend and binds each server's registry; the others use swift-metrics' API only.
    @Test func onlyKychHTTPLinksPrometheus() async throws {
        let graph = try await Self.graph()
        let direct = graph.filter { $0.value.contains("swift-prometheus/Prometheus") }.keys
        #expect(Array(direct) == ["KychHTTP"], "\(direct.sorted())")
    }
}
