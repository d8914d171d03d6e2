import Foundation
import HTTPTypes
import KychCore
import Testing

/// Over HTTP: the 429 of the per-address limit on nonce-less `/authorize` (issue 12, finding 5), and a link preview
/// that opens `/authorize/{nonce}` before the person's browser (finding 15).
@Suite struct AuthorizeWithoutSetupHTTPTests {
    @Test func tooManyFromOneAddressAnswers429WithRetryAfter() async throws {
        let harness = try await GatewayHarness.make(verifier: .faultInjecting(), mainSettings: "AUTHORIZE_WITHOUT_SETUP_PER_ADDRESS = 2")
        try await harness.run { flow in
            // The router test has no peer address: like a local reverse proxy's request, X-Real-IP names the source.
            let from: HTTPFields = [.init("X-Real-IP")!: "203.0.113.9"]
            for _ in 0..<2 { #expect(try await flow.request(flow.authorizeURI(nil), headers: from).status == .ok) }
            let page = try await flow.request(flow.authorizeURI(nil), headers: from)
            // Two a minute: one comes back every 30 s (less what the requests took).
            #expect(page.status == .tooManyRequests && page.headers[.retryAfter].flatMap { Int($0) }.map { (20...30).contains($0) } == true)
            #expect(page.headers[.contentType] == "text/html; charset=utf-8" && page.text.contains("<h1>Too many attempts</h1>"))
            var asJSON = from
            asJSON[.accept] = "application/json"
            let json = try await flow.request(flow.authorizeURI(nil), headers: asJSON)
            json.expectOAuthError("temporarily_unavailable", status: .tooManyRequests)
            #expect(json.headers[.retryAfter].flatMap { Int($0) }.map { (1...30).contains($0) } == true)
            // Another address (the last X-Forwarded-For entry, the one nginx appends) is not affected.
            let other = try await flow.request(flow.authorizeURI(nil), headers: [.init("X-Forwarded-For")!: "203.0.113.9, 198.51.100.1"])
            #expect(other.status == .ok)
            #expect(harness.standIn.createdIDs.count == 3)
        }
    }

    @Test func aLinkPreviewBeforeTheBrowserLocksNobodyOut() async throws {
        let harness = try await GatewayHarness.make()
        try await harness.run { flow in
            let uri = flow.authorizeURI(try await flow.nonce())
            // A chat app's preview fetch: a plain GET, no cookies kept, no script run.
            #expect(try await flow.request(uri).status == .ok)
            // Then the person's browser opens the same link.
            let page = try await flow.request(uri)
            let setCookie = try #require(page.headers[.setCookie])
            let id = try #require(page.text.captures(#"data-status-url="/status/([^?"]+)"#).first)
            let deeplink = try #require(page.text.captures(#"id="open-wallet" href="([^"]*)""#).first?.htmlUnescaped)
            let started = FlowClient.Started(verificationID: id, cookie: String(setCookie.split(separator: ";")[0]), deeplink: deeplink)
            try await flow.present(started)
            #expect(try await flow.notify(id).status == .noContent)
            #expect(try await flow.status(id) == "verified")
            // Whoever knows only the verification id still cannot finish it; the person's browser can.
            #expect(try await flow.request("/finalize/\(id)?state=\(GatewayHarness.state)").status == .forbidden)
            #expect(try await flow.finalize(started)?["code"] != nil)
        }
    }
}
