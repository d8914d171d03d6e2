import Foundation
import KychCore
import Testing

/// A strict OpenID Connect relying party, PyPI idpyoidc (`Tests/rp/idpyoidc_flow.py`, sharing no code with KyCH),
/// completes discovery, the code flow with nonce and PKCE, ID token validation against `jwks_uri` and UserInfo
/// against a real `kych-oauth2-gateway` process with its embedded verifier on SQLite, the person's wallet being
/// `kych-wallet`: an ES256 client with client_secret_basic, an RS256 client (`ID_TOKEN_SIGNING_ALG = RS256`) with
/// client_secret_post, and idpyoidc refusing an ID token signed with another alg than the client registered. Fails,
/// rather than skips, when Python or idpyoidc is missing (scripts/test installs idpyoidc).
@Suite struct OIDCRelyingPartyTests {
    static let script = TestEnvironment.packageRoot.appendingPathComponent("Tests/rp/idpyoidc_flow.py")
    static let secret = "secret-token:idpyoidc-rp-secret-0123456789abcde"
    static let redirect = "https://rp.example.com/oidc/callback"

    /// The gateway with two OpenID Connect clients; it signs ID tokens with ES256 unless a client names RS256.
    private func startGateway() async throws -> WalletGateway {
        try await WalletGateway.start { verifierSettings in
            """
            [client_es256]
            CLIENT_ID = idpyoidc-es256
            CLIENT_SECRET = \(Self.secret)
            REDIRECT_URI = \(Self.redirect)
            \(verifierSettings)

            [client_rs256]
            CLIENT_ID = idpyoidc-rs256
            CLIENT_SECRET = \(Self.secret)
            REDIRECT_URI = \(Self.redirect)
            ID_TOKEN_SIGNING_ALG = RS256
            \(verifierSettings)
            """
        }
    }

    /// Runs the relying party; the secret goes through the environment, not the command line.
    private func relyingParty(_ gateway: WalletGateway, clientID: String, authMethod: String, alg: String) async throws -> ProcessResult {
        let python = try #require(Run.which("python3"), "python3 is missing")
        return try await Run.program(python, [
            Self.script.path, "--base-url", gateway.process.baseURL, "--client-id", clientID, "--redirect-uri", Self.redirect,
            "--wallet-bin", WalletGateway.walletBinary, "--wallet", gateway.wallet,
            "--claims", "given_name age_over_18", "--auth-method", authMethod, "--id-token-alg", alg,
        ], environment: ["KYCH_RP_CLIENT_SECRET": Self.secret])
    }

    /// What every successful run must report: an ID token idpyoidc verified (signed with the client's alg, for this
    /// client, from this issuer, the request's nonce, at_hash) and UserInfo with the same sub and the wallet's claims.
    private func expectVerifiedFlow(_ result: ProcessResult, gateway: WalletGateway, clientID: String, authMethod: String,
                                    alg: String) throws {
        try #require(result.status == 0, "idpyoidc_flow failed: \(result.stderr)")
        let report = try JSON.parse(Data(result.stdout.utf8))
        let idToken = try #require(report["id_token"]), userinfo = try #require(report["userinfo"])
        #expect(report["issuer"] == .string(gateway.process.baseURL))
        #expect(report["token_endpoint_auth_method"] == .string(authMethod))
        #expect(report["id_token_alg"] == .string(alg))
        #expect(idToken["iss"] == .string(gateway.process.baseURL))
        #expect(idToken["aud"] == .string(clientID) || idToken["aud"] == [.string(clientID)])
        let sub = try #require(idToken["sub"]?.stringValue)
        #expect(!sub.isEmpty)
        #expect(userinfo["sub"] == .string(sub), "the UserInfo sub must be the ID token's")
        #expect(report["sub_equal"] == true)
        let nonce = try #require(report["request_nonce"]?.stringValue)
        #expect(idToken["nonce"] == .string(nonce), "the ID token must echo the request's nonce")
        #expect(idToken["at_hash"]?.stringValue?.isEmpty == false)
        #expect(userinfo["given_name"] == "Helvetia")
        #expect(userinfo["age_over_18"] == true)
        #expect(idToken["given_name"] == nil, "claims are in ID tokens only with ID_TOKEN_CLAIMS = yes")
        let checks = report["checks"]?.arrayValue?.compactMap(\.stringValue) ?? []
        #expect(checks.contains { $0.contains("RFC 9207") }, "\(checks)")
        #expect(checks.contains { $0.contains("at_hash") && $0.contains("nonce") }, "\(checks)")
    }

    @Test func idpyoidcVerifiesTheIDTokenAndUserInfoForES256AndRS256Clients() async throws {
        let gateway = try await startGateway()
        do {
            try await expectVerifiedFlow(try relyingParty(gateway, clientID: "idpyoidc-es256", authMethod: "client_secret_basic", alg: "ES256"),
                                   gateway: gateway, clientID: "idpyoidc-es256", authMethod: "client_secret_basic", alg: "ES256")
            try await expectVerifiedFlow(try relyingParty(gateway, clientID: "idpyoidc-rs256", authMethod: "client_secret_post", alg: "RS256"),
                                   gateway: gateway, clientID: "idpyoidc-rs256", authMethod: "client_secret_post", alg: "RS256")

            // A relying party registered for ES256 must refuse the RS256 ID token this client gets: idpyoidc really
            // pins the alg, and the script fails with a reason rather than a report.
            let wrongAlg = try await relyingParty(gateway, clientID: "idpyoidc-rs256", authMethod: "client_secret_basic", alg: "ES256")
            #expect(wrongAlg.status == 1 && wrongAlg.stdout.isEmpty)
            #expect(wrongAlg.stderr.contains("FAILED") && wrongAlg.stderr.contains("Wrong signing algorithm, expected ES256 got RS256"),
                    "\(wrongAlg.stderr)")
        } catch {
            _ = await gateway.process.terminate()
            throw error
        }
        #expect(!gateway.process.log.contains(Self.secret), "the client secret must not be logged")
        #expect(await gateway.process.terminate() == 0)
    }
}
