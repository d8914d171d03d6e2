import Foundation
import KychCore
import Testing

/// An independent relying party, PyPI Authlib (`Tests/rp/authlib_flow.py`, sharing no code with KyCH), completes
/// the flow against a real `kych-oauth2-gateway` process with its embedded verifier on SQLite, the person's wallet
/// being `kych-wallet`: once as a confidential client (client_secret_basic) and once as a public one (PKCE,
/// auth method `none`, an RFC 8252 loopback redirect on a port it picks). Fails, rather than skips, when Python
/// or Authlib is missing (scripts/test installs Authlib).
@Suite struct RelyingPartyTests {
    static let script = TestEnvironment.packageRoot.appendingPathComponent("Tests/rp/authlib_flow.py")
    static let secret = "secret-token:authlib-rp-secret-0123456789abcdef"
    static let confidentialRedirect = "https://rp.example.com/kych/callback"

    /// The gateway with one confidential and one public client.
    private func startGateway() async throws -> WalletGateway {
        try await WalletGateway.start { verifierSettings in
            """
            [client_confidential]
            CLIENT_ID = authlib-confidential
            CLIENT_SECRET = \(Self.secret)
            REDIRECT_URI = \(Self.confidentialRedirect)
            \(verifierSettings)

            [client_public]
            CLIENT_ID = authlib-public
            CLIENT_TYPE = public
            REDIRECT_URI = http://127.0.0.1/callback
            \(verifierSettings)
            """
        }
    }

    /// Runs the relying party; the secret goes through the environment, not the command line.
    private func relyingParty(_ gateway: WalletGateway, clientID: String, secret: String?, redirect: String) async throws -> ProcessResult {
        let python = try #require(Run.which("python3"), "python3 is missing")
        return try await Run.program(python, [
            Self.script.path, "--base-url", gateway.process.baseURL, "--client-id", clientID, "--redirect-uri", redirect,
            "--wallet-bin", WalletGateway.walletBinary, "--wallet", gateway.wallet,
            "--scope", "given_name age_over_18",
        ], environment: ["KYCH_RP_CLIENT_SECRET": secret ?? ""])
    }

    /// What every successful run must report: the wallet's claims for the scope, from the wallet's issuer, and a dead
    /// token after revocation.
    private func expectCompleteFlow(_ result: ProcessResult, gateway: WalletGateway, clientType: String) throws -> JSON {
        try #require(result.status == 0, "authlib_flow failed: \(result.stderr)")
        let report = try JSON.parse(Data(result.stdout.utf8))
        #expect(report["client_type"] == .string(clientType))
        #expect(report["issuer"] == .string(gateway.process.baseURL))
        #expect(report["claims"] == ["given_name": "Helvetia", "age_over_18": true])
        #expect(report["credential"] == ["vct": "betaid-sdjwt", "issuer": .string(gateway.issuerDID)])
        #expect(report["token_type"] == "Bearer")
        #expect(report["info_after_revocation"] == 401)
        let checks = report["checks"]?.arrayValue?.compactMap(\.stringValue) ?? []
        #expect(checks.contains { $0.contains("RFC 9207") }, "\(checks)")
        return report
    }

    @Test func authlibCompletesTheFlowAsConfidentialAndAsPublicClient() async throws {
        let gateway = try await startGateway()
        do {
            let confidential = try await expectCompleteFlow(
                try relyingParty(gateway, clientID: "authlib-confidential", secret: Self.secret, redirect: Self.confidentialRedirect),
                gateway: gateway, clientType: "confidential")
            let introspection = try #require(confidential["introspection"])
            #expect(introspection["active"] == true)
            #expect(introspection["client_id"] == "authlib-confidential")
            #expect(introspection["scope"] == "given_name age_over_18")
            #expect(introspection["iss"] == .string(gateway.process.baseURL))
            #expect(confidential["introspection_after_revocation"] == ["active": false])

            // RFC 8252 §7.3: the public client listens on a port of its own choosing.
            let loopback = "http://127.0.0.1:\(TestPorts.next())/callback"
            let publicReport = try await expectCompleteFlow(
                try relyingParty(gateway, clientID: "authlib-public", secret: nil, redirect: loopback),
                gateway: gateway, clientType: "public")
            #expect(publicReport["redirect_uri"] == .string(loopback))
            #expect(publicReport["introspection"] == nil, "public clients may not introspect")

            // The confidential client's id alone (auth method none) gets no token, and the script says so.
            let unauthenticated = try await relyingParty(gateway, clientID: "authlib-confidential", secret: nil,
                                                   redirect: Self.confidentialRedirect)
            #expect(unauthenticated.status == 1 && unauthenticated.stdout.isEmpty)
            #expect(unauthenticated.stderr.contains("FAILED") && unauthenticated.stderr.contains("invalid_client"),
                    "\(unauthenticated.stderr)")
        } catch {
            _ = await gateway.process.terminate()
            throw error
        }
        #expect(!gateway.process.log.contains(Self.secret), "the client secret must not be logged")
        #expect(await gateway.process.terminate() == 0)
    }
}
