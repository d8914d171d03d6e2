import Foundation
import KychCore
import Testing

/// Issue 17's "Done means", end to end on PostgreSQL with two `kych-oauth2-gateway` instances (each its own `BASE_URL`,
/// database and embedded verifier): `kych-wallet receive` gets the KyCH attestation from instance 1 after presenting
/// its Beta-ID; a client of instance 2, which lists instance 1's `BASE_URL` in `ACCEPTED_ISSUER_DIDS`, asks for the
/// Beta-ID or the attestation, and `kych-wallet present` shows the attestation (instance 2 does not trust the wallet's
/// Beta-ID issuer, so nothing else could pass); `/info` names the attestation. After `kych-client-management
/// revoke-attestation` on instance 1, the same presentation fails on instance 2 with `credential_revoked`, and the
/// client gets its error.
@Suite struct AttestationReuseEndToEndTests {
    static let walletRedirect = "https://wallet.example/cb"

    @Test func aSecondInstanceAcceptsTheAttestationInsteadOfTheBetaIDUntilItIsRevoked() async throws {
        let issuingDB = try await TestDatabase.create(installSchema: false)
        let issuing = try await WalletGateway.start(database: issuingDB.connectionString) { verifier in
            """
            [client_wallet]
            CLIENT_ID = wallet
            CLIENT_TYPE = public
            REDIRECT_URI = \(Self.walletRedirect)
            \(verifier)
            """
        }
        let issuer = issuing.process.baseURL
        let acceptingDB = try await TestDatabase.create(installSchema: false)
        let accepting = try await WalletGateway.start(database: acceptingDB.connectionString) { verifier in
            """
            [client_shop]
            CLIENT_ID = \(GatewayBrowser.clientID)
            CLIENT_SECRET = \(GatewayBrowser.secret)
            REDIRECT_URI = \(GatewayBrowser.redirect)
            DEFAULT_SCOPE = {given_name, family_name, age_over_18}
            \(verifier.replacingOccurrences(of: "ACCEPTED_ISSUER_DIDS = {", with: "ACCEPTED_ISSUER_DIDS = {\(issuer), "))
            """
        }
        do {
            // The person receives the attestation from instance 1, presenting the Beta-ID on the way.
            let received = try await Run.program("kych-wallet", [
                "receive", "--wallet", issuing.wallet, "--issuer", issuer, "--client-id", "wallet", "--redirect-uri", Self.walletRedirect,
            ])
            try #require(received.status == 0, "kych-wallet receive: \(received.stdout) \(received.stderr)")
            #expect(received.stdout.contains("Received kych-attestation (vct \(issuer)/credentials/kyc-attestation, issuer \(issuer))"))

            // Instance 2's client: the wallet is asked for the Beta-ID or the attestation and shows the attestation.
            let browser = GatewayBrowser(baseURL: accepting.process.baseURL)
            let started = try await browser.start()
            let presented = try await Run.program("kych-wallet", ["present", "--wallet", issuing.wallet, started.deeplink])
            #expect(presented.status == 0 && presented.stdout.contains("Presented."), "\(presented.stdout) \(presented.stderr)")
            #expect(presented.stdout.contains("Asks for kych_attestation (\(issuer)/credentials/kyc-attestation)"))
            #expect(try await browser.status(started) == "verified")
            let redirect = try await browser.finalize(started)
            let info = try await browser.info(code: try #require(redirect["code"], "\(redirect)"))
            #expect(info.status == 200, "\(info.body)")
            #expect(info.json["credential"] == ["vct": .string(issuer + "/credentials/kyc-attestation"), "issuer": .string(issuer)])
            #expect(info.json["claims"] == ["given_name": "Helvetia", "family_name": "National", "age_over_18": true], "\(info.body)")

            // Revoked on instance 1 (by the id it logged), the same attestation fails on instance 2, and the client hears why.
            let id = try #require(CredentialIssuanceEndToEndTests.attestationID(in: issuing.process.log))
            let cli = try temporaryFile("[kych-oauth2-gateway]\nHOST = 127.0.0.1\nPORT = 9\nDATABASE = \(issuingDB.connectionString)\n")
            let revoke = try await Run.program("kych-client-management", ["-c", cli, "revoke-attestation", id])
            #expect(revoke.status == 0, "\(revoke.stderr)")
            let again = try await browser.start()
            let refused = try await Run.program("kych-wallet", ["present", "--wallet", issuing.wallet, again.deeplink])
            #expect(refused.status != 0 && refused.stderr.contains("credential_revoked"), "\(refused.stdout) \(refused.stderr)")
            #expect(try await browser.status(again) == "failed")
            let failed = try await browser.finalize(again)
            #expect(failed["code"] == nil && failed["error"] == "access_denied", "\(failed)")
            #expect(failed["error_description"]?.contains("credential_revoked") == true, "\(failed)")
        } catch {
            _ = await issuing.process.terminate()
            _ = await accepting.process.terminate()
            throw error
        }
        #expect(await issuing.process.terminate() == 0)
        #expect(await accepting.process.terminate() == 0)
    }
}
