import Foundation
import KychCore
import KychOAuth
import KychPostgres
import KychStorage
import KychSwiyuClient
import Testing

/// Long polls on one PostgreSQL database across gateway instances: a change recorded by one instance wakes the
/// polls waiting on another through `NOTIFY kych_session`, also after the listening connection dropped
/// (issue 12, finding 14).
@Suite(.timeLimit(.minutes(2))) struct LongPollNotifyTests {
    /// An instance's authorization server on its own pool and listener. It asks the verifier only when told to
    /// and never reads a waiting session on a timer (both an hour): only a notification can wake its polls.
    static func instance(_ harness: GatewayHarness, _ stores: Stores) -> AuthorizationServer {
        var server = AuthorizationServer(config: harness.config, clients: stores.clients, store: stores.flow,
                                         verifier: SwiyuVerifierClient(builder: VerificationRequestBuilder(config: harness.config),
                                                                       logger: TestEnvironment.logger),
                                         logger: TestEnvironment.logger)
        server.wakeups = stores.wakeups
        server.verifierPollInterval = 3600
        server.wakeupFallback = 3600
        return server
    }

    static let longPoll: Duration = .seconds(20)

    @Test func aChangeOnOneInstanceWakesThePollOnAnother() async throws {
        let harness = try await GatewayHarness.make()
        try await harness.whileVerifierRuns {
            try await Stores.with(harness.db.connectionString, sealing: .unencrypted, logger: TestEnvironment.logger) { storesA in
                try await Stores.with(harness.db.connectionString, sealing: .unencrypted, logger: TestEnvironment.logger) { storesB in
                    let a = Self.instance(harness, storesA), b = Self.instance(harness, storesB)
                    let listenersA = try #require(storesA.wakeups as? PostgresSessionWakeups).local
                    // Three processes listen: A, B and the built-in verifier (its stores are opened the same way).
                    let listening = try await Self.listeners(harness.db, count: 3, other: [])

                    try await Self.webhookOnBWakesThePollOnA(a, b, listenersA, harness)

                    // The listening connections drop while a poll waits on A: each instance listens again,
                    // wakes its polls once to re-read, and B's next change still reaches A's poll.
                    let second = try await Self.start(a, harness)
                    let waiting = Task { try await a.status(verificationID: second.id, state: GatewayHarness.state, timeout: Self.longPoll) }
                    while listenersA.parkedCount == 0 { try await Task.sleep(for: .milliseconds(10)) }
                    _ = try await harness.db.strings("""
                        SELECT pg_terminate_backend(pid)::text FROM pg_stat_activity
                        WHERE datname = current_database() AND query ILIKE 'listen%'
                        """)
                    _ = try await Self.listeners(harness.db, count: 3, other: listening)
                    #expect(try await harness.wallet.answer(second.deeplink).status == 200)
                    let notifiedAgain = ContinuousClock.now
                    try await b.notification(verificationID: second.id) { _ in nil }
                    #expect(try await waiting.value == .verified)
                    #expect(ContinuousClock.now - notifiedAgain < Self.longPoll / 2)
                    #expect(listenersA.parkedCount == 0)
                }
            }
        }
    }

    /// The store announces the change in the statement that applies it: instance B here wakes no one but itself
    /// (in-process wakeups, no `NOTIFY` of its own), and A's poll still answers at once.
    @Test func theTransitionsStatementAnnouncesTheChange() async throws {
        let harness = try await GatewayHarness.make()
        try await harness.whileVerifierRuns {
            try await Stores.with(harness.db.connectionString, sealing: .unencrypted, logger: TestEnvironment.logger) { storesA in
                try await Stores.with(harness.db.connectionString, sealing: .unencrypted, logger: TestEnvironment.logger) { storesB in
                    let a = Self.instance(harness, storesA)
                    var b = Self.instance(harness, storesB)
                    b.wakeups = LocalSessionWakeups()
                    let listenersA = try #require(storesA.wakeups as? PostgresSessionWakeups).local
                    _ = try await Self.listeners(harness.db, count: 3, other: [])
                    try await Self.webhookOnBWakesThePollOnA(a, b, listenersA, harness)
                }
            }
        }
    }

    /// A flow started on `a` whose page polls `a`; the wallet answers; instance `b` takes the verifier's webhook; A's poll
    /// answers verified, woken, not at its deadline (which re-reads the session too).
    static func webhookOnBWakesThePollOnA(_ a: AuthorizationServer, _ b: AuthorizationServer, _ listenersA: LocalSessionWakeups,
                                          _ harness: GatewayHarness) async throws {
        let started = try await start(a, harness)
        let poll = Task { try await a.status(verificationID: started.id, state: GatewayHarness.state, timeout: longPoll) }
        while listenersA.parkedCount == 0 { try await Task.sleep(for: .milliseconds(10)) }
        #expect(try await harness.wallet.answer(started.deeplink).status == 200)
        let notified = ContinuousClock.now
        try await b.notification(verificationID: started.id) { _ in nil }
        #expect(try await poll.value == .verified)
        #expect(ContinuousClock.now - notified < longPoll / 2)
    }

    /// setup and authorize on `server`: the verification id and the wallet's deeplink.
    static func start(_ server: AuthorizationServer, _ harness: GatewayHarness) async throws -> (id: String, deeplink: String) {
        let nonce = try await server.setup(clientID: "test-client", authorization: "Bearer \(GatewayHarness.secret)")
        let started = try await server.authorize(AuthorizationRequest(nonce: nonce, parameters: [
            "response_type": "code", "client_id": "test-client", "redirect_uri": GatewayHarness.redirect, "state": GatewayHarness.state,
        ]))
        return (started.verification.id, started.verification.deeplink)
    }

    /// Waits until `count` connections LISTEN for session changes on the database, none of them one of `other`; returns
    /// their pids (each process also listens for client changes, on a connection of its own).
    static func listeners(_ db: TestDatabase, count: Int, other: Set<String>) async throws -> Set<String> {
        for _ in 0..<500 {
            let pids = Set(try await db.strings("""
                SELECT pid::text FROM pg_stat_activity WHERE datname = current_database() AND query ILIKE 'listen%kych_session%'
                """))
            if pids.count == count, pids.isDisjoint(with: other) { return pids }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw TestSetupError("the instances do not listen")
    }
}
