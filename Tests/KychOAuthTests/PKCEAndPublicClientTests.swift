import Foundation
import KychCore
import KychOAuth
import Testing

/// PKCE (RFC 7636, S256 only), public clients (authentication method `none`), several redirect URIs and
/// RFC 8252 loopback redirects, on the in-memory store.
@Suite struct PKCEAndPublicClientTests {
    static let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    static let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"   // RFC 7636 appendix B
    static let app = """

        [client_app]
        CLIENT_ID = app
        CLIENT_TYPE = public
        CLIENT_NAME = Example App
        VERIFIER_URL = https://verifier.example
        REDIRECT_URIS = {com.example.app:/cb, http://127.0.0.1/cb}
        ACCEPTED_ISSUER_DIDS = {did:example:issuer}
        """

    /// The flow for `client` up to the code, with `parameters` added to the authorization request.
    func code(_ f: FlowFixture, client: String = "app", redirect: String = "com.example.app:/cb",
              _ parameters: [String: String] = ["code_challenge": challenge, "code_challenge_method": "S256"]) async throws -> String {
        var query = ["response_type": "code", "client_id": client, "redirect_uri": redirect, "state": "st"]
        query.merge(parameters) { $1 }
        let started = try await f.server.authorize(AuthorizationRequest(nonce: nil, parameters: query))
        await f.verifier.answer(started.verification.id, with: .success(FlowFixture.credential))
        try await f.server.notification(verificationID: started.verification.id) { _ in nil }
        let location = try await f.server.finalize(verificationID: started.verification.id, state: "st", bindingCookie: started.bindingCookie)
        #expect(location.hasPrefix(redirect + "?code="))
        return try FlowFixture.code(in: location)
    }

    func redeem(_ f: FlowFixture, _ code: String, client: String = "app", redirect: String = "com.example.app:/cb",
                verifier: String? = PKCEAndPublicClientTests.verifier, secret: String? = nil) async throws -> TokenResponse {
        var form = ["grant_type": "authorization_code", "code": code, "redirect_uri": redirect, "client_id": client]
        form["code_verifier"] = verifier
        form["client_secret"] = secret
        return try await f.server.token(TokenRequest(form: form, authorization: nil))
    }

    func redirectError(_ f: FlowFixture, client: String = "app", redirect: String = "com.example.app:/cb",
                       _ parameters: [String: String]) async -> String? {
        var query = ["response_type": "code", "client_id": client, "redirect_uri": redirect, "state": "st"]
        query.merge(parameters) { $1 }
        guard case .redirect(let location)? = await flowError({ try await f.server.authorize(AuthorizationRequest(nonce: nil, parameters: query)) })
        else { return nil }
        return FormURLEncoding.decode(String(location.split(separator: "?", maxSplits: 1)[1]))?["error_description"]
    }

    @Test func theRFC7636ExampleVerifies() {
        #expect(PKCE.challenge(for: Self.verifier) == Self.challenge)
        #expect(PKCE.verifies(Self.verifier, challenge: Self.challenge))
        #expect(!PKCE.verifies(Self.verifier + "x", challenge: Self.challenge))
        #expect(!PKCE.verifies("short", challenge: PKCE.challenge(for: "short")))   // under 43 characters
    }

    @Test func aPublicClientCompletesTheFlowWithPKCE() async throws {
        let f = try await FlowFixture(extraConfig: Self.app)
        let token = try await redeem(f, try await code(f))
        #expect(try await f.server.info(.bearer(token.access_token)).claims["given_name"] == "Helvetia")
    }

    @Test func codeVerifierRefusals() async throws {
        let f = try await FlowFixture(extraConfig: Self.app)
        let code = try await code(f)
        #expect(await flowError { try await redeem(f, code, verifier: nil) }
                == .invalidGrant("code_verifier is missing (the authorization request used PKCE)"))
        #expect(await flowError { try await redeem(f, code, verifier: String(repeating: "a", count: 43)) }
                == .invalidGrant("code_verifier does not match the code_challenge"))
        #expect(await flowError { try await redeem(f, code, verifier: Self.challenge) }     // the challenge itself ("plain")
                == .invalidGrant("code_verifier does not match the code_challenge"))
        // None of the refusals used the code.
        _ = try await redeem(f, code)
        // A verifier for a code issued without a challenge (a confidential client without PKCE).
        let plain = try await self.code(f, client: "exchange", redirect: FlowFixture.redirect, [:])
        #expect(await flowError { try await redeem(f, plain, client: "exchange", redirect: FlowFixture.redirect, secret: FlowFixture.secret) }
                == .invalidGrant("code_verifier sent, but the authorization request had no code_challenge"))
    }

    @Test func challengeRefusals() async throws {
        let f = try await FlowFixture(extraConfig: Self.app)
        #expect(await redirectError(f, [:])?.contains("must use PKCE") == true)
        #expect(await redirectError(f, ["code_challenge": Self.challenge, "code_challenge_method": "plain"]) == "code_challenge_method must be S256")
        #expect(await redirectError(f, ["code_challenge": Self.challenge])?.contains("plain is not supported") == true)
        #expect(await redirectError(f, ["code_challenge_method": "S256"]) == "code_challenge_method without code_challenge")
        #expect(await redirectError(f, ["code_challenge": "too-short", "code_challenge_method": "S256"])?.contains("43 to 128") == true)
        #expect(await f.verifier.created.isEmpty)
    }

    @Test func requirePKCEForAConfidentialClient() async throws {
        let f = try await FlowFixture(clientSettings: "REQUIRE_PKCE = yes")
        #expect(await redirectError(f, client: "exchange", redirect: FlowFixture.redirect, [:])?.contains("must use PKCE") == true)
        let code = try await code(f, client: "exchange", redirect: FlowFixture.redirect)
        let token = try await redeem(f, code, client: "exchange", redirect: FlowFixture.redirect, secret: FlowFixture.secret)
        #expect(token.token_type == "Bearer")
    }

    @Test func aPublicClientHasNoSecretAndNoSetup() async throws {
        let f = try await FlowFixture(extraConfig: Self.app)
        let setup = await flowError { try await f.server.setup(clientID: "app", authorization: "Bearer anything-at-all") }
        guard case .oauth(401, "invalid_client", let description, _)? = setup else { Issue.record("\(String(describing: setup))"); return }
        #expect(description.contains("public client"))
        let code = try await code(f)
        #expect(await flowError { try await redeem(f, code, secret: "guessed") } != nil)
        // A confidential client cannot leave its secret out.
        let other = try await self.code(f, client: "exchange", redirect: FlowFixture.redirect, [:])
        #expect(await flowError { try await redeem(f, other, client: "exchange", redirect: FlowFixture.redirect, verifier: nil) }
                == .invalidClient("client authentication is missing (client_id and client_secret, or HTTP Basic)"))
    }

    @Test func redirectURIs() async throws {
        let f = try await FlowFixture(extraConfig: Self.app)
        // Any listed URI; a loopback one with any port (RFC 8252 §7.3), for this public client only.
        _ = try await code(f, redirect: "http://127.0.0.1:49152/cb")
        let matches = RedirectURIMatch.matches
        #expect(matches("http://127.0.0.1/cb", "http://127.0.0.1:8000/cb", true))
        #expect(!matches("http://127.0.0.1/cb", "http://127.0.0.1:8000/cb", false))
        #expect(!matches("http://127.0.0.1/cb", "http://127.0.0.1:8000/other", true))
        #expect(!matches("http://localhost/cb", "http://localhost:8000/cb", true))
        #expect(!matches("https://app.example/cb", "https://app.example:444/cb", true))
        for uri in ["com.example.app:/other", "http://127.0.0.2/cb", "https://evil.example/cb"] {
            var query = ["response_type": "code", "client_id": "app", "redirect_uri": uri, "code_challenge": Self.challenge,
                         "code_challenge_method": "S256"]
            query["state"] = "st"
            guard case .page(400, .invalidRedirect, _)? = await flowError({ try await f.server.authorize(AuthorizationRequest(nonce: nil, parameters: query)) })
            else { Issue.record("\(uri) accepted"); continue }
        }
        // The code is bound to the redirect URI the request used.
        let code = try await code(f)
        #expect(await flowError { try await redeem(f, code, redirect: "http://127.0.0.1/cb") }
                == .invalidGrant("redirect_uri does not match the authorization request"))
    }

    @Test func theClientNameIsTheClients() async throws {
        let f = try await FlowFixture(extraConfig: Self.app)
        #expect(await f.store.client(id: "app")?.clientName == "Example App")
        #expect(await f.store.client(id: "app")?.isPublic == true)
    }
}
