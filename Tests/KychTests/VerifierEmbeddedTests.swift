import Foundation
import KychCore
import KychOAuth
import KychGateway
import KychPostgres
import KychVerifierModel
import KychWallet
import Testing

/// `[kych-verifier] EMBEDDED = yes`: the gateway serves the built-in verifier itself, and a whole
/// flow runs against one process.
@Suite struct VerifierEmbeddedTests {
    @Test func gatewayServesTheVerifierItself() async throws {
        let embedded = try await EmbeddedVerifierGateway.start()
        let (wallet, baseURL, port, token) = (embedded.wallet, embedded.baseURL, embedded.port, EmbeddedVerifierGateway.token)
        let browser = GatewayBrowser(baseURL: baseURL)

        let started = try await browser.start()
        #expect(started.deeplink.contains("request_uri=http%3A%2F%2F127.0.0.1%3A\(port)%2Foid4vp%2Fapi%2Frequest-object%2F"))
        #expect(try await wallet.present(try await PresentationRequest.fetch(started.deeplink)).status == 200)
        #expect(try await browser.status(started) == "verified")
        let info = try await browser.info(code: try #require(try await browser.finalize(started)["code"]))
        #expect(info.json["claims"]?["given_name"] == "Helvetia")
        // The management API is not open on the public gateway.
        let management = baseURL + "/management/api/verifications/" + started.verificationID
        #expect(try await HTTP.get(management).status == 401)
        #expect(try await HTTP.get(management, headers: [("Authorization", "Bearer \(token)")]).json["state"] == "SUCCESS")
        await embedded.gateway.stop()
    }
}
