import Foundation
import KychCore
import Testing

/// Issue 16's proof: an independent organisation wallet, PyPI sd-jwt (the SD-JWT reference implementation) with keys
/// from joserfc (`Tests/rp/vp_token_bearer.py`, sharing no code with KyCH), gets a token with `grant_type=vp_token-bearer`
/// from a real `kych-oauth2-gateway` process (SQLite) and reads the presented claims at `/info`; the refusals it provokes
/// each answer the right OAuth error as JSON with an `error_description`, and the log holds no presentation or claim; with a
/// DPoP proof (joserfc) the token is bound to its key.
@Suite struct VPTokenBearerEndToEndTests {
    static let script = TestEnvironment.packageRoot.appendingPathComponent("Tests/rp/vp_token_bearer.py")
    static let secret = "secret-token:vp-token-bearer-org-0123456789ab"

    /// A gateway whose client care_org may use the grant, and whose `[scope_care]` takes OrganisationCredentials from
    /// `issuerDID` when they disclose organisation_name; `more` adds sections.
    static func startGateway(issuerDID: String, more: (_ verifierSettings: String) -> String = { _ in "" }) async throws -> WalletGateway {
        try await WalletGateway.start { verifierSettings in
            """
            [client_org]
            CLIENT_ID = care_org
            CLIENT_SECRET = \(secret)
            REDIRECT_URI = https://care.example.org/unused
            GRANT_TYPES = {vp_token-bearer}
            \(verifierSettings)

            [scope_care]
            VCT = {OrganisationCredential}
            ACCEPTED_ISSUER_DIDS = {\(issuerDID)}
            REQUIRED_CLAIMS = {organisation_name}

            \(more(verifierSettings))
            """
        }
    }

    @Test func anIndependentWalletGetsATokenAndTheGatewayRefusesWhatItMust() async throws {
        let python = try #require(Run.which("python3"), "python3 is missing")
        let keys = try VerifierTestConfig.temporaryDirectory()
        let made = try await Run.program(python, [Self.script.path, "keys", keys.path])
        try #require(made.status == 0, "\(made.stderr)")
        let issuerDID = made.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let gateway = try await Self.startGateway(issuerDID: issuerDID) { verifierSettings in
            """
            [client_exchange]
            CLIENT_ID = exchange
            CLIENT_SECRET = \(Self.secret)
            REDIRECT_URI = https://exchange.example.com/cb
            \(verifierSettings)

            [scope_billing]
            VCT = {BillingCredential}
            ACCEPTED_ISSUER_DIDS = {\(issuerDID)}
            """
        }
        let result: ProcessResult
        do {
            result = try await Run.program(python, [Self.script.path, "run", keys.path, "--base-url", gateway.process.baseURL,
                                              "--client-id", "care_org", "--other-client-id", "exchange"],
                                     environment: ["KYCH_VP_CLIENT_SECRET": Self.secret])
        } catch {
            _ = await gateway.process.terminate()
            throw error
        }
        let log = gateway.process.log
        #expect(await gateway.process.terminate() == 0)
        try #require(result.status == 0, "vp_token_bearer.py failed: \(result.stderr)")
        let report = try JSON.parse(Data(result.stdout.utf8))
        #expect(report["grant_types_supported"]?.arrayValue?.contains("vp_token-bearer") == true)

        let accepted = try #require(report["accepted"])
        #expect(accepted["status"] == 200, "\(accepted)")
        #expect(accepted["body"]?["token_type"] == "Bearer" && accepted["body"]?["refresh_token"] == nil)
        let info = try #require(report["info"])
        #expect(info["status"] == 200)
        #expect(info["body"]?["claims"]?["organisation_name"] == "Zorg BV" && info["body"]?["claims"]?["organisation_id"] == "12345678")
        #expect(info["body"]?["credential"]?["issuer"] == .string(issuerDID))
        #expect(info["body"]?["credential"]?["vct"] == "OrganisationCredential")
        let introspection = try #require(report["introspection"]?["body"])
        #expect(introspection["active"] == true && introspection["scope"] == "care" && introspection["client_id"] == "care_org")
        #expect(introspection["claims"]?["organisation_id"] == "12345678", "\(introspection)")

        let dpop = try #require(report["dpop"]), dpopInfo = try #require(report["dpop_info"])
        #expect(dpop["status"] == 200 && dpop["body"]?["token_type"] == "DPoP", "\(dpop)")
        #expect(dpopInfo["as_bearer"] == 401 && dpopInfo["with_proof"] == 200, "\(dpopInfo)")
        #expect(dpopInfo["claims"]?["organisation_name"] == "Zorg BV")

        for (scenario, error) in [("replayed", "invalid_grant"), ("other_issuer", "invalid_grant"), ("wrong_aud", "invalid_grant"),
                                  ("foreign_nonce", "invalid_grant"), ("expired", "invalid_grant"), ("other_scope", "invalid_scope"),
                                  ("client_not_allowed", "unauthorized_client")] {
            let answer = try #require(report[scenario], "no \(scenario) in the report")
            #expect(answer["status"] == 400, "\(scenario): \(answer)")
            #expect(answer["body"]?["error"] == .string(error), "\(scenario): \(answer)")
            #expect(answer["body"]?["error_description"]?.stringValue?.isEmpty == false, "\(scenario)")
            #expect(answer["content_type"]?.stringValue?.hasPrefix("application/json") == true, "\(scenario)")
        }
        #expect(!log.contains("Zorg BV") && !log.contains("12345678") && !log.contains("~ey"), "no credential content in the log")
        #expect(!log.contains(Self.secret))
    }

    /// `kych-wallet present-at-token` demonstrates the grant from the command line: an organisation credential issued
    /// with `issue --organisation`, presented for a scope, then the token reads its claims at `/info`.
    @Test func kychWalletPresentsAnOrganisationCredentialAtToken() async throws {
        let organisation = try await WalletCommand(in: try VerifierTestConfig.temporaryDirectory())
        let issued = try await organisation(["issue", "--organisation", "--name", "organisation", "--claim", "organisation_name=Zorg BV"])
        try #require(issued.status == 0, "\(issued.stderr)")
        #expect(issued.stdout.contains("vct OrganisationCredential, 1 claims"), "\(issued.stdout)")
        let gateway = try await Self.startGateway(issuerDID: organisation.issuerDID)
        let presented = try await Run.program("kych-wallet", ["present-at-token", "--wallet", organisation.path, "--gateway", gateway.process.baseURL,
                                                        "--client-id", "care_org", "--scope", "care"],
                                        environment: ["KYCH_CLIENT_SECRET": Self.secret])
        let refused = try await Run.program("kych-wallet", ["present-at-token", "--wallet", organisation.path, "--gateway", gateway.process.baseURL,
                                                      "--client-id", "care_org", "--scope", "billing"],
                                      environment: ["KYCH_CLIENT_SECRET": Self.secret])
        var info: JSON?
        if presented.status == 0, let token = try JSON.parse(Data(presented.stdout.utf8))["access_token"]?.stringValue {
            info = try await HTTP.get(gateway.process.baseURL + "/info", headers: [("Authorization", "Bearer " + token)]).json
        }
        #expect(await gateway.process.terminate() == 0)
        try #require(presented.status == 0, "\(presented.stdout) \(presented.stderr)")
        #expect(info?["claims"]?["organisation_name"] == "Zorg BV" && info?["credential"]?["issuer"] == .string(organisation.issuerDID))
        #expect(refused.status == 2 && refused.stdout.contains("invalid_scope"), "\(refused.stdout) \(refused.stderr)")
    }
}
