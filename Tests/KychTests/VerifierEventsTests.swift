import Foundation
import HTTPTypes
import Hummingbird
import KychCore
import KychGateway
import KychOAuth
import KychPostgres
import KychVerifierModel
import KychWallet
import Synchronization
import Testing

/// Results travel on events, not timers: the webhook outbox is delivered when an event commits (in this process, and
/// from another one through PostgreSQL's NOTIFY), several events at once, and a gateway embedding the verifier gets
/// the verifier's answers and results in process. `WEBHOOK_INTERVAL` is set far beyond each test's bounds, so only
/// an event can have delivered what the tests wait for.
@Suite struct VerifierEventsTests {
    static let farInterval = 60_000

    @Test func anEventCommittedByAnotherInstanceIsDeliveredWithoutWaitingForTheInterval() async throws {
        let receiver = try await LoopbackServer()
        defer { receiver.stop() }
        let verifier = try await StandaloneVerifier.start(webhook: receiver, webhookInterval: Self.farInterval)
        // Its listener is connected by now; what follows arrives by NOTIFY.
        try await Task.sleep(for: .seconds(1))
        try await verifier.db.withPool { pool in
            // Another instance: its own pool on the same database.
            let other = PostgresVerificationStore(client: pool, sealing: .unencrypted, logger: TestEnvironment.logger)
            for id in ["committed-elsewhere-1", "committed-elsewhere-2"] {
                try await other.enqueueEvent(verificationID: id)
                #expect(try await VerifierWebhookTests.eventually {
                    receiver.posts.contains { $0.body.contains(id) }
                }, "\(id) not delivered")
            }
        }
        // And one this instance commits itself: a wallet's answer.
        let (_, id, request) = try await verifier.pendingVerification()
        #expect(try await verifier.wallet.present(request).status == 200)
        #expect(try await VerifierWebhookTests.eventually { receiver.posts.contains { $0.body.contains(id) } })
        #expect(try await verifier.db.strings("SELECT count(*)::text FROM verifier.webhook_events") == ["0"])
        await verifier.builtIn.stop()
    }

    @Test func aCallbackThatHangsDoesNotHoldBackAnotherEvent() async throws {
        let receiver = try await LoopbackServer()
        defer { receiver.stop() }
        let verifier = try await StandaloneVerifier.start(webhook: receiver)
        let (_, stuck, stuckRequest) = try await verifier.pendingVerification()
        let (_, other, otherRequest) = try await verifier.pendingVerification()
        receiver.hangPosts(containing: stuck)
        #expect(try await verifier.wallet.present(stuckRequest).status == 200)
        #expect(try await VerifierWebhookTests.eventually { receiver.posts.contains { $0.body.contains(stuck) } })
        // The stuck delivery waits for its answer (up to the 10 s request timeout); the other goes out meanwhile.
        #expect(try await verifier.wallet.present(otherRequest).status == 200)
        #expect(try await VerifierWebhookTests.eventually(8) { receiver.posts.contains { $0.body.contains(other) } })
        #expect(try await verifier.db.strings("SELECT verification_id FROM verifier.webhook_events") == [stuck])
        await verifier.builtIn.stop()
    }

    @Test func anEmbeddedVerifierServesTheGatewayInProcess() async throws {
        let receiver = try await LoopbackServer()
        defer { receiver.stop() }
        // Counts the requests reaching the management API over HTTP (the verifier's routes are added after this).
        let management = RequestCounter(prefix: "/management/")
        // The webhook would go to the receiver, never to the gateway: only the in-process path can end the flow soon.
        let embedded = try await EmbeddedVerifierGateway.start(callback: receiver.baseURL + "/notification",
                                                               webhookInterval: Self.farInterval) { router, _ in
            router.add(middleware: management)
        }
        let (db, wallet, baseURL, token) = (embedded.db, embedded.wallet, embedded.baseURL, EmbeddedVerifierGateway.token)
        let browser = GatewayBrowser(baseURL: baseURL)

        let started = try await browser.start()
        #expect(try await wallet.present(try await PresentationRequest.fetch(started.deeplink)).status == 200)
        #expect(try await browser.status(started) == "verified")
        let info = try await browser.info(code: try #require(try await browser.finalize(started)["code"]))
        #expect(info.json["claims"]?["given_name"] == "Helvetia")
        #expect(management.count == 0)
        #expect(receiver.posts.isEmpty)
        #expect(try await db.strings("SELECT count(*)::text FROM verifier.webhook_events") == ["0"])
        // The management API still answers over HTTP, with its token.
        let result = try await HTTP.get(baseURL + "/management/api/verifications/" + started.verificationID,
                                        headers: [("Authorization", "Bearer \(token)")])
        #expect(result.json["state"] == "SUCCESS" && management.count == 1)
        await embedded.gateway.stop()
    }
}

/// Counts the requests whose path starts with `prefix`.
final class RequestCounter: RouterMiddleware {
    typealias Context = GatewayRequestContext
    let prefix: String
    private let counted = Atomic<Int>(0)

    init(prefix: String) {
        self.prefix = prefix
    }

    var count: Int { counted.load(ordering: .relaxed) }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if request.uri.path.hasPrefix(prefix) { counted.add(1, ordering: .relaxed) }
        return try await next(request, context)
    }
}
