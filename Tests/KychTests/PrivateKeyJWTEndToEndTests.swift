import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import KychCore
import KychGateway
import KychSDJWT
import Testing

/// `private_key_jwt` (RFC 7523) end to end on PostgreSQL: the client keys and every assertion come from PyPI joserfc
/// (`Tests/rp/client_assertion.py`, no KyCH code). A client with an inline `JWKS` and one with a `JWKS_URI` (served by a
/// loopback server the test runs) get tokens; forgeries, replays (also to a second gateway instance on the same
/// database) and the wrong method for the client are refused with `invalid_client`. Fails, rather than skips, when
/// Python or joserfc is missing.
@Suite struct PrivateKeyJWTEndToEndTests {
    static let script = TestEnvironment.packageRoot.appendingPathComponent("Tests/rp/client_assertion.py")
    static let issuer = "https://kych.example.com"
    static let inlineSecret = "secret-token:pk-inline-also-has-a-secret-0123456"

    /// Runs `client_assertion.py command` with `request` on standard input; its JSON answer.
    static func joserfc(_ command: String, _ request: JSON) async throws -> JSON {
        let python = try #require(Run.which("python3"), "python3 is missing")
        let result = try await Run.program(python, [script.path, command], input: JSONText.serialize(request))
        try #require(result.status == 0, "client_assertion.py \(command) failed: \(result.stderr)")
        return try JSON.parse(Data(result.stdout.utf8))
    }

    /// One assertion joserfc signs: by default iss = sub = `client`, aud = the issuer, a minute's lifetime, a new jti.
    struct Assertion {
        var client: String
        var key: JSON = .null
        var alg = "ES256"
        var aud: JSON = .string(PrivateKeyJWTEndToEndTests.issuer)
        var claims: [String: JSON] = [:]

        var request: JSON {
            ["client_id": .string(client), "key": key, "alg": .string(alg), "aud": aud, "claims": .object(claims),
             "secret": .string(PrivateKeyJWTEndToEndTests.inlineSecret)]
        }
    }

    static func sign(_ assertions: [Assertion]) async throws -> [String] {
        let signed = try await joserfc("sign", .array(assertions.map(\.request))).arrayValue?.compactMap(\.stringValue) ?? []
        try #require(signed.count == assertions.count)
        return signed
    }

    static func jwks(_ keys: [JSON]) -> String {
        String(decoding: JSONText.serialize(["keys": .array(keys)]), as: UTF8.self)
    }

    static func client(_ name: String, _ settings: String) -> String {
        """

        [client_\(name)]
        CLIENT_ID = \(name)
        VERIFIER_URL = %VERIFIER%
        REDIRECT_URI = \(GatewayHarness.redirect)
        ACCEPTED_ISSUER_DIDS = {%ISSUER%}
        DEFAULT_SCOPE = {given_name, age_over_18}
        \(settings)
        """
    }

    /// A form POST to `path`.
    static func post(_ client: any TestClientProtocol, _ path: String, _ form: [(String, String)],
                     authorization: String? = nil) async throws -> TestResponse {
        var headers: HTTPFields = [.contentType: "application/x-www-form-urlencoded"]
        if let authorization { headers[.authorization] = authorization }
        return try await client.execute(uri: path, method: .post, headers: headers, body: ByteBuffer(string: FormURLEncoding.encode(form)))
    }

    static func assertionForm(_ assertion: String) -> [(String, String)] {
        [("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"), ("client_assertion", assertion)]
    }

    /// An authorization code for `clientID`: a standard /authorize (no /setup, which needs a secret), the wallet, /finalize.
    static func code(_ flow: FlowClient, for clientID: String) async throws -> String {
        let response = try await flow.request(flow.authorizeURI(nil, clientID: clientID), headers: [.accept: "application/json"])
        #expect(response.status == .ok, "\(response.text)")
        let setCookie = try #require(response.headers[.setCookie])
        let started = FlowClient.Started(verificationID: try #require(response.json["verification_id"]?.stringValue),
                                         cookie: String(setCookie.split(separator: ";")[0]),
                                         deeplink: try #require(response.json["verification_deeplink"]?.stringValue))
        try await flow.present(started)
        #expect(try await flow.notify(started.verificationID).status == .noContent)
        return try #require(try await flow.finalize(started)?["code"])
    }

    /// /token with the code and a client assertion: the access token.
    static func token(_ flow: FlowClient, code: String, assertion: String) async throws -> String {
        let response = try await post(flow.client, "/token", [("grant_type", "authorization_code"), ("code", code),
                                                              ("redirect_uri", GatewayHarness.redirect)] + assertionForm(assertion))
        #expect(response.status == .ok, "\(response.text)")
        return try #require(response.json["access_token"]?.stringValue)
    }

    /// The refusal of `form` at `path`: `invalid_client` (401, JSON with a description); the description.
    @discardableResult
    static func refused(_ client: any TestClientProtocol, _ form: [(String, String)], at path: String = "/token", authorization: String? = nil,
                        sourceLocation: SourceLocation = #_sourceLocation) async throws -> String {
        let form = path == "/token" ? form + [("grant_type", "authorization_code"), ("code", "no-such-code"),
                                              ("redirect_uri", GatewayHarness.redirect)] : form + [("token", "no-such-token")]
        let response = try await post(client, path, form, authorization: authorization)
        response.expectOAuthError("invalid_client", status: .unauthorized, sourceLocation: sourceLocation)
        return response.json["error_description"]?.stringValue ?? ""
    }

    @Test func joserfcAssertionsAuthenticateAndForgeriesReplaysAndWrongMethodsDoNot() async throws {
        let keys = try await Self.joserfc("keys", ["inline": "EC", "fetched": "RSA", "rotated": "EC", "other": "EC"])
        @Sendable func key(_ name: String, _ part: String = "private") throws -> JSON { try #require(keys[name]?[part]) }
        let jwksServer = try await LoopbackServer()
        defer { jwksServer.stop() }
        jwksServer.serve("/jwks.json", Self.jwks([try key("fetched", "public")]))
        jwksServer.serve("/private.json", Self.jwks([try key("other")]))

        let clients = Self.client("pk-inline", """
            JWKS = \(Self.jwks([try key("inline", "public")]))
            TOKEN_ENDPOINT_AUTH_METHOD = private_key_jwt
            CLIENT_SECRET = \(Self.inlineSecret)
            """) + Self.client("pk-uri", "JWKS_URI = \(jwksServer.baseURL)/jwks.json")
            + Self.client("pk-private", "JWKS_URI = \(jwksServer.baseURL)/private.json")
        let harness = try await GatewayHarness.make(mainSettings: "BASE_URL = \(Self.issuer)\nCLIENT_AUTH_FAILURES_PER_CLIENT = 100",
                                                    extraClients: clients)
        let inline = Assertion(client: "pk-inline", key: try key("inline"))
        let uri = Assertion(client: "pk-uri", key: try key("fetched"), alg: "RS256")
        try await harness.run { flow in
            let metadata = try await flow.request("/.well-known/oauth-authorization-server").json
            #expect(metadata["token_endpoint_auth_methods_supported"]?.arrayValue?.contains("private_key_jwt") == true)
            #expect(metadata["token_endpoint_auth_signing_alg_values_supported"]?.arrayValue?.contains("ES256") == true)

            // The inline JWKS client: a token, then introspection with another assertion (aud: the issuer).
            var toToken = inline
            toToken.aud = .string(Self.issuer + "/token")
            let first = try await Self.sign([toToken, inline])
            let accessToken = try await Self.token(flow, code: try await Self.code(flow, for: "pk-inline"), assertion: first[0])
            let introspection = try await Self.post(flow.client, "/introspect", Self.assertionForm(first[1]) + [("token", accessToken)])
            #expect(introspection.status == .ok && introspection.json["active"] == true, "\(introspection.text)")
            #expect(try await Self.refused(flow.client, Self.assertionForm(first[0])).contains("jti"))

            // Forgeries: another key, iss ≠ sub, another audience, expired, alg none, HS256 (keyed with the client's secret).
            var otherKey = inline, issNotSub = inline, wrongAud = inline, expired = inline, none = inline, hs256 = inline
            otherKey.key = try key("other")
            issNotSub.claims["iss"] = "test-client"
            wrongAud.aud = "https://elsewhere.example.com/token"
            expired.claims = ["iat": .integer(Int64(Date().timeIntervalSince1970) - 300), "exp": .integer(Int64(Date().timeIntervalSince1970) - 120)]
            none.alg = "none"
            hs256.alg = "HS256"
            let forged = try await Self.sign([otherKey, issNotSub, wrongAud, expired, none, hs256])
            for (assertion, reason) in zip(forged, ["kid", "iss and sub", "aud", "expired", "alg none", "alg HS256"]) {
                let description = try await Self.refused(flow.client, Self.assertionForm(assertion))
                #expect(description.contains(reason), "\(description)")
            }
            // The wrong method for the client, either way round.
            #expect(try await Self.refused(flow.client, [("client_id", "pk-inline"), ("client_secret", Self.inlineSecret)])
                    == "this client must authenticate with private_key_jwt, not client_secret_post")
            var notItsMethod = inline
            notItsMethod.client = "test-client"
            #expect(try await Self.refused(flow.client, Self.assertionForm(try Self.sign([notItsMethod])[0]), at: "/introspect")
                    == "this client must authenticate with client_secret_basic or client_secret_post, not private_key_jwt")

            // A jti is single use across instances: used at this one, replayed to a second one on the same database.
            var atRevoke = inline
            atRevoke.aud = .string(Self.issuer + "/revoke")
            let once = try await Self.sign([atRevoke])[0]
            #expect(try await Self.post(flow.client, "/revoke", Self.assertionForm(once) + [("token", "no-such-token")]).status == .ok)
            let second = try await buildApplication(harness.config, logger: TestEnvironment.logger)
            let replayed = try await second.test(.router) { other in try await Self.refused(other, Self.assertionForm(once), at: "/revoke") }
            #expect(replayed.contains("jti"))

            // The JWKS_URI client: fetched once, then from the cache; a new kid makes the gateway fetch the set again.
            let fetchedTwice = try await Self.sign([uri, uri])
            _ = try await Self.token(flow, code: try await Self.code(flow, for: "pk-uri"), assertion: fetchedTwice[0])
            let cached = try await Self.post(flow.client, "/introspect", Self.assertionForm(fetchedTwice[1]) + [("token", "no-such-token")])
            #expect(cached.status == .ok && cached.json["active"] == false, "\(cached.text)")
            #expect(jwksServer.fetchedPaths.filter { $0 == "/jwks.json" }.count == 1)
            jwksServer.serve("/jwks.json", Self.jwks([try key("fetched", "public"), try key("rotated", "public")]))
            var rotated = uri, unknown = uri
            rotated.key = try key("rotated")
            rotated.alg = "ES256"
            unknown.key = try key("other")
            unknown.alg = "ES256"
            let afterRotation = try await Self.sign([rotated, unknown])
            let rotatedAnswer = try await Self.post(flow.client, "/introspect", Self.assertionForm(afterRotation[0]) + [("token", "x")])
            #expect(rotatedAnswer.status == .ok, "\(rotatedAnswer.text)")
            #expect(jwksServer.fetchedPaths.filter { $0 == "/jwks.json" }.count == 2)
            // Another unknown kid right after: refused without fetching again (at most once per refresh interval).
            try await Self.refused(flow.client, Self.assertionForm(afterRotation[1]), at: "/introspect")
            #expect(jwksServer.fetchedPaths.filter { $0 == "/jwks.json" }.count == 2)

            // A JWK Set with a private key is refused.
            var withPrivate = uri
            withPrivate.client = "pk-private"
            withPrivate.key = try key("other")
            withPrivate.alg = "ES256"
            #expect(try await Self.refused(flow.client, Self.assertionForm(try Self.sign([withPrivate])[0]), at: "/introspect").contains("private key"))
        }
    }
}
