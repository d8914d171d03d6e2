import Foundation
import KychCore
import Testing

/// Issue 15's whole proof: a FAPI 2.0 client written with PyPI joserfc (`Tests/rp/fapi2_flow.py`, sharing no code with
/// KyCH) runs the flow against a real `kych-oauth2-gateway` with its embedded verifier, the person's wallet being
/// `kych-wallet`: PAR carrying a request object signed by the client's key (JAR) with PKCE and `dpop_jkt`,
/// `private_key_jwt` client assertions, a DPoP-bound token, and `/info` that answers only with a fresh proof from the
/// bound key. The script also checks that each shortcut is refused (see its checks list).
@Suite struct FAPI2FlowTests {
    static let script = TestEnvironment.packageRoot.appendingPathComponent("Tests/rp/fapi2_flow.py")
    static let redirect = "https://bank.example/fapi/callback"

    @Test func aFAPI2ClientCompletesTheFlowWithPARJARPKCEDPoPAndPrivateKeyJWT() async throws {
        let python = try #require(Run.which("python3"), "python3 is missing")
        let keyFile = try VerifierTestConfig.temporaryDirectory().appendingPathComponent("client-key.json").path
        let keygen = try await Run.program(python, [Self.script.path, "keygen", "--key-file", keyFile])
        try #require(keygen.status == 0, "keygen failed: \(keygen.stderr)")
        let jwks = keygen.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let keySet = try JSON.parse(Data(jwks.utf8))
        #expect(keySet["keys"]?.arrayValue?.first?["d"] == nil, "only the public key is registered")

        // Claims stay readable for an hour, so /info can answer a second fresh proof after refusing a replayed one.
        let gateway = try await WalletGateway.start(mainSettings: "CLAIMS_RETENTION_MINUTES = 60") { verifierSettings in
            """
            [client_bank]
            CLIENT_ID = fapi-bank
            REDIRECT_URI = \(Self.redirect)
            JWKS = \(jwks)
            PROFILE = fapi2
            \(verifierSettings)
            """
        }
        let result: ProcessResult
        do {
            result = try await Run.program(python, [
                Self.script.path, "run", "--key-file", keyFile, "--base-url", gateway.process.baseURL, "--client-id", "fapi-bank",
                "--redirect-uri", Self.redirect, "--wallet-bin", WalletGateway.walletBinary, "--wallet", gateway.wallet,
            ])
        } catch {
            _ = await gateway.process.terminate()
            throw error
        }
        #expect(await gateway.process.terminate() == 0)
        try #require(result.status == 0, "fapi2_flow failed: \(result.stderr)\n\(gateway.process.log.suffix(4000))")
        let report = try JSON.parse(Data(result.stdout.utf8))
        #expect(report["token_type"] == "DPoP")
        #expect(report["claims"]?["given_name"] == "Helvetia")
        let checks = report["checks"]?.arrayValue?.compactMap(\.stringValue) ?? []
        #expect(checks.count == 11, "\(checks)")
        #expect(checks.contains { $0.hasPrefix("info: 200 with a fresh proof from the bound key") }, "\(checks)")
        let refusals = report["refusals"]?.objectValue ?? [:]
        #expect(Set(refusals.keys) == ["bearer", "another key", "no ath", "another URL", "another method", "old iat", "replayed proof"])
    }
}
