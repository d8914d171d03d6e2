import Foundation
import Hummingbird
import KychCore
import KychGateway
import KychHTTP
import KychStorage
import Testing

/// The API description (`Sources/KychHTTP/openapi.json`, served at `/openapi.json`): a valid OpenAPI 3.1 document
/// (PyPI openapi-spec-validator) that names every route the gateway and its embedded verifier serve, and that PyPI
/// schemathesis finds true of a live gateway: no 5xx, and every status, content type, header and body as documented.
/// Fails, rather than skips, when Python or the packages are missing (scripts/test installs them).
@Suite struct OpenAPITests {
    static let document = TestEnvironment.packageRoot.appendingPathComponent("Sources/KychHTTP/openapi.json")
    static let script = TestEnvironment.packageRoot.appendingPathComponent("Tests/api/schemathesis_run.py")

    @Test func theDocumentIsValidOpenAPI31() async throws {
        let python = try #require(Run.which("python3"), "python3 is missing")
        let result = try await Run.program(python, ["-m", "openapi_spec_validator", Self.document.path])
        #expect(result.status == 0, "\(result.stdout) \(result.stderr)")
        #expect(APIDescription.complete["openapi"] == "3.1.0")
    }

    /// Each route the gateway registers (with the verifier embedded) is a documented operation, and each documented
    /// operation is a route: an endpoint added without its description fails here.
    @Test func everyRouteOfTheGatewayAndItsEmbeddedVerifierIsDescribed() async throws {
        let directory = try VerifierTestConfig.temporaryDirectory()
        let text = """
            [kych-oauth2-gateway]
            HOST = 127.0.0.1
            PORT = 9
            DATABASE = sqlite://\(directory.appendingPathComponent("kych.db").path)
            [client_a]
            CLIENT_ID = a
            CLIENT_SECRET = secret-token:openapi-routes-0123456789
            VERIFIER_URL = http://127.0.0.1:9
            REDIRECT_URI = https://a.example/cb
            \(VerifierTestConfig.embeddedVerifierSection(baseURL: "http://127.0.0.1:9", directory: directory, token: "secret-token:m"))
            """
        let config = try GatewayConfig.validate(try IniFile.parse(text, path: "openapi.conf", environment: [:]))
        let routes = try await Stores.with(config.database, sealing: config.sealing, logger: TestEnvironment.logger) { stores in
            // The router is complete once buildApplication returns (the embedded verifier's routes come after these).
            var router: Router<GatewayRequestContext>?
            _ = try await buildApplication(config, stores: stores, logger: TestEnvironment.logger) { built, _ in router = built }
            return Set(router?.routes.map { "\($0.method.rawValue) \($0.path)" } ?? [])
        }
        #expect(routes == Self.operations(APIDescription.complete))
    }

    /// The gateway without an embedded verifier serves no verifier operation; a standalone verifier only its own.
    @Test func eachServerDescribesTheOperationsItServes() {
        let gateway = Self.operations(APIDescription.document(.gateway))
        let verifier = Self.operations(APIDescription.document(.verifier))
        #expect(gateway.contains("POST /token") && gateway.contains("GET /openapi.json"))
        #expect(!gateway.contains { $0.contains("/management/") || $0.contains("/oid4vp/") })
        #expect(verifier == ["GET /health", "GET /health/live", "GET /health/ready", "GET /openapi.json", "POST /management/api/verifications",
                             "GET /management/api/verifications/{id}", "GET /oid4vp/api/openid-client-metadata.json",
                             "GET /oid4vp/api/request-object/{id}", "POST /oid4vp/api/request-object/{id}/response-data"])
        #expect(gateway.union(verifier) == Self.operations(APIDescription.complete))
    }

    /// A standalone `kych-verifier` serves the verifier's part at its own `/openapi.json`.
    @Test func theStandaloneVerifierServesItsPart() async throws {
        let directory = try VerifierTestConfig.temporaryDirectory()
        let verifier = try await BuiltInVerifier.start(database: "sqlite://\(directory.appendingPathComponent("verifier.db").path)",
                                                       webhook: nil)
        let reply = try await HTTP.get(verifier.baseURL + "/openapi.json")
        await verifier.stop()
        #expect(reply.status == 200)
        #expect(Self.operations(reply.json) == Self.operations(APIDescription.document(.verifier)))
    }

    /// schemathesis over every operation of the live gateway's own `/openapi.json`, positive and negative data.
    @Test(.timeLimit(.minutes(5))) func schemathesisFindsNoServerErrorAndNoAnswerTheDocumentDoesNotAllow() async throws {
        let secret = "secret-token:openapi-client-0123456789abcdef"
        let redirect = "https://rp.example.com/kych/callback"
        let gateway = try await WalletGateway.start { verifierSettings in
            """
            [client_api]
            CLIENT_ID = api-client
            CLIENT_SECRET = \(secret)
            REDIRECT_URI = \(redirect)
            \(verifierSettings)
            """
        }
        let python = try #require(Run.which("python3"), "python3 is missing")
        let result: ProcessResult
        do {
            result = try await Run.program(python, [
                Self.script.path, "--base-url", gateway.process.baseURL, "--client-id", "api-client", "--redirect-uri", redirect,
                "--wallet-bin", WalletGateway.walletBinary, "--wallet", gateway.wallet,
            ], environment: ["KYCH_API_CLIENT_SECRET": secret, "KYCH_API_MANAGEMENT_TOKEN": gateway.managementToken])
        } catch {
            _ = await gateway.process.terminate()
            throw error
        }
        #expect(result.status == 0, "\(result.stdout)\n\(result.stderr)")
        #expect(result.stdout.contains("operations described: 33"), "\(result.stdout)")
        #expect(!gateway.process.log.contains(secret), "the client secret must not be logged")
        #expect(await gateway.process.terminate() == 0)
    }

    /// `METHOD /path` of every operation in `document`.
    static func operations(_ document: JSON) -> Set<String> {
        var operations = Set<String>()
        for (path, item) in document["paths"]?.objectValue ?? [:] {
            for method in (item.objectValue ?? [:]).keys { operations.insert("\(method.uppercased()) \(path)") }
        }
        return operations
    }
}
