import Foundation
import KychCore
import KychOAuth
import KychSDJWT
import Testing

/// OpenID4VCI end to end: an independent wallet (`Tests/rp/vci_wallet.py`: PyPI joserfc for its key and key proofs,
/// PyPI sd-jwt to check what it got, sharing no code with KyCH) receives the KyCH attestation from a real
/// `kych-oauth2-gateway` on PostgreSQL through the authorization code flow with PKCE, the person presenting the Beta-ID
/// with `kych-wallet` (asked for with RFC 9396 `authorization_details`, redeemed by the token response's credential
/// identifier). PyPI sd-jwt checks the signature with the key `/.well-known/jwt-vc-issuer` publishes, the
/// disclosures and the key binding; the refusals of the issue's list are each checked. Fails, rather than skips,
/// without the Python packages.
@Suite struct CredentialIssuanceEndToEndTests {
    static let script = TestEnvironment.packageRoot.appendingPathComponent("Tests/rp/vci_wallet.py")
    static let redirect = "https://wallet.example/cb"

    /// An answer in the script's report: its status and OAuth error code.
    static func status(_ answer: JSON?) -> (Int64?, String?) { (answer?["status"]?.int64Value, answer?["error"]?.stringValue) }

    /// The `attestation_id` of the gateway's "attestation issued" log line.
    static func attestationID(in log: String) -> String? {
        guard let range = log.range(of: #"attestation_id[=:" ]+[0-9a-f-]{36}"#, options: .regularExpression) else { return nil }
        return String(log[range].suffix(36))
    }

    @Test func aWalletReceivesTheAttestationAndPyPISDJWTVerifiesIt() async throws {
        let db = try await TestDatabase.create(installSchema: false)
        let gateway = try await WalletGateway.start(mainSettings: "ATTESTATION_TTL_DAYS = 90", database: db.connectionString) { verifier in
            """
            [client_wallet]
            CLIENT_ID = wallet
            CLIENT_TYPE = public
            REDIRECT_URI = \(Self.redirect)
            \(verifier)

            [client_wallet2]
            CLIENT_ID = wallet2
            CLIENT_TYPE = public
            REDIRECT_URI = \(Self.redirect)
            \(verifier)
            """
        }
        do {
            let python = try #require(Run.which("python3"), "python3 is missing")
            let result = try Run.program(python, [
                Self.script.path, "--base-url", gateway.process.baseURL, "--client-id", "wallet", "--other-client-id", "wallet2",
                "--redirect-uri", Self.redirect, "--wallet-bin", WalletGateway.walletBinary, "--wallet", gateway.wallet,
            ])
            try #require(result.status == 0, "vci_wallet failed: \(result.stderr)")
            let report = try JSON.parse(Data(result.stdout.utf8))
            let issuer = gateway.process.baseURL

            let metadata = try #require(report["metadata"])
            #expect(metadata["credential_issuer"] == .string(issuer) && metadata["authorization_servers"] == [.string(issuer)])
            #expect(metadata["credential_endpoint"] == .string(issuer + "/credential") && metadata["nonce_endpoint"] == .string(issuer + "/nonce"))
            #expect(report["scopes_supported"]?.arrayValue?.contains("kych_attestation") == true)
            #expect(report["token_authorization_details"] == [["type": "openid_credential", "credential_configuration_id": "kych_attestation",
                                                               "credential_identifiers": ["kych_attestation"]]])

            let refusals = try #require(report["refusals"]?.objectValue)
            for name in ["wrong typ", "wrong aud", "token of another client"] {
                #expect(Self.status(refusals[name]) == (400, "invalid_proof"), "\(name): \(String(describing: refusals[name]))")
            }
            for name in ["reused nonce", "stale nonce"] {
                #expect(Self.status(refusals[name]) == (400, "invalid_nonce"), "\(name): \(String(describing: refusals[name]))")
            }
            #expect(Self.status(refusals["unknown configuration"]) == (400, "unknown_credential_configuration"))
            #expect(Self.status(refusals["configuration not granted"]) == (403, "insufficient_scope"))
            for (name, answer) in refusals {
                #expect(answer["content_type"]?.stringValue?.hasPrefix("application/json") == true, "\(name)")
                #expect(answer["error_description"]?.stringValue?.isEmpty == false, "\(name)")
            }
            #expect(report["cache_control"] == "no-store")

            // What PyPI sd-jwt verified.
            let verified = try #require(report["verified"])
            #expect(verified["header"]?["typ"] == "dc+sd-jwt" && verified["header"]?["alg"] == "ES256")
            let payload = try #require(verified["payload"])
            #expect(payload["iss"] == .string(issuer) && payload["vct"] == .string(issuer + "/credentials/kyc-attestation"))
            #expect(payload["given_name"] == "Helvetia" && payload["family_name"] != nil && payload["age_over_18"] == true)
            #expect(payload["cnf"]?["jwk"] == verified["holder_jwk"])
            let iat = try #require(payload["iat"]?.int64Value)
            #expect(payload["exp"]?.int64Value == iat + 90 * 86_400)
            #expect(verified["disclosed"]?.arrayValue?.contains("given_name") == true)
            #expect(verified["foreign_key_binding"]?.stringValue?.hasPrefix("refused") == true)

            // Revocation: live in the status list (read by joserfc above), then revoked by kych-client-management with the
            // id the gateway logged.
            #expect(verified["status_bit"] == 0)
            let index = try #require(payload["status"]?["status_list"]?["idx"]?.int64Value)
            let id = try #require(Self.attestationID(in: gateway.process.log), "the issue is logged with the attestation id")
            let cli = try temporaryFile("[kych-oauth2-gateway]\nHOST = 127.0.0.1\nPORT = 9\nDATABASE = \(db.connectionString)\n")
            let revoke = try Run.program("kych-client-management", ["-c", cli, "revoke-attestation", id])
            #expect(revoke.status == 0 && revoke.stdout == "Revoked 1 attestation.\n", "\(revoke.stderr)")
            let list = try await HTTP.get(issuer + "/status-lists/kych-attestations")
            let jwks = try #require(try await HTTP.get(issuer + "/.well-known/jwt-vc-issuer").json["jwks"]?.objectValue)
            let token = try await ClientSignedJWT.verify(list.body, keySet: jwks)
            let bits = try StatusList(bits: 1, compressedList: try #require(token.claims["status_list"]?["lst"]?.stringValue))
            #expect(bits.value(at: Int(index)) == 1)
        } catch {
            _ = await gateway.process.terminate()
            throw error
        }
        #expect(await gateway.process.terminate() == 0)
        #expect(!gateway.process.log.contains("~WyJ"), "no disclosure is logged")
    }
}
