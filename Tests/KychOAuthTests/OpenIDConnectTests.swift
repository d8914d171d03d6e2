import Foundation
import KychCore
import KychOAuth
import KychSDJWT
import Testing

/// OpenID Connect: `openid` scope, ID tokens (claims, nonce, at_hash, pairwise sub), `/userinfo`, discovery.
/// The signatures themselves are checked by joserfc in KychTests (SigningKeysCrossCheckTests, OpenIDFlowTests).
@Suite struct OpenIDConnectTests {
    static let ahv = "756.1234.5678.97"
    static let credential = VerifiedCredential(claims: ["given_name": "Helvetia", "personal_administrative_number": .string(ahv)],
                                               vct: "betaid-sdjwt", issuer: "did:example:issuer")
    static let config = "BASE_URL = https://kych.example.com\nVC_CLAIMS = {given_name, family_name, age_over_18, personal_administrative_number}"

    /// The decoded header and payload of a compact JWS.
    static func decode(_ jws: String) throws -> (header: JSON, payload: JSON) {
        let parts = jws.split(separator: ".", omittingEmptySubsequences: false)
        try #require(parts.count == 3)
        func part(_ i: Int) throws -> JSON { try JSON.parse(try #require(Base64URL.decode(String(parts[i])))) }
        return (try part(0), try part(1))
    }

    func openIDToken(_ f: FlowFixture, scope: String = "openid given_name", nonce: String? = "n-0S6_WzA2Mj",
                     credential: VerifiedCredential = credential) async throws -> TokenResponse {
        var extra: [String: String] = [:]
        extra["nonce"] = nonce
        let location = try await f.runToFinalize(.success(credential), scope: scope, extra: extra)
        return try await f.token(code: try FlowFixture.code(in: location))
    }

    @Test func anIDTokenComesWithTheAccessToken() async throws {
        let f = try await FlowFixture(extraConfig: Self.config, openID: true)
        let response = try await openIDToken(f)
        let (header, payload) = try Self.decode(try #require(response.id_token))
        #expect(header["alg"] == "ES256" && header["typ"] == "JWT" && header["kid"]?.stringValue != nil)
        #expect(payload["iss"] == "https://kych.example.com" && payload["aud"] == "exchange" && payload["nonce"] == "n-0S6_WzA2Mj")
        let iat = try #require(payload["iat"]?.int64Value), exp = try #require(payload["exp"]?.int64Value)
        #expect(iat == Int64(f.clock.now.timeIntervalSince1970) && exp == iat + 3600 && payload["auth_time"]?.int64Value == iat)
        #expect(payload["at_hash"]?.stringValue == IDTokenIssuer.accessTokenHash(response.access_token))
        #expect(payload["given_name"] == nil)   // claims go to /userinfo unless ID_TOKEN_CLAIMS = yes
        // The published key set has the kid that signed it.
        let jwks = try await try #require(f.server.openID).idTokens.keys.jwks()
        #expect(jwks["keys"]?.arrayValue?.contains { $0["kid"] == header["kid"] } == true)
        // The RFC 7636 example from the access token: at_hash is the left half of SHA-256, base64url.
        #expect(IDTokenIssuer.accessTokenHash("jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y") == "77QmUPtjPfzWtF2AnpK9RQ")
    }

    @Test func theNonceIsEchoedNotInvented() async throws {
        let f = try await FlowFixture(extraConfig: Self.config, openID: true)
        let without = try Self.decode(try #require(try await openIDToken(f, nonce: nil).id_token)).payload
        #expect(without["nonce"] == nil)
        let odd = "a b+c/é"
        #expect(try Self.decode(try #require(try await openIDToken(f, nonce: odd).id_token)).payload["nonce"]?.stringValue == odd)
    }

    @Test func noIDTokenWithoutOpenIDAndNoOpenIDWithoutKeys() async throws {
        let f = try await FlowFixture(extraConfig: Self.config, openID: true)
        #expect(try await openIDToken(f, scope: "given_name").id_token == nil)
        let off = try await FlowFixture(extraConfig: Self.config)
        guard case .redirect(let location)? = await flowError({ try await off.authorize(nonce: nil, scope: "openid given_name") }) else {
            Issue.record("openid accepted without OpenID Connect"); return
        }
        #expect(location.contains("error=invalid_scope"))
    }

    @Test func subIsPairwiseAndStableForTheSamePerson() async throws {
        let other = """

            [client_other]
            CLIENT_ID = other
            CLIENT_SECRET = secret-token:the-other-clients-secret-0123456
            VERIFIER_URL = https://verifier.example
            REDIRECT_URI = \(FlowFixture.redirect)
            ACCEPTED_ISSUER_DIDS = {did:example:issuer}
            """
        let f = try await FlowFixture(extraConfig: Self.config + other, openID: true)
        func sub(_ response: TokenResponse) throws -> String? { try Self.decode(try #require(response.id_token)).payload["sub"]?.stringValue }
        let scope = "openid given_name personal_administrative_number"
        let first = try sub(try await openIDToken(f, scope: scope)), second = try sub(try await openIDToken(f, scope: scope))
        #expect(first != nil && first == second)
        #expect(first?.contains(Self.ahv) == false && first?.count == 43)
        // Another client sees another sub for the same person.
        let code = try FlowFixture.code(in: try await runOther(f, scope: scope))
        let otherToken = try await f.server.token(TokenRequest(form: ["grant_type": "authorization_code", "code": code,
            "redirect_uri": FlowFixture.redirect, "client_id": "other", "client_secret": "secret-token:the-other-clients-secret-0123456"],
                                                               authorization: nil))
        #expect(try sub(otherToken) != first)
        // Without the stable identifier every verification is a new sub.
        let a = try sub(try await openIDToken(f)), b = try sub(try await openIDToken(f))
        #expect(a != nil && a != b)
    }

    private func runOther(_ f: FlowFixture, scope: String) async throws -> String {
        let nonce = try await f.server.setup(clientID: "other", authorization: "Bearer secret-token:the-other-clients-secret-0123456")
        let started = try await f.server.authorize(AuthorizationRequest(nonce: nonce, parameters: [
            "response_type": "code", "client_id": "other", "redirect_uri": FlowFixture.redirect, "scope": scope, "state": "st"]))
        await f.verifier.answer(started.verification.id, with: .success(Self.credential))
        try await f.server.notification(verificationID: started.verification.id) { _ in nil }
        return try await f.server.finalize(verificationID: started.verification.id, state: "st", bindingCookie: started.bindingCookie)
    }

    @Test func userInfoIsFlatWithTheSameSub() async throws {
        let f = try await FlowFixture(extraConfig: Self.config, openID: true)
        #expect(f.server.openID != nil)
        let response = try await openIDToken(f)
        let info = try await f.server.userInfo(.bearer(response.access_token))
        let idToken = try Self.decode(try #require(response.id_token)).payload
        #expect(info["given_name"] == "Helvetia" && info["sub"] == idToken["sub"])
        let plain = try await openIDToken(f, scope: "given_name")
        guard case .oauth(403, "insufficient_scope", _, _)? = await flowError({ try await f.server.userInfo(.bearer(plain.access_token)) })
        else { Issue.record("userinfo without openid"); return }
        try await f.server.tokenManagement.revoke(TokenRequest(form: ["token": response.access_token, "client_id": "exchange",
                                                                      "client_secret": FlowFixture.secret], authorization: nil))
        #expect(await flowError { try await f.server.userInfo(.bearer(response.access_token)) }
                == .invalidToken("the access token is unknown, expired or revoked"))
    }

    @Test func clientSettingsForIDTokens() async throws {
        let f = try await FlowFixture(extraConfig: Self.config, clientSettings: "ID_TOKEN_CLAIMS = yes\nID_TOKEN_SIGNING_ALG = RS256", openID: true)
        let (header, payload) = try Self.decode(try #require(try await openIDToken(f).id_token))
        #expect(header["alg"] == "RS256" && payload["given_name"] == "Helvetia" && payload["iss"] == "https://kych.example.com")
    }

    @Test func discoveryNamesTheOpenIDParts() async throws {
        let f = try await FlowFixture(extraConfig: Self.config, openID: true)
        let m = try #require(f.server.openIDConfiguration())
        #expect(m["jwks_uri"] == "https://kych.example.com/jwks" && m["userinfo_endpoint"] == "https://kych.example.com/userinfo")
        #expect(m["id_token_signing_alg_values_supported"] == ["ES256", "RS256"] && m["subject_types_supported"] == ["pairwise"])
        #expect(m["scopes_supported"]?.arrayValue?.first == "openid")
        #expect(try await FlowFixture(extraConfig: Self.config).server.openIDConfiguration() == nil)
    }

    @Test func jwtAccessTokensAreSignedAndStillRevocable() async throws {
        let f = try await FlowFixture(extraConfig: Self.config, clientSettings: "ACCESS_TOKEN_FORMAT = jwt\nACCESS_TOKEN_TTL_SECONDS = 600", openID: true)
        let response = try await openIDToken(f)
        #expect(response.expires_in == 600 && response.token_type == "Bearer")
        let (header, payload) = try Self.decode(response.access_token)
        #expect(header["typ"] == "at+jwt" && header["alg"] == "ES256")
        #expect(payload["iss"] == "https://kych.example.com" && payload["aud"] == "https://kych.example.com" && payload["client_id"] == "exchange")
        #expect(payload["scope"] == "openid given_name" && payload["jti"]?.stringValue?.isEmpty == false)
        let iat = try #require(payload["iat"]?.int64Value)
        #expect(payload["exp"]?.int64Value == iat + 600)
        // The same pairwise sub as the ID token's.
        #expect(payload["sub"] == (try Self.decode(try #require(response.id_token)).payload["sub"]))
        #expect(try await f.server.info(.bearer(response.access_token)).claims["given_name"] == "Helvetia")
        try await f.server.tokenManagement.revoke(TokenRequest(form: ["token": response.access_token, "client_id": "exchange",
                                                                      "client_secret": FlowFixture.secret], authorization: nil))
        #expect(await flowError { try await f.server.info(.bearer(response.access_token)) } != nil)
        // A client without the setting keeps opaque tokens.
        let opaque = try await FlowFixture(extraConfig: Self.config, openID: true)
        #expect(!(try await openIDToken(opaque).access_token.contains(".")))
    }
}
