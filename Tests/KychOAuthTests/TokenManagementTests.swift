import Foundation
import KychCore
import KychOAuth
import Testing

/// RFC 7009 revocation, RFC 7662 introspection, RFC 8414 metadata and RFC 9207 `iss`.
@Suite struct TokenManagementTests {
    static let other = """

        [client_other]
        CLIENT_ID = other
        CLIENT_SECRET = secret-token:the-other-clients-secret-0123456
        VERIFIER_URL = https://verifier.example
        REDIRECT_URI = https://other.example/cb

        [client_app]
        CLIENT_ID = app
        CLIENT_TYPE = public
        VERIFIER_URL = https://verifier.example
        REDIRECT_URI = com.example.app:/cb
        """
    static let exchange = ["client_id": "exchange", "client_secret": FlowFixture.secret]
    static let otherClient = ["client_id": "other", "client_secret": "secret-token:the-other-clients-secret-0123456"]

    func token(_ f: FlowFixture) async throws -> String {
        try await f.token(code: try FlowFixture.code(in: try await f.runToFinalize(scope: "given_name age_over_18"))).access_token
    }

    func introspect(_ f: FlowFixture, _ token: String, as client: [String: String] = exchange) async throws -> JSON {
        try await f.server.tokenManagement.introspect(TokenRequest(form: client.merging(["token": token]) { $1 }, authorization: nil))
    }

    func revoke(_ f: FlowFixture, _ token: String, as client: [String: String] = exchange) async throws {
        try await f.server.tokenManagement.revoke(TokenRequest(form: client.merging(["token": token]) { $1 }, authorization: nil))
    }

    @Test func introspectionShowsOnlyTheClientsLiveTokens() async throws {
        let f = try await FlowFixture(extraConfig: Self.other)
        let token = try await token(f)
        let answer = try await introspect(f, token)
        #expect(answer["active"] == true && answer["client_id"] == "exchange" && answer["scope"] == "given_name age_over_18")
        #expect(answer["token_type"] == "Bearer" && answer["iss"] == "http://127.0.0.1:8080")
        #expect(answer["claims"] == nil && answer["credential"] == nil, "a person's claims are served at /info only")
        let iat = try #require(answer["iat"]?.int64Value), exp = try #require(answer["exp"]?.int64Value)
        #expect(exp - iat == 3600 && iat == Int64(f.clock.now.timeIntervalSince1970))
        #expect(try await introspect(f, token, as: Self.otherClient) == ["active": false])
        #expect(try await introspect(f, "no-such-token") == ["active": false])
        f.clock.advance(3601)
        #expect(try await introspect(f, token) == ["active": false])
        // A public client cannot introspect.
        await #expect(throws: FlowError.self) { try await introspect(f, token, as: ["client_id": "app"]) }
        await #expect(throws: FlowError.invalidRequest("token is missing")) {
            try await f.server.tokenManagement.introspect(TokenRequest(form: Self.exchange, authorization: nil))
        }
    }

    @Test func revocationEndsOnlyTheClientsOwnToken() async throws {
        let f = try await FlowFixture(extraConfig: Self.other)
        let token = try await token(f)
        try await revoke(f, token, as: Self.otherClient)                // not its token: no error, no effect
        #expect(try await f.server.info(.bearer(token)).status == "success")
        try await revoke(f, "no-such-token")                           // unknown: no error either
        try await revoke(f, token)
        #expect(await flowError { try await f.server.info(.bearer(token)) } == .invalidToken("the access token is unknown, expired or revoked"))
        #expect(try await introspect(f, token) == ["active": false])
        try await revoke(f, token)                                     // again: still fine
        await #expect(throws: FlowError.self) {
            try await revoke(f, token, as: ["client_id": "exchange", "client_secret": "secret-token:wrong"])
        }
    }

    @Test func metadataNamesWhatIsConfigured() async throws {
        let f = try await FlowFixture(extraConfig: "BASE_URL = https://kych.example.com/")
        let m = try #require(f.server.metadata())
        #expect(m["issuer"] == "https://kych.example.com" && m["token_endpoint"] == "https://kych.example.com/token")
        #expect(m["authorization_endpoint"] == "https://kych.example.com/authorize")
        #expect(m["grant_types_supported"] == ["authorization_code"] && m["response_types_supported"] == ["code"])
        #expect(m["token_endpoint_auth_methods_supported"] == ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"])
        #expect(m["introspection_endpoint_auth_methods_supported"] == ["client_secret_basic", "client_secret_post", "private_key_jwt"])
        #expect(m["code_challenge_methods_supported"] == ["S256"] && m["authorization_response_iss_parameter_supported"] == true)
        #expect(m["scopes_supported"] == ["given_name", "family_name", "age_over_18"])
        // Every authorization response carries that issuer (RFC 9207), errors too.
        let location = try await f.runToFinalize()
        #expect(location.hasSuffix("&iss=https%3A%2F%2Fkych.example.com"))
        guard case .redirect(let error)? = await flowError({ try await f.authorize(nonce: nil, extra: ["response_type": "token"]) }) else {
            Issue.record("no error redirect"); return
        }
        #expect(error.hasSuffix("&state=st&iss=https%3A%2F%2Fkych.example.com"))
    }
}
