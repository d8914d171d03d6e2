import Foundation
import Hummingbird
import HummingbirdTesting
import KychCore
import KychOAuth
import KychWallet
import Testing

/// Reloading the verification page (its no-JavaScript path) moves the flow on by itself.
@Suite struct FlowReloadTests {
    /// setup, then the page in a browser (HTML) and its deeplink (JSON, same session).
    private func open(_ flow: FlowClient) async throws -> (nonce: String, deeplink: String, id: String) {
        let nonce = try await flow.nonce()
        #expect(try await flow.request(flow.authorizeURI(nonce)).status == .ok)
        let json = try await flow.request(flow.authorizeURI(nonce), headers: [.accept: "application/json"])
        return (nonce, try #require(json.json["verification_deeplink"]?.stringValue), try #require(json.json["verification_id"]?.stringValue))
    }

    @Test func reloadAfterAFailureRedirectsToTheClient() async throws {
        let harness = try await GatewayHarness.make(clientSettings: "FAILURE_ERROR = unauthorized_client")
        try await harness.run { flow in
            let page = try await open(flow)
            #expect(try await harness.wallet.answer(page.deeplink, decline: true).status == 200)
            #expect(try await flow.notify(page.id).status == .noContent)
            let reload = try await flow.request(flow.authorizeURI(page.nonce))
            #expect(reload.status == .found)
            let location = try #require(reload.headers[.location])
            #expect(location.hasPrefix(GatewayHarness.redirect + "?error=unauthorized_client&"))
            #expect(location.contains("&state=\(GatewayHarness.state)&iss="))
        }
    }

    @Test func reloadAsksTheVerifierWhenTheWebhookIsLost() async throws {
        let harness = try await GatewayHarness.make()
        try await harness.run { flow in
            let page = try await open(flow)
            #expect(try await harness.wallet.answer(page.deeplink).status == 200)
            try await Task.sleep(for: .milliseconds(3100))          // past the verifier poll interval; no webhook
            #expect(try await flow.request(flow.authorizeURI(page.nonce)).status == .ok)
            // The reload itself asked the verifier and stored the result (read straight from the database).
            #expect(try await harness.db.strings("SELECT status FROM oauth2gw.verification_sessions WHERE verification_id = '\(page.id)'")
                    == ["verified"])
        }
    }
}
