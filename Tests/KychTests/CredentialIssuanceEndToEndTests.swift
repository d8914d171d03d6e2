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
            let result = try await Run.program(python, [
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
            let revoke = try await Run.program("kych-client-management", ["-c", cli, "revoke-attestation", id])
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

    /// Credential offers: `kych-client-management credential-offer --client-id wallet --qr FILE.png --qr-text` prints an
    /// `openid-credential-offer://` link (zbarimg reads the same link from the PNG); the independent wallet parses it with
    /// urllib + json, starts the flow with the offer's `issuer_state` alone (a changed state is refused at `/authorize`
    /// with `invalid_request`) and receives the attestation, which PyPI sd-jwt checks.
    @Test func aWalletReceivesTheAttestationFromACredentialOffer() async throws {
        let gateway = try await WalletGateway.start { verifier in
            """
            [client_wallet]
            CLIENT_ID = wallet
            CLIENT_TYPE = public
            REDIRECT_URI = \(Self.redirect)
            \(verifier)
            """
        }
        do {
            let issuer = gateway.process.baseURL
            let cli = try temporaryFile("[kych-oauth2-gateway]\nHOST = 127.0.0.1\nPORT = 9\nDATABASE = \(gateway.database)\nBASE_URL = \(issuer)\n")
            let png = try temporaryFile("", suffix: ".png")
            let made = try await Run.program("kych-client-management", ["-c", cli, "credential-offer", "--client-id", "wallet", "--qr", png, "--qr-text"])
            try #require(made.status == 0, "\(made.stderr)")
            let lines = made.stdout.split(separator: "\n", omittingEmptySubsequences: false)
            let link = String(lines[0])
            #expect(link.hasPrefix("openid-credential-offer://?credential_offer="))
            #expect(lines.dropFirst().contains { $0.contains("█") }, "--qr-text prints the code")
            let zbarimg = try #require(Run.which("zbarimg"), "zbarimg not found in PATH: install it (Debian: apt-get install zbar-tools)")
            let decoded = try await Run.program(zbarimg, ["--raw", "-q", png])
            #expect(decoded.status == 0 && decoded.stdout == link + "\n", "\(decoded.stderr)")
            let unknown = try await Run.program("kych-client-management", ["-c", cli, "credential-offer", "--client-id", "nobody"])
            #expect(unknown.status != 0 && unknown.stdout.isEmpty)

            let python = try #require(Run.which("python3"), "python3 is missing")
            let result = try await Run.program(python, [
                Self.script.path, "--offer", link, "--base-url", issuer, "--client-id", "wallet",
                "--redirect-uri", Self.redirect, "--wallet-bin", WalletGateway.walletBinary, "--wallet", gateway.wallet,
            ])
            try #require(result.status == 0, "vci_wallet failed: \(result.stderr)")
            let report = try JSON.parse(Data(result.stdout.utf8))
            let offer = try #require(report["offer"])
            #expect(offer["credential_issuer"] == .string(issuer) && offer["credential_configuration_ids"] == ["kych_attestation"])
            #expect(offer["grants"]?["authorization_code"]?["issuer_state"]?.stringValue?.isEmpty == false)
            #expect(report["changed_state"]?["status"]?.int64Value == 302)
            #expect(report["changed_state"]?["error"] == "invalid_request")
            #expect(report["changed_state"]?["error_description"] == .string("issuer_state is not from a credential offer of \(issuer)"))
            #expect(report["token_authorization_details"]?.arrayValue?.first?["credential_configuration_id"] == "kych_attestation")
            let payload = try #require(report["verified"]?["payload"])
            #expect(payload["iss"] == .string(issuer) && payload["vct"] == .string(issuer + "/credentials/kyc-attestation"))
            #expect(payload["given_name"] == "Helvetia")
            // By reference: the wallet fetches the offer from its credential_offer_uri and gets the attestation the same way.
            let byReference = try await Run.program("kych-client-management", ["-c", cli, "credential-offer", "--by-reference"])
            let reference = byReference.stdout.trimmingCharacters(in: .newlines)
            #expect(reference.hasPrefix("openid-credential-offer://?credential_offer_uri=" + "\(issuer)/credential-offers/".urlEscaped))
            let second = try await Run.program(python, [
                Self.script.path, "--offer", reference, "--base-url", issuer, "--client-id", "wallet",
                "--redirect-uri", Self.redirect, "--wallet-bin", WalletGateway.walletBinary, "--wallet", gateway.wallet,
            ])
            try #require(second.status == 0, "vci_wallet failed: \(second.stderr)")
            #expect(try JSON.parse(Data(second.stdout.utf8))["verified"]?["payload"]?["iss"] == .string(issuer))
            #expect(try await HTTP.get(issuer + "/credential-offers/forged").status == 404)
            // The vct resolves to the type metadata.
            let type = try await HTTP.get(issuer + "/credentials/kyc-attestation")
            #expect(type.status == 200 && type.json["vct"] == .string(issuer + "/credentials/kyc-attestation"))
        } catch {
            _ = await gateway.process.terminate()
            throw error
        }
        #expect(await gateway.process.terminate() == 0)
    }
}
