import Foundation
import KychCore
import KychOAuth
import Logging
import Testing

/// The store calls of one complete flow (issue 13): each primitive is one SQL statement on PostgreSQL, so this is the
/// flow's round trips to the database (the `NOTIFY` of a status change is part of the statement that makes it). Counted at the store layer, where
/// the domain decides them, the same for every backend.
@Suite struct StoreRoundTripTests {
    struct Counted {
        let f: FlowFixture
        let counted: CountingStore
        let clients: CachedClientRepository
        let server: AuthorizationServer

        init() async throws {
            f = try await FlowFixture(extraConfig: "BASE_URL = https://kych.example.com", openID: true)
            counted = CountingStore(f.store)
            clients = CachedClientRepository(counted)
            // As the PostgreSQL listener does once it is connected.
            clients.listening()
            var logger = Logger(label: "kych-unit")
            logger.logLevel = .critical
            let clock = f.clock
            server = AuthorizationServer(config: f.server.config, clients: clients, store: counted, verifier: f.verifier,
                                         signingKeys: SigningKeys(store: f.store, encryptionSecret: nil, now: { clock.now }), logger: logger,
                                         now: { clock.now })
        }

        /// setup → authorize (OpenID Connect) → webhook → status → finalize → token (with an ID token) → info.
        func flow() async throws {
            let nonce = try await server.setup(clientID: "exchange", authorization: "Bearer \(FlowFixture.secret)")
            let started = try await server.authorize(AuthorizationRequest(nonce: nonce, parameters: [
                "response_type": "code", "client_id": "exchange", "redirect_uri": FlowFixture.redirect, "state": "st",
                "scope": "openid given_name", "nonce": "oidc-nonce",
            ]))
            await f.verifier.answer(started.verification.id, with: .success(FlowFixture.credential))
            try await server.notification(verificationID: started.verification.id) { _ in nil }
            #expect(try await server.status(verificationID: started.verification.id, state: "st", timeout: .zero) == .verified)
            let location = try await server.finalize(verificationID: started.verification.id, state: "st", bindingCookie: started.bindingCookie)
            let token = try await server.token(TokenRequest(form: [
                "grant_type": "authorization_code", "code": try FlowFixture.code(in: location), "redirect_uri": FlowFixture.redirect,
                "client_id": "exchange", "client_secret": FlowFixture.secret,
            ], authorization: nil))
            #expect(token.id_token != nil)
            #expect(try await server.info(.bearer(token.access_token)).claims == ["given_name": "Helvetia"])
        }
    }

    /// Before: 19 calls (5 client reads, a re-read of the session after each write, the code and its session read
    /// apart, the token read back for the ID token, and the code issued in a transaction: 4 round trips on PostgreSQL). Now the writes return their rows and clients come from memory; /info's delivery
    /// erases the claims (CLAIMS_RETENTION_MINUTES = 0), one write more.
    @Test func aCompleteFlowMakesTwelveStoreCalls() async throws {
        let c = try await Counted()
        try await c.flow()  // the first flow also reads the shared keys once per process
        c.counted.resetCounts()
        try await c.flow()
        #expect(c.counted.calls == [
            "createSession(_:)": 1, "session(nonce:)": 1, "apply(_:toSession:)": 2, "session(verificationID:)": 3,
            "apply(_:toSession:issuing:)": 1, "authorizationCode(hash:)": 1, "redeemCode(serial:usedAt:issuing:)": 1,
            "accessToken(hash:)": 1, "eraseClaims(sessionID:keepingSubject:at:)": 1,
        ])
        #expect(c.counted.totalCalls == 12)
    }

    /// A change of the clients through the cache, or announced to it, is seen by the next read; without a listener
    /// (``CachedClientRepository/deaf()``) every read goes to the store.
    @Test func clientCacheSeesEveryAnnouncedChange() async throws {
        let c = try await Counted()
        let original = try #require(try await c.clients.client(id: "exchange"))
        #expect(try await c.clients.client(id: "exchange") == original && c.counted.totalCalls == 1)

        var changed = original
        changed.redirectURI = "https://elsewhere.example/cb"
        try await c.clients.updateClient(changed)
        #expect(try await c.clients.client(id: "exchange") == changed)

        // Another process changes it: served from memory until the announcement arrives.
        try await c.f.store.updateClient(original)
        #expect(try await c.clients.client(id: "exchange") == changed)
        c.clients.changed()
        #expect(try await c.clients.client(id: "exchange") == original)
        #expect(try await c.clients.listClients().map(\.clientID) == ["exchange"])

        c.clients.deaf()
        c.counted.resetCounts()
        _ = try await c.f.store.deleteClient(id: "exchange")
        #expect(try await c.clients.client(id: "exchange") == nil)
        #expect(try await c.clients.client(id: "exchange") == nil)
        #expect(c.counted.totalCalls == 2)
    }
}
