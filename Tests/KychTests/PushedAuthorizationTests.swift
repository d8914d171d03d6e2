import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import KychCore
import KychGateway
import Testing

/// PAR (RFC 9126) and JAR (RFC 9101) end to end on PostgreSQL, with request objects signed by PyPI joserfc
/// (`Tests/rp/request_objects.py`, no KyCH code): a pushed, signed request runs to a code and a token through a real
/// wallet presentation, and is refused when used again (also on another instance on the same database) or late; a
/// request object signed by another key or with `alg: none` is refused at `/par` and at `/authorize`; a PAR-only client
/// cannot use plain `/authorize`, a client that must sign cannot send plain parameters.
@Suite struct PushedAuthorizationTests {
    static let script = TestEnvironment.packageRoot.appendingPathComponent("Tests/rp/request_objects.py")
    static let issuer = "https://kych-par.example"
    static let secret = GatewayHarness.secret
    static let otherRedirect = "https://par.example/cb"

    struct Signed {
        var jwks: JSON
        var objects: [String: String]
    }

    /// joserfc makes the client's key and signs each object: `(name, signer, claims)`, signer `client`, `other` or `none`.
    static func sign(_ objects: [(String, String, [String: JSON])]) async throws -> Signed {
        let python = try #require(Run.which("python3"), "python3 is missing")
        let job = JSON.object(["objects": .array(objects.map { name, signer, claims in
            .object(["name": .string(name), "signer": .string(signer), "claims": .object(claims), "typ": "oauth-authz-req+jwt"])
        })])
        let result = try await Run.program(python, [script.path], stdin: job.serialized())
        try #require(result.status == 0, "request_objects.py failed: \(result.stderr)")
        let output = try JSON.parse(Data(result.stdout.utf8))
        let signed = (output["objects"]?.objectValue ?? [:]).compactMapValues { $0.stringValue }
        try #require(signed.count == objects.count, "\(result.stdout)")
        return Signed(jwks: try #require(output["jwks"]), objects: signed)
    }

    /// The claims of a request object for `client` to `redirect`, valid for five minutes.
    static func claims(client: String = "test-client", redirect: String = GatewayHarness.redirect) -> [String: JSON] {
        ["iss": .string(client), "aud": .string(issuer), "client_id": .string(client), "response_type": "code",
         "redirect_uri": .string(redirect), "state": .string(GatewayHarness.state), "scope": "given_name family_name",
         "exp": .integer(Int64(Date().timeIntervalSince1970) + 300)]
    }

    static func form(_ parameters: [String: String]) -> String {
        parameters.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value.urlEscaped)" }.joined(separator: "&")
    }

    @Test func aPushedSignedRequestRunsToATokenAndEveryMisuseIsRefused() async throws {
        let signed = try await Self.sign([
            ("flow", "client", Self.claims()),
            ("other-key", "other", Self.claims()),
            ("none", "none", Self.claims()),
            ("signed-only", "client", Self.claims(client: "signed-only", redirect: Self.otherRedirect)),
        ])
        let jwks = signed.jwks.serialized()
        let client = { (id: String, setting: String) in
            """
            [client_\(id)]
            CLIENT_ID = \(id)
            CLIENT_SECRET = \(Self.secret)
            VERIFIER_URL = %VERIFIER%
            REDIRECT_URI = \(Self.otherRedirect)
            ACCEPTED_ISSUER_DIDS = {%ISSUER%}
            JWKS = \(jwks)
            \(setting)
            """
        }
        let harness = try await GatewayHarness.make(
            clientSettings: "JWKS = \(jwks)", mainSettings: "BASE_URL = \(Self.issuer)",
            extraClients: client("par-only", "REQUIRE_PUSHED_AUTHORIZATION_REQUESTS = yes") + "\n"
                + client("signed-only", "REQUIRE_SIGNED_REQUEST_OBJECT = yes"))
        // A second instance on the same database, whose request_uris live one second.
        var shortLived = harness.config
        shortLived.pushedRequestTTLSeconds = 1
        let second = try await buildApplication(shortLived, logger: TestEnvironment.logger)

        try await harness.run { flow in
            try await second.test(.router) { secondClient in
                let other = FlowClient(client: secondClient, harness: harness)
                func push(_ parameters: [String: String], on flow: FlowClient = flow) async throws -> TestResponse {
                    try await flow.request("/par", .post, headers: [.contentType: "application/x-www-form-urlencoded"],
                                           body: Self.form(parameters.merging(["client_secret": Self.secret]) { $1 }))
                }
                func pushed(_ parameters: [String: String], on flow: FlowClient = flow) async throws -> String {
                    let response = try await push(parameters, on: flow)
                    #expect(response.status == .created && response.headers[.cacheControl] == "no-store", "\(response.text)")
                    return try #require(response.json["request_uri"]?.stringValue)
                }
                func authorize(_ query: [String: String], on flow: FlowClient = flow) async throws -> TestResponse {
                    try await flow.request("/authorize?" + Self.form(query), headers: [.accept: "application/json"])
                }

                let metadata = try await flow.request("/.well-known/oauth-authorization-server").json
                #expect(metadata["pushed_authorization_request_endpoint"] == .string(Self.issuer + "/par"))
                #expect(metadata["request_parameter_supported"] == true && metadata["require_pushed_authorization_requests"] == false)

                // PAR + JAR to a token. The query's own parameters do not count; only a hash of the handle is stored,
                // and nothing of the client's authentication.
                let response = try await push(["client_id": "test-client", "request": signed.objects["flow"] ?? ""])
                #expect(response.status == .created && response.json["expires_in"] == 60, "\(response.text)")
                let requestURI = try #require(response.json["request_uri"]?.stringValue)
                #expect(requestURI.hasPrefix("urn:ietf:params:oauth:request_uri:"))
                let stored = try await harness.db.strings("SELECT parameters FROM oauth2gw.pushed_authorization_requests")
                #expect(stored.count == 1 && stored.first?.contains(GatewayHarness.state) == true)
                #expect(stored.first?.contains(Self.secret) == false && stored.first?.contains(requestURI) == false)
                let started = try await flow.start(uri: "/authorize?" + Self.form(["client_id": "test-client", "request_uri": requestURI,
                                                                                    "scope": "portrait", "state": "ignored"]))
                let info = try await flow.complete(started)
                #expect(info["claims"]?.objectValue?.keys.sorted() == ["family_name", "given_name"])

                // Used once, across instances.
                try await authorize(["client_id": "test-client", "request_uri": requestURI]).expectOAuthError("invalid_request", status: .badRequest)
                let acrossInstances = try await pushed(["client_id": "test-client", "request": signed.objects["flow"] ?? ""])
                #expect(try await authorize(["client_id": "test-client", "request_uri": acrossInstances], on: other).status == .ok)
                try await authorize(["client_id": "test-client", "request_uri": acrossInstances]).expectOAuthError("invalid_request", status: .badRequest)
                // After its expiry.
                let late = try await pushed(["client_id": "test-client", "request": signed.objects["flow"] ?? ""], on: other)
                try await Task.sleep(for: .milliseconds(1500))
                let expired = try await authorize(["client_id": "test-client", "request_uri": late])
                expired.expectOAuthError("invalid_request", status: .badRequest)
                #expect(expired.json["error_description"]?.stringValue?.contains("expired") == true)

                // Request objects that are not the client's: at /par (JSON) and at /authorize (a page, JSON when asked).
                for name in ["other-key", "none"] {
                    let object = signed.objects[name] ?? ""
                    try await push(["client_id": "test-client", "request": object]).expectOAuthError("invalid_request_object", status: .badRequest)
                    let direct = try await authorize(["client_id": "test-client", "request": object])
                    direct.expectOAuthError("invalid_request", status: .badRequest)
                    #expect(direct.json["error_description"]?.stringValue?.contains("request object") == true)
                    let page = try await flow.request("/authorize?" + Self.form(["client_id": "test-client", "request": object]))
                    #expect(page.status == .badRequest && page.headers[.contentType]?.hasPrefix("text/html") == true)
                }

                // A PAR-only client: plain /authorize is refused, a pushed request (plain parameters) goes through.
                let plain = ["response_type": "code", "client_id": "par-only", "redirect_uri": Self.otherRedirect, "state": GatewayHarness.state]
                let refused = try await authorize(plain)
                refused.expectOAuthError("invalid_request", status: .badRequest)
                #expect(refused.json["error_description"]?.stringValue?.contains("/par") == true)
                let parOnly = try await pushed(plain)
                #expect(try await authorize(["client_id": "par-only", "request_uri": parOnly]).status == .ok)

                // A client that must sign: plain parameters are refused, pushed or not; its signed request is accepted.
                let unsigned = plain.merging(["client_id": "signed-only"]) { $1 }
                try await push(unsigned).expectOAuthError("invalid_request", status: .badRequest)
                try await authorize(unsigned).expectOAuthError("invalid_request", status: .badRequest)
                let signedOnly = try await pushed(["client_id": "signed-only", "request": signed.objects["signed-only"] ?? ""])
                #expect(try await authorize(["client_id": "signed-only", "request_uri": signedOnly]).status == .ok)
            }
        }
    }
}
