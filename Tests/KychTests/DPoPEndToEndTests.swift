import Foundation
import KychCore
import Testing

/// RFC 9449 end to end: a DPoP client made with PyPI joserfc (`Tests/rp/dpop_flow.py`, sharing no code with KyCH) against
/// two real `kych-oauth2-gateway` processes on one PostgreSQL database, the person's wallet being `kych-wallet`. The
/// token of a REQUIRE_DPOP client is DPoP-bound to the key its `dpop_jkt` named; `/info` answers only a fresh proof by
/// that key; each refusal of the list is checked, a proof replayed to the second instance among them; a
/// REQUIRE_DPOP_NONCE client goes through the `use_dpop_nonce` round trip. Fails, rather than skips, without joserfc.
@Suite struct DPoPEndToEndTests {
    static let script = TestEnvironment.packageRoot.appendingPathComponent("Tests/rp/dpop_flow.py")
    static let secret = "secret-token:dpop-rp-secret-0123456789abcdefgh"
    static let redirect = "https://rp.example.com/dpop/callback"

    /// An answer in the script's report: its status and OAuth error code.
    static func status(_ answer: JSON?) -> (Int64?, String?) { (answer?["status"]?.int64Value, answer?["error"]?.stringValue) }

    @Test func aJoserfcClientGetsABoundTokenAndEveryFaultyProofIsRefused() async throws {
        let db = try await TestDatabase.create(installSchema: false)
        let gateway = try await WalletGateway.start(mainSettings: "CLAIMS_RETENTION_MINUTES = 60", database: db.connectionString) { verifier in
            """
            [client_dpop]
            CLIENT_ID = dpop
            CLIENT_SECRET = \(Self.secret)
            REDIRECT_URI = \(Self.redirect)
            REQUIRE_DPOP = yes
            \(verifier)

            [client_dpop_nonce]
            CLIENT_ID = dpop-nonce
            CLIENT_SECRET = \(Self.secret)
            REDIRECT_URI = \(Self.redirect)
            REQUIRE_DPOP_NONCE = yes
            \(verifier)
            """
        }
        var second: GatewayProcess?
        do {
            second = try await gateway.secondInstance()
            let python = try #require(Run.which("python3"), "python3 is missing")
            let result = try await Run.program(python, [
                Self.script.path, "--base-url", gateway.process.baseURL, "--second-url", try #require(second).baseURL,
                "--client-id", "dpop", "--nonce-client-id", "dpop-nonce", "--redirect-uri", Self.redirect,
                "--wallet-bin", WalletGateway.walletBinary, "--wallet", gateway.wallet,
            ], environment: ["KYCH_RP_CLIENT_SECRET": Self.secret])
            try #require(result.status == 0, "dpop_flow failed: \(result.stderr)")
            let report = try JSON.parse(Data(result.stdout.utf8))

            let algs = report["dpop_signing_alg_values_supported"]?.arrayValue?.compactMap(\.stringValue) ?? []
            #expect(algs.contains("ES256") && !algs.contains { $0.hasPrefix("HS") } && !algs.contains("none"), "\(algs)")

            // /token: every faulty proof refused (the code stays unused), then the bound token.
            let tokenRefusals = try #require(report["token_refusals"]?.objectValue)
            #expect(tokenRefusals.count == 7)
            #expect(Self.status(tokenRefusals["no proof"]) == (400, "invalid_request"))
            for name in ["another key than dpop_jkt", "HS256", "private key in jwk", "another URL", "another method", "old iat"] {
                #expect(Self.status(tokenRefusals[name]) == (400, "invalid_dpop_proof"), "\(name): \(String(describing: tokenRefusals[name]))")
            }
            #expect(report["token_type"] == "DPoP")

            // /info: only a fresh proof by the bound key, carrying ath.
            let infoRefusals = try #require(report["info_refusals"]?.objectValue)
            for name in ["bound token as Bearer", "bound token as Bearer with a proof", "another key"] {
                #expect(Self.status(infoRefusals[name]) == (401, "invalid_token"), "\(name): \(String(describing: infoRefusals[name]))")
            }
            for name in ["no ath", "another URL", "another method", "old iat"] {
                #expect(Self.status(infoRefusals[name]) == (401, "invalid_dpop_proof"), "\(name): \(String(describing: infoRefusals[name]))")
            }
            for (name, answer) in infoRefusals {
                #expect(answer["www_authenticate"]?.stringValue?.hasPrefix("DPoP ") == true, "\(name): \(answer)")
            }
            #expect(report["info"]?["status"] == "success" && report["info"]?["claims"]?["given_name"] == "Helvetia")
            #expect(Self.status(report["replay_at_second_instance"]) == (401, "invalid_dpop_proof"), "a proof replayed to another instance")
            #expect(Self.status(report["replay_at_first_instance"]) == (401, "invalid_dpop_proof"))
            #expect(Self.status(report["fresh_proof_at_second_instance"]).0 == 200, "the second instance serves fresh proofs")

            let introspection = try #require(report["introspection"])
            #expect(introspection["active"] == true && introspection["token_type"] == "DPoP")
            #expect(introspection["cnf"]?["jkt"] == report["jkt"] && report["jkt"] != nil)

            // REQUIRE_DPOP_NONCE: use_dpop_nonce with a DPoP-Nonce, then accepted with it, at /token and at /info.
            #expect(Self.status(report["nonce_token_first"]) == (400, "use_dpop_nonce"))
            #expect(report["nonce_token_first"]?["dpop_nonce"]?.stringValue?.isEmpty == false)
            #expect(Self.status(report["nonce_token_retry"]).0 == 200)
            #expect(report["nonce_token_retry"]?["dpop_nonce"]?.stringValue?.isEmpty == false, "a fresh nonce comes with success too")
            #expect(Self.status(report["nonce_info_first"]) == (401, "use_dpop_nonce"))
            #expect(report["nonce_info_first"]?["www_authenticate"]?.stringValue?.contains("error=\"use_dpop_nonce\"") == true)
            #expect(Self.status(report["nonce_info_retry"]).0 == 200)
        } catch {
            _ = await second?.terminate()
            _ = await gateway.process.terminate()
            throw error
        }
        #expect(await second?.terminate() == 0)
        #expect(await gateway.process.terminate() == 0)
        #expect(!gateway.process.log.contains(Self.secret), "the client secret must not be logged")
    }
}
