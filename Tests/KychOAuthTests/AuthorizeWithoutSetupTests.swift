import Foundation
import KychCore
import KychOAuth
import Testing

/// Nonce-less `/authorize` (issue 12, finding 5): anyone may send it, so the sessions it starts are rate-limited per
/// source address and per client, capped per client, can be switched off per client, and are purged when nobody
/// watches them. And the browser binding (finding 15): a link preview opening the page first locks nobody out.
@Suite struct AuthorizeWithoutSetupTests {
    /// A nonce-less authorization request from `source`.
    func start(_ f: FlowFixture, from source: String? = "192.0.2.1") async throws -> Authorization {
        try await f.server.authorize(AuthorizationRequest(nonce: nil, parameters: [
            "response_type": "code", "client_id": "exchange", "redirect_uri": FlowFixture.redirect, "state": "st",
        ], sourceAddress: source))
    }

    /// The status and `Retry-After` seconds of a refused start.
    func refusal(_ f: FlowFixture, from source: String? = "192.0.2.1") async -> (status: Int, kind: PageError, seconds: Int)? {
        guard case .retryLater(let status, let kind?, let seconds, _)? = await flowError({ try await start(f, from: source) }) else { return nil }
        return (status, kind, seconds)
    }

    @Test func rateLimiterRefillsEvenlyAndForgetsFullBuckets() {
        let limiter = RateLimiter(perMinute: 6)   // one every 10 s
        let t0 = Date(timeIntervalSince1970: 1_800_000_000)
        for _ in 0..<6 { #expect(limiter.take("a", now: t0) == nil) }
        #expect(limiter.take("a", now: t0) == 10)
        #expect(limiter.take("a", now: t0.addingTimeInterval(4)) == 6)
        #expect(limiter.take("b", now: t0) == nil)                       // per key
        #expect(limiter.take("a", now: t0.addingTimeInterval(10)) == nil)
        #expect(limiter.take("a", now: t0.addingTimeInterval(10)) == 10)
        // Keys whose bucket is full again are dropped when the table grows, so a flood of addresses does not stay in memory.
        for i in 0..<2000 { _ = limiter.take("k\(i)", now: t0) }
        for i in 0..<100 { _ = limiter.take("m\(i)", now: t0.addingTimeInterval(120)) }
        #expect(limiter.trackedKeys == 100)
    }

    @Test func perAddressLimitAnswers429WithRetryAfter() async throws {
        let f = try await FlowFixture(extraConfig: "AUTHORIZE_WITHOUT_SETUP_PER_ADDRESS = 3")
        for _ in 0..<3 { _ = try await start(f) }
        let refused = await refusal(f)
        #expect(refused?.status == 429 && refused?.kind == .tooManyRequests && refused?.seconds == 20)
        #expect(await f.verifier.created.count == 3)                       // the refused one never reached the verifier
        _ = try await start(f, from: "198.51.100.7")                         // another address is not affected
        _ = try await start(f, from: nil)                                   // nor an unknown one (only the client's limits apply)
        f.clock.advance(20)
        _ = try await start(f)
        // A /setup session is not limited, and neither is a reload of a page.
        let reloaded = try await f.authorize(nonce: try await f.setup())
        _ = try await f.authorize(nonce: reloaded.session.nonce)
    }

    @Test func perClientLimitCountsEveryAddress() async throws {
        let f = try await FlowFixture(extraConfig: "AUTHORIZE_WITHOUT_SETUP_PER_CLIENT = 4")
        for i in 0..<4 { _ = try await start(f, from: "192.0.2.\(i)") }
        let refused = await refusal(f, from: "192.0.2.99")
        #expect(refused?.status == 429 && refused?.kind == .tooManyRequests && refused?.seconds == 15)
    }

    @Test func pendingSessionsAreCappedPerClient() async throws {
        let f = try await FlowFixture(extraConfig: "AUTHORIZE_WITHOUT_SETUP_MAX_PENDING = 2")
        let first = try await start(f, from: "192.0.2.1")
        _ = try await start(f, from: "192.0.2.2")
        let refused = await refusal(f, from: "192.0.2.3")
        #expect(refused?.status == 503 && refused?.kind == .busy && refused?.seconds == 60)
        // /setup sessions do not count and are not refused.
        _ = try await f.authorize(nonce: try await f.setup())
        // Once one of them has finished (the wallet answered), there is room again.
        await f.verifier.answer(first.verification.id, with: .failed(code: "credential_revoked", description: nil))
        try await f.server.notification(verificationID: first.verification.id) { _ in nil }
        _ = try await start(f, from: "192.0.2.3")
        #expect(await refusal(f, from: "192.0.2.4")?.kind == .busy)
    }

    @Test func aClientCanTurnItOff() async throws {
        let f = try await FlowFixture(clientSettings: "ALLOW_AUTHORIZE_WITHOUT_SETUP = no")
        guard case .redirect(let location)? = await flowError({ try await start(f) }) else {
            Issue.record("expected an error redirect"); return
        }
        let query = FormURLEncoding.decode(String(location.split(separator: "?", maxSplits: 1)[1]))
        #expect(location.hasPrefix(FlowFixture.redirect + "?") && query?["error"] == "unauthorized_client" && query?["state"] == "st")
        #expect(await f.verifier.created.isEmpty)
        // The /setup flow still works.
        #expect(try await f.runToFinalize().contains("code="))
    }

    @Test func purgeEndsNonceLessSessionsNobodyWatches() async throws {
        let f = try await FlowFixture(extraConfig: "AUTHORIZE_WITHOUT_SETUP_IDLE_MINUTES = 2")
        let idle = try await start(f, from: "192.0.2.1")
        let watched = try await start(f, from: "192.0.2.2")
        let setup = try await f.authorize(nonce: try await f.setup())
        for _ in 0..<10 {
            f.clock.advance(15)
            // The page polls /status: each due poll claims a verifier check.
            _ = try await f.server.status(verificationID: watched.verification.id, state: "st", timeout: .zero)
        }
        let report = try await f.server.purge(retention: 3600)
        #expect(report.abandonedSessions == 1 && report.expiredSessions == 0)
        #expect(try await f.server.status(verificationID: idle.verification.id, state: "st", timeout: .zero) == .expired)
        #expect(try await f.server.status(verificationID: watched.verification.id, state: "st", timeout: .zero) == .authorized)
        #expect(try await f.server.status(verificationID: setup.verification.id, state: "st", timeout: .zero) == .authorized)
        // A verified session is never abandoned, watched or not.
        await f.verifier.answer(watched.verification.id, with: .success(FlowFixture.credential))
        try await f.server.notification(verificationID: watched.verification.id) { _ in nil }
        f.clock.advance(5 * 60)
        #expect(try await f.server.purge(retention: 3600).abandonedSessions == 0)
        let location = try await f.server.finalize(verificationID: watched.verification.id, state: "st", bindingCookie: watched.bindingCookie)
        #expect(location.contains("code="))
    }

    @Test func aLinkPreviewOpeningThePageFirstLocksNobodyOut() async throws {
        let f = try await FlowFixture()
        let nonce = try await f.setup()
        let preview = try await f.authorize(nonce: nonce)                // the chat app's preview fetch: its cookie is thrown away
        let browser = try await f.authorize(nonce: nonce)                // the person's browser
        #expect(preview.verification == browser.verification && browser.bindingCookie != nil)
        let id = browser.verification.id
        await f.verifier.answer(id, with: .success(FlowFixture.credential))
        try await f.server.notification(verificationID: id) { _ in nil }
        // Who knows only the verification id still cannot finish it, and after the presentation no browser gets the cookie.
        guard case .page(403, .differentBrowser, _)? = await flowError({ try await f.server.finalize(verificationID: id, state: "st", bindingCookie: nil) })
        else { Issue.record("expected the different-browser page"); return }
        #expect(try await f.authorize(nonce: nonce).bindingCookie == nil)
        let location = try await f.server.finalize(verificationID: id, state: "st", bindingCookie: browser.bindingCookie)
        #expect(location.contains("code="))
    }
}
