import Crypto
import Foundation
import KychCore
import KychOAuth
import KychSDJWT
import Synchronization
import Testing

/// `private_key_jwt` client authentication (RFC 7523) and `TOKEN_ENDPOINT_AUTH_METHOD`, on the in-memory store. The
/// assertions here are signed by CompactJWS; the end-to-end proof with assertions made by joserfc is
/// `PrivateKeyJWTEndToEndTests`.
@Suite struct PrivateKeyJWTTests {
    static let issuer = "https://kych.example"

    /// An ES256 key pair and its public JWK.
    struct Key {
        let key = P256.Signing.PrivateKey()
        let kid: String

        init(kid: String = "k1") { self.kid = kid }

        var jwk: [String: JSON] {
            let raw = key.publicKey.rawRepresentation
            return ["kty": "EC", "crv": "P-256", "kid": .string(kid),
                    "x": .string(Base64URL.encode(raw.prefix(32))), "y": .string(Base64URL.encode(raw.suffix(32)))]
        }

        /// A JWK Set text holding `keys`, as JWKS is configured.
        static func jwks(_ keys: [Key]) -> String {
            String(decoding: JSONText.serialize(["keys": .array(keys.map { .object($0.jwk) })]), as: UTF8.self)
        }

        func sign(_ claims: [String: JSON], header: [String: JSON] = [:]) throws -> String {
            try CompactJWS.sign(payload: JSONText.serialize(claims), header: header.merging(["alg": "ES256", "kid": .string(kid)]) { a, _ in a },
                                using: key)
        }
    }

    /// Claims of a good assertion from `client` at time `now`.
    static func claims(_ client: String = "exchange", now: Date, aud: JSON = .string(issuer), lifetime: Int64 = 60) -> [String: JSON] {
        let t = Int64(now.timeIntervalSince1970)
        return ["iss": .string(client), "sub": .string(client), "aud": aud, "iat": .integer(t), "exp": .integer(t + lifetime),
                "jti": .string(UUID().uuidString)]
    }

    static func form(_ assertion: String, clientID: String? = nil) -> [String: String] {
        var form = ["client_assertion_type": PrivateKeyJWT.assertionType, "client_assertion": assertion]
        form["client_id"] = clientID
        return form
    }

    /// The fixture with `BASE_URL`, its client `exchange` given `keys` (and `method` as TOKEN_ENDPOINT_AUTH_METHOD).
    func fixture(keys: [Key], method: String? = nil, extraConfig: String = "") async throws -> FlowFixture {
        let f = try await FlowFixture(extraConfig: "BASE_URL = \(Self.issuer)\n" + extraConfig)
        var client = try #require(try await f.store.client(id: "exchange"))
        client.security.jwks = keys.isEmpty ? nil : Key.jwks(keys)
        client.security.tokenEndpointAuthMethod = method
        try await f.store.updateClient(client)
        return f
    }

    /// Client authentication as the endpoint at `path` does it.
    func authenticate(_ f: FlowFixture, _ form: [String: String], at path: String = EndpointPath.token,
                      authorization: String? = nil) async throws -> Client {
        let methods = switch path {
        case EndpointPath.token: f.server.tokenEndpoint.methods
        case EndpointPath.revoke: TokenManagement.revocationMethods
        default: TokenManagement.introspectionMethods
        }
        return try await f.server.authenticator.authenticate(
            ClientAuthenticationRequest(authorization: authorization, form: form, sourceAddress: "192.0.2.1", endpoint: path), methods: methods)
    }

    func refusal(_ f: FlowFixture, _ form: [String: String], at path: String = EndpointPath.token) async -> String? {
        guard case .oauth(401, "invalid_client", let description, _)? = await flowError({ try await authenticate(f, form, at: path) }) else {
            return nil
        }
        return description
    }

    @Test func aClientWithKeysGetsATokenWithAnAssertion() async throws {
        let key = Key()
        let f = try await fixture(keys: [key])
        let code = try FlowFixture.code(in: try await f.runToFinalize())
        let form = ["grant_type": "authorization_code", "code": code, "redirect_uri": FlowFixture.redirect]
        let assertion = try key.sign(Self.claims(now: f.clock.now, aud: .string(Self.issuer + "/token")))
        let token = try await f.server.token(TokenRequest(form: form.merging(Self.form(assertion)) { $1 }, authorization: nil, endpoint: "/token"))
        #expect(token.token_type == "Bearer" && !token.access_token.isEmpty)
        // The audience may be the issuer, the token endpoint, or the endpoint that received it, alone or in an array.
        for (aud, path) in [(JSON.string(Self.issuer), "/introspect"), (.array(["https://other.example", .string(Self.issuer + "/introspect")]), "/introspect"),
                            (.string(Self.issuer + "/token"), "/revoke")] {
            let assertion = try key.sign(Self.claims(now: f.clock.now, aud: aud))
            #expect(try await authenticate(f, Self.form(assertion, clientID: "exchange"), at: path).clientID == "exchange")
        }
    }

    @Test func assertionsThatDoNotProveTheClientAreRefused() async throws {
        let key = Key(), other = Key(kid: "k2")
        let f = try await fixture(keys: [key], extraConfig: "CLIENT_AUTH_FAILURES_PER_CLIENT = 100")
        let now = f.clock.now
        func refused(_ assertion: String, clientID: String? = nil, at path: String = EndpointPath.token) async -> String? {
            await refusal(f, Self.form(assertion, clientID: clientID), at: path)
        }
        func claims(_ change: (inout [String: JSON]) -> Void) -> [String: JSON] {
            var claims = Self.claims(now: now)
            change(&claims)
            return claims
        }
        #expect(try await refused(other.sign(Self.claims(now: now)))?.contains("client assertion is refused") == true)
        #expect(try await refused(other.sign(Self.claims(now: now), header: ["kid": "k1"])) != nil)
        #expect(try await refused(key.sign(claims { $0["iss"] = "other" }))?.contains("iss and sub") == true)
        #expect(try await refused(key.sign(claims { $0["sub"] = "other" }), clientID: "exchange")?.contains("iss and sub") == true)
        #expect(try await refused(key.sign(Self.claims(now: now)), clientID: "other") != nil)
        #expect(try await refused(key.sign(claims { $0["aud"] = "https://other.example" }))?.contains("aud") == true)
        // The URL of another endpoint is not this one's.
        #expect(try await refused(key.sign(claims { $0["aud"] = .string(Self.issuer + "/revoke") }))?.contains("aud") == true)
        #expect(try await refused(key.sign(claims { $0["exp"] = .integer(Int64(now.timeIntervalSince1970) - 1) }))?.contains("expired") == true)
        #expect(try await refused(key.sign(claims { $0["exp"] = nil }))?.contains("exp is missing") == true)
        #expect(try await refused(key.sign(Self.claims(now: now, lifetime: 86_400)))?.contains("ahead") == true)
        #expect(try await refused(key.sign(claims { $0["nbf"] = .integer(Int64(now.timeIntervalSince1970) + 300) }))?.contains("nbf") == true)
        #expect(try await refused(key.sign(claims { $0["iat"] = .integer(Int64(now.timeIntervalSince1970) + 300) }))?.contains("iat") == true)
        #expect(try await refused(key.sign(claims { $0["jti"] = nil }))?.contains("jti") == true)
        // alg none and a symmetric alg (here keyed with the client's public key bytes) never pass.
        let payload = JSONText.serialize(Self.claims(now: now))
        let none = try CompactJWS.sign(payload: payload, header: ["alg": "none", "kid": "k1"]) { _ in Data() }
        #expect(await refused(none) != nil)
        let hs256 = try CompactJWS.sign(payload: payload, header: ["alg": "HS256", "kid": "k1"]) {
            Data(HMAC<SHA256>.authenticationCode(for: $0, using: SymmetricKey(data: key.key.publicKey.rawRepresentation)))
        }
        #expect(await refused(hs256) != nil)
        // Nothing above was recorded: the good assertion still passes, once.
        let good = try key.sign(Self.claims(now: now))
        #expect(try await authenticate(f, Self.form(good)).clientID == "exchange")
        #expect(await refused(good)?.contains("jti") == true)
    }

    @Test func aJTIIsUsedOnceUntilItsExpiry() async throws {
        let key = Key()
        let f = try await fixture(keys: [key])
        var claims = Self.claims(now: f.clock.now, lifetime: 120)
        let assertion = try key.sign(claims)
        #expect(try await authenticate(f, Self.form(assertion)).clientID == "exchange")
        #expect(await refusal(f, Self.form(assertion))?.contains("jti was used before") == true)
        // The same jti in another assertion is the same replay; after the first one's expiry the jti is free again.
        claims["iat"] = .integer(Int64(f.clock.now.timeIntervalSince1970) + 1)
        #expect(await refusal(f, Self.form(try key.sign(claims)), at: EndpointPath.introspect)?.contains("jti was used before") == true)
        f.clock.advance(121)
        let jti = claims["jti"]
        claims = Self.claims(now: f.clock.now)
        claims["jti"] = jti
        #expect(try await authenticate(f, Self.form(try key.sign(claims))).clientID == "exchange")
    }

    @Test func malformedUseIsInvalidRequest() async throws {
        let key = Key()
        let f = try await fixture(keys: [key])
        let assertion = try key.sign(Self.claims(now: f.clock.now))
        #expect(await flowError { try await authenticate(f, ["client_assertion": assertion]) }
                == .invalidRequest("client_assertion_type must be \(PrivateKeyJWT.assertionType)"))
        #expect(await flowError { try await authenticate(f, ["client_assertion_type": PrivateKeyJWT.assertionType]) }
                == .invalidRequest("client_assertion is missing"))
        #expect(await flowError { try await authenticate(f, Self.form(assertion, clientID: "exchange").merging(["client_secret": FlowFixture.secret]) { $1 }) }
                == .invalidRequest("use one client authentication method, not two"))
        #expect(await refusal(f, Self.form("not-a-jwt")) != nil)
    }

    /// TOKEN_ENDPOINT_AUTH_METHOD: the presented method must be one of the client's; the refusal names the one to use.
    @Test func aClientUsesOnlyItsMethods() async throws {
        let key = Key()
        let f = try await fixture(keys: [key], method: "private_key_jwt")
        let secret = ["client_id": "exchange", "client_secret": FlowFixture.secret]
        let basic = "Basic " + Data("exchange:\(FlowFixture.secret)".utf8).base64EncodedString()
        for path in [EndpointPath.token, EndpointPath.revoke, EndpointPath.introspect] {
            #expect(await refusal(f, secret, at: path) == "this client must authenticate with private_key_jwt, not client_secret_post")
            guard case .oauth(401, "invalid_client", let description, _)? = await flowError({
                try await authenticate(f, ["client_id": "exchange"], at: path, authorization: basic)
            }) else { Issue.record("Basic was not refused"); continue }
            #expect(description == "this client must authenticate with private_key_jwt, not client_secret_basic")
        }
        #expect(await refusal(f, ["client_id": "exchange"]) == "client authentication is missing: this client must use private_key_jwt")
        #expect(try await authenticate(f, Self.form(try key.sign(Self.claims(now: f.clock.now)))).clientID == "exchange")
        // /setup's bearer secret is not a token endpoint method: TOKEN_ENDPOINT_AUTH_METHOD leaves it alone.
        #expect(try await f.setup().isEmpty == false)

        // A client with a secret and no keys cannot use an assertion, even one signed by a key it once had.
        let secretOnly = try await fixture(keys: [])
        #expect(await refusal(secretOnly, Self.form(try key.sign(Self.claims(now: f.clock.now))))
                == "this client must authenticate with client_secret_basic or client_secret_post, not private_key_jwt")
        let restricted = try await fixture(keys: [], method: "client_secret_basic")
        #expect(await refusal(restricted, secret) == "this client must authenticate with client_secret_basic, not client_secret_post")
        #expect(try await authenticate(restricted, ["client_id": "exchange"], authorization: basic).clientID == "exchange")
    }

    /// A refused assertion counts like a wrong secret: past the per-client limit the answer is 429, even for a good one.
    @Test func refusedAssertionsCountTowardsTheFailureLimit() async throws {
        let key = Key(), other = Key()
        let f = try await fixture(keys: [key], extraConfig: "CLIENT_AUTH_FAILURES_PER_CLIENT = 3")
        for _ in 1...3 { #expect(await refusal(f, Self.form(try other.sign(Self.claims(now: f.clock.now)))) != nil) }
        guard case .retryLater(429, _, _, _)? = await flowError({
            try await authenticate(f, Self.form(try key.sign(Self.claims(now: f.clock.now))))
        }) else { Issue.record("not limited"); return }
        f.clock.advance(61)
        #expect(try await authenticate(f, Self.form(try key.sign(Self.claims(now: f.clock.now)))).clientID == "exchange")
    }

    /// A JWKS_URI client's key set is asked for again (refresh) once when the assertion's kid is not in it, and not
    /// when the kid is there but the signature is wrong.
    @Test func anUnknownKidRefreshesTheKeySetOnce() async throws {
        let old = Key(kid: "old"), new = Key(kid: "new"), forger = Key(kid: "old")
        let keys = RotatingKeys(Key.jwks([old]), then: Key.jwks([old, new]))
        let f = try await FlowFixture(extraConfig: "BASE_URL = \(Self.issuer)")
        var client = try #require(try await f.store.client(id: "exchange"))
        client.security.jwksURI = "https://client.example/jwks"
        let assertions = ClientAssertions(keys: keys, store: f.store, issuer: Self.issuer, now: { f.clock.now })
        try await assertions.verify(try old.sign(Self.claims(now: f.clock.now)), client: client, endpoint: nil)
        #expect(keys.refreshes == 0)
        try await assertions.verify(try new.sign(Self.claims(now: f.clock.now)), client: client, endpoint: nil)
        #expect(keys.refreshes == 1)
        await #expect(throws: JWTRefusal.self) {
            try await assertions.verify(try forger.sign(Self.claims(now: f.clock.now)), client: client, endpoint: nil)
        }
        #expect(keys.refreshes == 1)
    }

    /// Key sets as a JWKS_URI might serve them: `first` until a refresh, then `then`.
    final class RotatingKeys: ClientKeySource {
        let sets: (first: String, then: String)
        let refreshCount = Mutex(0)
        var refreshes: Int { refreshCount.withLock { $0 } }

        init(_ first: String, then: String) { sets = (first, then) }

        func keySet(for client: Client, refresh: Bool) async throws -> [String: JSON] {
            let count = refreshCount.withLock { count in
                if refresh { count += 1 }
                return count
            }
            return try JSONText.parseObject(Data((count == 0 ? sets.first : sets.then).utf8))
        }
    }

    @Test func metadataNamesTheAssertionAlgorithms() async throws {
        let f = try await FlowFixture(extraConfig: "BASE_URL = \(Self.issuer)")
        let metadata = try #require(f.server.metadata())
        #expect(metadata["revocation_endpoint_auth_methods_supported"] == ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"])
        let algorithms = JSON.array(ClientSignedJWT.algorithms.map(JSON.string))
        for endpoint in ["token", "revocation", "introspection"] {
            #expect(metadata["\(endpoint)_endpoint_auth_signing_alg_values_supported"] == algorithms)
        }
        #expect(!ClientSignedJWT.algorithms.contains("none") && !ClientSignedJWT.algorithms.contains("HS256"))
    }
}
