import Crypto
import Foundation
import KychCore
import KychOAuth
import KychSDJWT
import Testing

/// A client's DPoP key, making proofs with our ES256 CompactJWS (the end-to-end proofs come from joserfc, see
/// `DPoPEndToEndTests`); `header` and `claims` override what a proof carries, for the refusal cases.
struct DPoPKey {
    let key = P256.Signing.PrivateKey()
    var jwk: [String: JSON] { P256PublicJWK(key.publicKey).jsonObject }
    var jkt: String { P256PublicJWK(key.publicKey).thumbprint }

    func proof(_ method: String = "POST", _ path: String = "/token", at iat: Date, accessToken: String? = nil, nonce: String? = nil,
               header: [String: JSON] = [:], claims: [String: JSON] = [:]) throws -> String {
        var body: [String: JSON] = ["jti": .string(Secrets.randomToken(bytes: 12)), "htm": .string(method),
                                    "htu": .string("http://127.0.0.1:8080" + path), "iat": .integer(Int64(iat.timeIntervalSince1970))]
        if let accessToken { body["ath"] = .string(Base64URL.encode(SHA256.hash(data: Data(accessToken.utf8)))) }
        body["nonce"] = nonce.map(JSON.string)
        body.merge(claims) { $1 }
        let protected: [String: JSON] = ["typ": "dpop+jwt", "alg": "ES256", "jwk": .object(jwk)].merging(header) { $1 }
        return try CompactJWS.sign(claims: body, header: protected, using: key)
    }

    /// The request `proof` travels in.
    static func presentation(_ proofs: String..., method: String = "POST", path: String = "/token") -> DPoPPresentation {
        DPoPPresentation(proofs: proofs, method: method, path: path)
    }
}

/// RFC 9449 on the in-memory store: proofs at `/token`, bound tokens at `/info`, `/userinfo` and `/introspect`,
/// `dpop_jkt`, `REQUIRE_DPOP`, server nonces, and each rule of a proof's check.
@Suite struct DPoPTests {
    static let redirect = FlowFixture.redirect

    /// A code for the fixture's client, redeemed with `dpop` (nil: no DPoP header).
    func token(_ f: FlowFixture, dpop: DPoPPresentation?, extra: [String: String] = [:], scope: String? = nil) async throws -> TokenResponse {
        let code = try FlowFixture.code(in: try await f.runToFinalize(scope: scope, extra: extra))
        return try await f.server.token(TokenRequest(form: ["grant_type": "authorization_code", "code": code, "redirect_uri": Self.redirect,
                                                            "client_id": "exchange", "client_secret": FlowFixture.secret],
                                                     authorization: nil, dpop: dpop))
    }

    func info(_ f: FlowFixture, _ authorization: String, _ proofs: String...) async throws -> Info {
        try await f.server.info(ResourceRequest(authorization: authorization,
                                                dpop: proofs.isEmpty ? nil : DPoPPresentation(proofs: proofs, method: "GET", path: "/info")))
    }

    /// The error's `error` code and, for a 401, its challenge.
    func refusal(_ body: () async throws -> some Any) async -> (status: Int, error: String, challenge: String?)? {
        guard case .oauth(let status, let error, _, let challenge)? = await flowError(body) else { return nil }
        return (status, error, challenge)
    }

    @Test func aProofAtTheTokenEndpointBindsTheTokenToItsKey() async throws {
        let f = try await FlowFixture()
        let key = DPoPKey()
        let response = try await token(f, dpop: DPoPKey.presentation(try key.proof(at: f.clock.now)))
        #expect(response.token_type == "DPoP")
        let introspection = try await f.server.tokenManagement.introspect(TokenRequest(
            form: ["client_id": "exchange", "client_secret": FlowFixture.secret, "token": response.access_token], authorization: nil))
        #expect(introspection["token_type"] == "DPoP" && introspection["cnf"] == ["jkt": .string(key.jkt)])

        // Only as DPoP, with a fresh proof by the bound key that carries the token's hash.
        let proof = try key.proof("GET", "/info", at: f.clock.now, accessToken: response.access_token)
        #expect(try await info(f, "DPoP \(response.access_token)", proof).status == "success")
    }

    @Test func aBoundTokenIsRefusedAsBearerWithAnotherKeyOrWithoutAth() async throws {
        let f = try await FlowFixture(extraConfig: "CLAIMS_RETENTION_MINUTES = 60", openID: true)
        let key = DPoPKey()
        let bound = try await token(f, dpop: DPoPKey.presentation(try key.proof(at: f.clock.now))).access_token
        let now = f.clock.now

        let bearer = try #require(await refusal { try await info(f, "Bearer \(bound)") })
        #expect(bearer.status == 401 && bearer.error == "invalid_token")
        #expect(bearer.challenge?.hasPrefix("DPoP ") == true && bearer.challenge?.contains("algs=\"ES256") == true)
        let bearerWithProof = try #require(await refusal { try await info(f, "Bearer \(bound)", try key.proof("GET", "/info", at: now, accessToken: bound)) })
        #expect(bearerWithProof.error == "invalid_token")

        let other = try #require(await refusal { try await info(f, "DPoP \(bound)", try DPoPKey().proof("GET", "/info", at: now, accessToken: bound)) })
        #expect(other.status == 401 && other.error == "invalid_token" && other.challenge?.hasPrefix("DPoP ") == true)

        let noAth = try #require(await refusal { try await info(f, "DPoP \(bound)", try key.proof("GET", "/info", at: now)) })
        #expect(noAth.status == 401 && noAth.error == "invalid_dpop_proof" && noAth.challenge?.contains("error=\"invalid_dpop_proof\"") == true)
        let wrongAth = try #require(await refusal { try await info(f, "DPoP \(bound)", try key.proof("GET", "/info", at: now, accessToken: "other")) })
        #expect(wrongAth.error == "invalid_dpop_proof")
        #expect(await refusal { try await info(f, "DPoP \(bound)") }?.error == "invalid_dpop_proof")

        // /userinfo holds the same rules (through the same check).
        let userInfo = try #require(await refusal { try await f.server.userInfo(.bearer(bound)) })
        #expect(userInfo.status == 401 && userInfo.error == "invalid_token" && userInfo.challenge?.hasPrefix("DPoP ") == true)

        // The right proof still works after all that.
        #expect(try await info(f, "DPoP \(bound)", try key.proof("GET", "/info", at: now, accessToken: bound)).status == "success")
    }

    @Test func anUnboundTokenKeepsTheBearerScheme() async throws {
        let f = try await FlowFixture()
        let unbound = try await token(f, dpop: nil)
        #expect(unbound.token_type == "Bearer")
        let challenge = try #require(await refusal { try await info(f, "DPoP \(unbound.access_token)", try DPoPKey().proof("GET", "/info", at: f.clock.now, accessToken: unbound.access_token)) })
        #expect(challenge.error == "invalid_token")
        #expect(try await info(f, "Bearer \(unbound.access_token)").status == "success")
        #expect(await refusal { try await info(f, "Bearer \(unbound.access_token)") }?.challenge?.hasPrefix("Bearer ") == true)
    }

    @Test func aRequestWithoutATokenIsOfferedBothSchemes() async throws {
        let f = try await FlowFixture()
        let challenge = try #require(await refusal { try await f.server.info(ResourceRequest(authorization: nil)) })
        #expect(challenge.status == 401 && challenge.error == "invalid_token")
        #expect(challenge.challenge == "Bearer realm=\"kych\", DPoP realm=\"kych\", algs=\"\(ClientSignedJWT.algorithms.joined(separator: " "))\"")
    }

    @Test func eachRuleOfTheProofIsChecked() async throws {
        let f = try await FlowFixture()
        let key = DPoPKey()
        let now = f.clock.now
        func refused(_ presentation: DPoPPresentation) async -> String? {
            guard case .oauth(400, let error, _, _)? = await flowError({ try await token(f, dpop: presentation) }) else { return nil }
            return error
        }
        let hmacClaims: [String: JSON] = ["jti": "j", "htm": "POST", "htu": "http://127.0.0.1:8080/token",
                                          "iat": .integer(Int64(now.timeIntervalSince1970))]
        let hmac = try CompactJWS.sign(payload: JSONText.serialize(hmacClaims),
                                       header: ["typ": "dpop+jwt", "alg": "HS256", "jwk": ["kty": "oct", "k": "c2VjcmV0"]]) {
            Data(HMAC<SHA256>.authenticationCode(for: $0, using: SymmetricKey(data: Data("secret".utf8))))
        }
        var privateJWK = key.jwk
        privateJWK["d"] = .string(Base64URL.encode(key.key.rawRepresentation))
        let cases: [(String, DPoPPresentation)] = [
            ("another URL", DPoPKey.presentation(try key.proof("POST", "/revoke", at: now))),
            ("another method", DPoPKey.presentation(try key.proof("GET", "/token", at: now))),
            ("an old iat", DPoPKey.presentation(try key.proof(at: now.addingTimeInterval(-61)))),
            ("an iat in the future", DPoPKey.presentation(try key.proof(at: now.addingTimeInterval(30)))),
            ("a symmetric alg", DPoPKey.presentation(hmac)),
            ("a private key in jwk", DPoPKey.presentation(try key.proof(at: now, header: ["jwk": .object(privateJWK)]))),
            ("another typ", DPoPKey.presentation(try key.proof(at: now, header: ["typ": "JWT"]))),
            ("no jwk", DPoPKey.presentation(try key.proof(at: now, header: ["jwk": .null]))),
            ("another key's jwk", DPoPKey.presentation(try key.proof(at: now, header: ["jwk": .object(DPoPKey().jwk)]))),
            ("no jti", DPoPKey.presentation(try key.proof(at: now, claims: ["jti": .null]))),
            ("two DPoP headers", DPoPKey.presentation(try key.proof(at: now), try key.proof(at: now))),
            ("not a JWS", DPoPKey.presentation("not.a.jws")),
        ]
        for (name, presentation) in cases {
            #expect(await refused(presentation) == "invalid_dpop_proof", "\(name)")
        }
        // Within the window and its skew: accepted; the same jti twice: refused.
        let proof = try key.proof(at: now.addingTimeInterval(-59))
        #expect(try await token(f, dpop: DPoPKey.presentation(proof)).token_type == "DPoP")
        #expect(await refused(DPoPKey.presentation(proof)) == "invalid_dpop_proof")
        #expect(try await token(f, dpop: DPoPKey.presentation(try key.proof(at: now.addingTimeInterval(4)))).token_type == "DPoP")
        // htu is compared after RFC 3986 normalization, without query and fragment.
        let normalized = try key.proof(at: now, claims: ["htu": "HTTP://127.0.0.1:8080/%74oken?x=1#f"])
        #expect(try await token(f, dpop: DPoPKey.presentation(normalized)).token_type == "DPoP")
    }

    @Test func aClientThatRequiresDPoPNeverGetsABearerToken() async throws {
        let f = try await FlowFixture(clientSettings: "REQUIRE_DPOP = yes")
        let error = await flowError { try await token(f, dpop: nil) }
        guard case .oauth(400, "invalid_request", _, _)? = error else { Issue.record("\(String(describing: error))"); return }
        #expect(try await token(f, dpop: DPoPKey.presentation(try DPoPKey().proof(at: f.clock.now))).token_type == "DPoP")
    }

    @Test func dpopJKTAtTheAuthorizationEndpointPinsTheKey() async throws {
        let f = try await FlowFixture()
        let key = DPoPKey()
        let refused = await flowError { try await token(f, dpop: DPoPKey.presentation(try DPoPKey().proof(at: f.clock.now)), extra: ["dpop_jkt": key.jkt]) }
        guard case .oauth(400, "invalid_dpop_proof", _, _)? = refused else { Issue.record("\(String(describing: refused))"); return }
        let missing = await flowError { try await token(f, dpop: nil, extra: ["dpop_jkt": key.jkt]) }
        guard case .oauth(400, "invalid_dpop_proof", _, _)? = missing else { Issue.record("\(String(describing: missing))"); return }
        let response = try await token(f, dpop: DPoPKey.presentation(try key.proof(at: f.clock.now)), extra: ["dpop_jkt": key.jkt])
        #expect(response.token_type == "DPoP")

        let nonce = try await f.setup()
        guard case .redirect(let location)? = await flowError({ try await f.authorize(nonce: nonce, extra: ["dpop_jkt": "short"]) }) else {
            Issue.record("a malformed dpop_jkt must be refused")
            return
        }
        #expect(location.contains("error=invalid_request"))
    }

    @Test func aNonceRequiringClientIsAnsweredUseDPoPNonce() async throws {
        let f = try await FlowFixture(extraConfig: "CLAIMS_RETENTION_MINUTES = 60", clientSettings: "REQUIRE_DPOP_NONCE = yes")
        let key = DPoPKey()
        let withoutNonce = await flowError { try await token(f, dpop: DPoPKey.presentation(try key.proof(at: f.clock.now))) }
        guard case .oauth(400, "use_dpop_nonce", _, _)? = withoutNonce else { Issue.record("\(String(describing: withoutNonce))"); return }
        let wrong = await flowError { try await token(f, dpop: DPoPKey.presentation(try key.proof(at: f.clock.now, nonce: "made-up"))) }
        guard case .oauth(400, "use_dpop_nonce", _, _)? = wrong else { Issue.record("\(String(describing: wrong))"); return }

        let nonce = try await f.server.dpop.nonces.current(now: f.clock.now)
        let accessToken = try await token(f, dpop: DPoPKey.presentation(try key.proof(at: f.clock.now, nonce: nonce))).access_token
        // The resource endpoints ask for it too; a nonce from two steps ago is stale.
        let noNonce = try #require(await refusal { try await info(f, "DPoP \(accessToken)", try key.proof("GET", "/info", at: f.clock.now, accessToken: accessToken)) })
        #expect(noNonce.status == 401 && noNonce.error == "use_dpop_nonce" && noNonce.challenge?.contains("use_dpop_nonce") == true)
        #expect(try await info(f, "DPoP \(accessToken)", try key.proof("GET", "/info", at: f.clock.now, accessToken: accessToken, nonce: nonce)).status == "success")
        f.clock.advance(601)
        let stale = try #require(await refusal { try await info(f, "DPoP \(accessToken)", try key.proof("GET", "/info", at: f.clock.now, accessToken: accessToken, nonce: nonce)) })
        #expect(stale.error == "use_dpop_nonce")
    }

    @Test func jwtAccessTokensCarryTheConfirmation() async throws {
        let f = try await FlowFixture(clientSettings: "ACCESS_TOKEN_FORMAT = jwt", openID: true)
        let key = DPoPKey()
        let response = try await token(f, dpop: DPoPKey.presentation(try key.proof(at: f.clock.now)))
        let claims = try CompactJWS(parsing: response.access_token).claims()
        #expect(claims["cnf"] == ["jkt": .string(key.jkt)])
        #expect(f.server.metadata()?["dpop_signing_alg_values_supported"] == .array(ClientSignedJWT.algorithms.map(JSON.string)))
    }

    @Test func revocationAndIntrospectionCheckAProofWhenOneIsSent() async throws {
        let f = try await FlowFixture()
        let accessToken = try await token(f, dpop: nil).access_token
        let form = ["client_id": "exchange", "client_secret": FlowFixture.secret, "token": accessToken]
        let wrongURL = DPoPKey.presentation(try DPoPKey().proof(at: f.clock.now))   // made for /token
        let introspection = await flowError {
            try await f.server.tokenManagement.introspect(TokenRequest(form: form, authorization: nil,
                                                                       dpop: DPoPPresentation(proofs: wrongURL.proofs, method: "POST", path: "/introspect")))
        }
        guard case .oauth(400, "invalid_dpop_proof", _, _)? = introspection else { Issue.record("\(String(describing: introspection))"); return }
        let good = try DPoPKey().proof("POST", "/revoke", at: f.clock.now)
        try await f.server.tokenManagement.revoke(TokenRequest(form: form, authorization: nil, dpop: DPoPKey.presentation(good, path: "/revoke")))
        let replay = await flowError {
            try await f.server.tokenManagement.revoke(TokenRequest(form: form, authorization: nil, dpop: DPoPKey.presentation(good, path: "/revoke")))
        }
        guard case .oauth(400, "invalid_dpop_proof", _, _)? = replay else { Issue.record("\(String(describing: replay))"); return }
    }
}
