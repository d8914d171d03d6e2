import Foundation
import KychCore
import KychOAuth
import KychPostgres
import Testing

/// KyCH as an operator runs it: one configuration file with the gateway, a client and the built-in
/// verifier; `kych-dbinit`, `kych-client-management sync`, the `kych-verifier` and
/// `kych-oauth2-gateway` processes; `kych-wallet` as the person's wallet. No test double anywhere.
@Suite struct EndToEndTests {
    @Test func verificationWithTheBuiltInVerifierAndTheTestWallet() async throws {
        let db = try await TestDatabase.create(installSchema: false)
        let directory = try VerifierTestConfig.temporaryDirectory()
        let walletCommand = try await WalletCommand(in: directory)
        let issuer = walletCommand.issuerDID

        let gatewayPort = TestPorts.next(), verifierPort = TestPorts.next()
        let config = try temporaryFile(
            VerifierTestConfig.gatewaySections(port: gatewayPort, database: db.connectionString,
                                               verifierURL: "http://127.0.0.1:\(verifierPort)", acceptedIssuers: [issuer])
            + "\n" + VerifierTestConfig.section(
                port: verifierPort, database: db.connectionString, keyFile: directory.appendingPathComponent("verifier.pem").path,
                webhook: "http://127.0.0.1:\(gatewayPort)/notification"))
        let dbinit = try await Run.program("kych-dbinit", ["-c", config])
        #expect(dbinit.stdout.contains("Applied: \((SchemaInstaller.gatewayPatches + SchemaInstaller.verifierPatches).joined(separator: ", "))"), "\(dbinit.stderr)")
        #expect(try await Run.program("kych-client-management", ["-c", config, "sync"]).status == 0)
        let verifier = try await GatewayProcess(configPath: config, baseURL: "http://127.0.0.1:\(verifierPort)", executable: "kych-verifier")
        let gateway = try await GatewayProcess(configPath: config, baseURL: "http://127.0.0.1:\(gatewayPort)")
        let browser = GatewayBrowser(baseURL: gateway.baseURL)

        // setup → authorize → the wallet presents → webhook → status → finalize → token → info.
        let started = try await browser.start()
        #expect(started.deeplink.hasPrefix("swiyu-verify://?client_id=decentralized_identifier%3Adid%3Ajwk%3A"))
        let present = try await walletCommand(["present", started.deeplink])
        #expect(present.status == 0, "\(present.stderr)")
        #expect(present.stdout.contains("age_over_18, birth_date, family_name, given_name") && present.stdout.contains("Presented."))
        #expect(try await browser.status(started) == "verified")
        let redirect = try await browser.finalize(started)
        #expect(redirect["state"] == GatewayBrowser.state)
        let info = try await browser.info(code: try #require(redirect["code"]))
        #expect(info.status == 200, "\(info.body)")
        #expect(info.json["claims"] == ["given_name": "Helvetia", "family_name": "National", "birth_date": "1848-09-12", "age_over_18": true])
        #expect(info.json["credential"] == ["vct": "betaid-sdjwt", "issuer": .string(issuer)])
        #expect(verifier.log.contains("webhook delivered"))

        // A person who declines, and a wallet that signs for another nonce: failed flows, with the
        // verifier's code at the client.
        for (flag, code) in [("--decline", "access_denied"), ("--wrong-nonce", "missing_nonce")] {
            let failed = try await browser.start()
            let answer = try await walletCommand(["present", failed.deeplink, flag])
            #expect(answer.status == (flag == "--decline" ? 0 : 2), "\(answer.stderr)")
            #expect(flag == "--decline" || answer.stderr.contains(code))
            #expect(try await browser.status(failed) == "failed")
            let denied = try await browser.finalize(failed)
            #expect(denied["error"] == "access_denied" && denied["error_description"]?.contains(code) == true, "\(denied)")
        }

        #expect(await gateway.terminate() == 0)
        #expect(await verifier.terminate() == 0)
        // Nothing secret or personal in the verifier's log.
        for secret in ["Helvetia", "National", "1848", VerifierTestConfig.webhookKey, GatewayBrowser.secret, "~"] {
            #expect(!verifier.log.contains(secret), "the verifier log contains \(secret)")
        }
    }
}
