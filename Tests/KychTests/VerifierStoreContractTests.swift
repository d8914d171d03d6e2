import Foundation
import KychSDJWT
import KychStorage
import KychVerifier
import KychVerifierModel
import Logging
import Synchronization
import Testing

extension Backend {
    /// A fresh database with the built-in verifier's tables, as its `DATABASE` value.
    func freshVerifierDatabase() async throws -> String {
        switch self {
        case .postgres: try await TestDatabase.createWithVerifier().connectionString
        case .sqlite: try await freshDatabase()
        }
    }
}

/// The built-in verifier's store contract on both backends: round trips, expiry, one winner among
/// concurrent wallet answers, claim leases that lapse, the webhook outbox (leases, retries, no duplicate late events), and an
/// outbox that survives a restart (a new pool, or the SQLite file opened anew).
@Suite struct VerifierStoreContractTests {
    static func request(_ mode: ResponseMode) throws -> VerificationRequest {
        let query = try JSONText.parse(Data("""
            {"credentials":[{"id":"kych","format":"dc+sd-jwt","meta":{"vct_values":["betaid-sdjwt"]},
             "claims":[{"path":["given_name"]},{"path":["age_over_18"]}]}]}
            """.utf8))
        return VerificationRequest(acceptedIssuerDIDs: ["did:jwk:issuer", "did:web:issuer.example"], responseMode: mode,
                                   query: try DCQLQuery(json: query))
    }

    static let success = VerificationOutcome(credentialSubjectData: ["kych": [["given_name": "Helvetia", "age_over_18": "true"]]])

    /// A new pending verification, stored.
    static func created(_ store: any VerificationStore, mode: ResponseMode = .directPostJWT, now: Date = Date(),
                        ttl: TimeInterval = 900) async throws -> Verification {
        let verification = Verification.new(try request(mode), now: now, ttl: ttl)
        try await store.create(verification)
        return verification
    }

    func withStore<T: Sendable>(_ database: String, _ body: @Sendable (any VerificationStore) async throws -> T) async throws -> T {
        try await Stores.with(database, sealing: .unencrypted, logger: TestEnvironment.logger) { try await body($0.verifications) }
    }

    @Test(arguments: Backend.allCases)
    func verificationsRoundTripAndExpire(_ backend: Backend) async throws {
        try await withStore(try await backend.freshVerifierDatabase()) { store in
            for mode in ResponseMode.allCases {
                let stored = try await Self.created(store, mode: mode)
                let read = try #require(try await store.verification(id: stored.id))
                #expect(read.requestNonce == stored.requestNonce && read.state == stored.state && read.status == .pending)
                #expect(read.request == stored.request && read.outcome == nil)
                #expect(read.encryptionKey?.keyID == stored.encryptionKey?.keyID)
                #expect(read.encryptionKey?.privateKey.rawRepresentation == stored.encryptionKey?.privateKey.rawRepresentation)
                #expect(abs(read.expiresAt.timeIntervalSince(stored.expiresAt)) < 0.001)
                #expect(!(try await store.deleteIfExpired(id: stored.id, now: Date())))
                #expect(try await store.deleteIfExpired(id: stored.id, now: stored.expiresAt))
                #expect(try await store.verification(id: stored.id) == nil)
            }
            #expect(try await store.verification(id: "unknown") == nil)

            let expired = try await Self.created(store, now: Date().addingTimeInterval(-60), ttl: 10)
            let live = try await Self.created(store)
            #expect(!expired.awaitsAnswer(at: Date()))
            #expect(try await store.purgeExpired(now: Date()) == 1)
            #expect(try await store.verification(id: expired.id) == nil)
            #expect(try await store.verification(id: live.id) != nil)
        }
    }

    @Test(arguments: Backend.allCases)
    func oneOfConcurrentWalletAnswersWins(_ backend: Backend) async throws {
        try await withStore(try await backend.freshVerifierDatabase()) { store in
            let verification = try await Self.created(store)
            let wins = try await withThrowingTaskGroup(of: Bool.self) { group in
                for _ in 0..<8 { group.addTask { try await store.claim(verification, leaseUntil: Date() + 60) != nil } }
                return try await group.reduce(into: 0) { $0 += $1 ? 1 : 0 }
            }
            #expect(wins == 1)
            #expect(try await store.verification(id: verification.id)?.status == .inProgress)

            let finishes = try await withThrowingTaskGroup(of: Bool.self) { group in
                for _ in 0..<4 {
                    group.addTask { try await store.finish(id: verification.id, claim: 1, status: .success, outcome: Self.success, eventLease: .zero).recorded }
                }
                return try await group.reduce(into: 0) { $0 += $1 ? 1 : 0 }
            }
            #expect(finishes == 1)
            let finished = try #require(try await store.verification(id: verification.id))
            #expect(finished.status == .success && finished.outcome == Self.success)
            #expect(try await store.claim(verification, leaseUntil: Date() + 60) == nil)
            #expect(try await store.claim(finished, leaseUntil: Date() + 60) == nil)
            // One result, one webhook event.
            let event = try #require(try await store.leaseDueEvent(lease: .seconds(60)))
            #expect(event.verificationID == verification.id)
            #expect(try await store.leaseDueEvent(lease: .seconds(60)) == nil)

            // A failure is stored with its error code; without notify there is no event.
            let declined = try await Self.created(store, mode: .directPost)
            #expect(try await store.claim(declined, leaseUntil: Date() + 60) == 1)
            let refusal = VerificationOutcome(errorCode: "access_denied", errorDescription: "The owner has declined.")
            #expect(try await store.finish(id: declined.id, claim: 1, status: .failed, outcome: refusal, eventLease: nil).recorded)
            #expect(try await store.verification(id: declined.id)?.outcome == refusal)
            #expect(try await store.leaseDueEvent(lease: .seconds(60)) == nil)
        }
    }

    /// Issue 12, finding 2: a process killed while it checks a wallet answer leaves the verification in
    /// progress; once its lease lapses, a wallet retry may claim it again, and the stale holder's result
    /// is refused (fencing). A live lease refuses a second claim.
    @Test(arguments: Backend.allCases)
    func aLapsedClaimCanBeTakenOverAndFencesTheStaleHolder(_ backend: Backend) async throws {
        try await withStore(try await backend.freshVerifierDatabase()) { store in
            let now = Date()
            let verification = try await Self.created(store, now: now)
            #expect(verification.awaitsAnswer(at: now))
            let stale = try #require(try await store.claim(verification, leaseUntil: now + 60))
            let claimed = try #require(try await store.verification(id: verification.id))
            #expect(claimed.status == .inProgress && claimed.claimCount == stale)
            #expect(abs(try #require(claimed.claimedUntil).timeIntervalSince(now + 60)) < 0.001)
            // Within the lease: not awaiting an answer, and a second claim from the old reading loses.
            #expect(!claimed.awaitsAnswer(at: now + 59))
            #expect(try await store.claim(verification, leaseUntil: now + 60) == nil)

            // The holder stops; after the lease, one of several concurrent retries takes over.
            #expect(claimed.awaitsAnswer(at: now + 61))
            let takeovers = try await withThrowingTaskGroup(of: Int?.self) { group in
                for _ in 0..<6 { group.addTask { try await store.claim(claimed, leaseUntil: now + 121) } }
                return try await group.reduce(into: [Int]()) { if let claim = $1 { $0.append(claim) } }
            }
            #expect(takeovers.count == 1)
            let current = try #require(takeovers.first)
            #expect(current != stale)
            let retaken = try #require(try await store.verification(id: verification.id))
            #expect(retaken.status == .inProgress && retaken.claimCount == current && !retaken.awaitsAnswer(at: now + 61))

            // The stale holder comes back late: its result is refused; the current holder's is recorded.
            let refusal = VerificationOutcome(errorCode: "access_denied", errorDescription: nil)
            #expect(!(try await store.finish(id: verification.id, claim: stale, status: .failed, outcome: refusal, eventLease: .zero).recorded))
            #expect(try await store.finish(id: verification.id, claim: current, status: .success, outcome: Self.success, eventLease: .zero).recorded)
            let finished = try #require(try await store.verification(id: verification.id))
            #expect(finished.status == .success && finished.outcome == Self.success && !finished.awaitsAnswer(at: now + 200))
            #expect(try await store.leaseDueEvent(lease: .seconds(60))?.verificationID == verification.id)
            #expect(try await store.leaseDueEvent(lease: .seconds(60)) == nil)
        }
    }

    /// Issue 12, finding 4: the signing DID of each credential is stored with the result and read back.
    @Test(arguments: Backend.allCases)
    func theVerifiedIssuerIsStoredWithTheResult(_ backend: Backend) async throws {
        try await withStore(try await backend.freshVerifierDatabase()) { store in
            let verification = try await Self.created(store)
            let claim = try #require(try await store.claim(verification, leaseUntil: Date() + 60))
            var outcome = Self.success
            outcome.credentialIssuerDIDs = ["kych": ["did:jwk:issuer"]]
            #expect(try await store.finish(id: verification.id, claim: claim, status: .success, outcome: outcome, eventLease: nil).recorded)
            let read = try #require(try await store.verification(id: verification.id))
            #expect(read.outcome == outcome)
            #expect(read.outcome?.json["credential_issuer_dids"] == ["kych": ["did:jwk:issuer"]])
        }
    }

    @Test(arguments: Backend.allCases)
    func webhookOutboxLeasesRetriesAndDeduplicates(_ backend: Backend) async throws {
        try await withStore(try await backend.freshVerifierDatabase()) { store in
            let first = try await Self.created(store), second = try await Self.created(store)
            for verification in [first, second] {
                #expect(try await store.claim(verification, leaseUntil: Date() + 60) == 1)
                #expect(try await store.finish(id: verification.id, claim: 1, status: .success, outcome: Self.success, eventLease: .zero).recorded)
            }
            // A late answer adds no second event while one is waiting.
            try await store.enqueueEvent(verificationID: first.id)
            #expect(try await store.pendingEventCount() == 2)

            // Concurrent deliverers lease each event once, oldest first.
            let leased = try await withThrowingTaskGroup(of: WebhookEvent?.self) { group in
                for _ in 0..<4 { group.addTask { try await store.leaseDueEvent(lease: .seconds(60)) } }
                return try await group.reduce(into: [WebhookEvent]()) { if let event = $1 { $0.append(event) } }
            }
            #expect(leased.map(\.verificationID).sorted() == [first.id, second.id].sorted())
            #expect(leased.allSatisfy { $0.attempts == 0 })

            // A failed delivery is due again after its retry delay, with the attempt counted.
            let failing = try #require(leased.first { $0.verificationID == first.id })
            try await store.eventFailed(failing, reason: "HTTP 503", retryAfter: .seconds(60))
            #expect(try await store.leaseDueEvent(lease: .seconds(60)) == nil)
            try await store.eventFailed(failing, reason: "HTTP 503", retryAfter: .zero)
            let retried = try #require(try await store.leaseDueEvent(lease: .seconds(60)))
            #expect(retried.serial == failing.serial && retried.attempts == 2)
            #expect(abs(retried.createdAt.timeIntervalSince(failing.createdAt)) < 0.001)

            // Leased events still count as waiting until delivered.
            #expect(try await store.pendingEventCount() == 2)
            for event in leased { try await store.eventDelivered(event) }
            #expect(try await store.leaseDueEvent(lease: .zero) == nil)
            #expect(try await store.pendingEventCount() == 0)
            // Once delivered, a late answer is notified again.
            try await store.enqueueEvent(verificationID: first.id)
            #expect(try await store.leaseDueEvent(lease: .seconds(60))?.verificationID == first.id)
        }
    }

    /// Issue 13: the event recorded with a result is leased to the process that recorded it, which delivers it at
    /// once; another process takes it only if that lease lapses (the recorder stopped).
    @Test(arguments: Backend.allCases)
    func anEventRecordedWithItsResultIsLeasedToItsRecorder(_ backend: Backend) async throws {
        try await withStore(try await backend.freshVerifierDatabase()) { store in
            let verification = try await Self.created(store)
            #expect(try await store.claim(verification, leaseUntil: Date() + 60) == 1)
            let finished = try await store.finish(id: verification.id, claim: 1, status: .success, outcome: Self.success,
                                                  eventLease: .seconds(1))
            let event = try #require(finished.event)
            #expect(finished.recorded && event.verificationID == verification.id && event.attempts == 0)
            #expect(try await store.leaseDueEvent(lease: .seconds(60)) == nil)
            #expect(try await store.pendingEventCount() == 1)
            try await Task.sleep(for: .milliseconds(1200))
            let taken = try #require(try await store.leaseDueEvent(lease: .seconds(60)))
            #expect(taken.serial == event.serial && taken.verificationID == verification.id)
            try await store.eventDelivered(taken)
            #expect(try await store.pendingEventCount() == 0)
            // A result that is not recorded has no event.
            let late = try await store.finish(id: verification.id, claim: 1, status: .failed, outcome: Self.success, eventLease: .seconds(1))
            #expect(late == FinishedVerification(recorded: false))
        }
    }

    /// Issue 13: the delivery loop gets an event its process recorded handed over, without a lease query to find it
    /// (before: one that found it and one that found the outbox empty, per result).
    @Test(arguments: Backend.allCases)
    func anEventHandedOverIsDeliveredWithoutALeaseQuery(_ backend: Backend) async throws {
        try await withStore(try await backend.freshVerifierDatabase()) { store in
            let counting = LeaseCountingStore(store)
            let (delivered, deliveries) = AsyncStream.makeStream(of: String.self)
            let dispatcher = WebhookDispatcher(store: counting, callbackURI: "http://127.0.0.1:9/unused", apiKey: nil,
                                               interval: .seconds(600), logger: TestEnvironment.logger) { id in
                deliveries.yield(id)
                return true
            }
            let signal = OutboxSignal()
            let loop = Task { await dispatcher.run(signal: signal) { !Task.isCancelled } }
            // The loop starts with one lease query (the outbox might hold events from before), then waits.
            #expect(try await VerifierWebhookTests.eventually { counting.leases.load(ordering: .relaxed) == 1 })

            let verification = try await Self.created(store)
            #expect(try await store.claim(verification, leaseUntil: Date() + 60) == 1)
            let finished = try await store.finish(id: verification.id, claim: 1, status: .success, outcome: Self.success,
                                                  eventLease: WebhookEvent.deliveryLease)
            signal.hand(try #require(finished.event))
            for await id in delivered { #expect(id == verification.id); break }
            #expect(try await VerifierWebhookTests.eventually { try await store.pendingEventCount() == 0 })
            #expect(counting.leases.load(ordering: .relaxed) == 1)

            // A signal (another process's commit) still makes it look for due events.
            signal.signal()
            #expect(try await VerifierWebhookTests.eventually { counting.leases.load(ordering: .relaxed) == 2 })
            loop.cancel()
            await loop.value
        }
    }

    @Test(arguments: Backend.allCases)
    func outboxSurvivesARestart(_ backend: Backend) async throws {
        let database = try await backend.freshVerifierDatabase()
        let id = try await withStore(database) { store in
            let verification = try await Self.created(store)
            #expect(try await store.claim(verification, leaseUntil: Date() + 60) == 1)
            #expect(try await store.finish(id: verification.id, claim: 1, status: .success, outcome: Self.success, eventLease: .zero).recorded)
            // Leased by a process that then stops: the lease lapses.
            #expect(try await store.leaseDueEvent(lease: .milliseconds(300)) != nil)
            return verification.id
        }
        try await Task.sleep(for: .milliseconds(400))
        try await withStore(database) { store in
            #expect(try await store.verification(id: id)?.outcome == Self.success)
            let event = try #require(try await store.leaseDueEvent(lease: .seconds(60)))
            #expect(event.verificationID == id)
            try await store.eventDelivered(event)
            #expect(try await store.leaseDueEvent(lease: .zero) == nil)
        }
    }
}

/// A verification store that counts the delivery loop's lease queries.
private final class LeaseCountingStore: VerificationStore {
    let store: any VerificationStore
    let leases = Atomic(0)

    init(_ store: any VerificationStore) { self.store = store }

    func leaseDueEvent(lease: Duration) async throws -> WebhookEvent? {
        leases.add(1, ordering: .relaxed)
        return try await store.leaseDueEvent(lease: lease)
    }

    func create(_ verification: Verification) async throws { try await store.create(verification) }
    func verification(id: String) async throws -> Verification? { try await store.verification(id: id) }
    func deleteIfExpired(id: String, now: Date) async throws -> Bool { try await store.deleteIfExpired(id: id, now: now) }
    func claim(_ verification: Verification, leaseUntil: Date) async throws -> Int? { try await store.claim(verification, leaseUntil: leaseUntil) }
    func finish(id: String, claim: Int, status: VerificationStatus, outcome: VerificationOutcome,
                eventLease: Duration?) async throws -> FinishedVerification {
        try await store.finish(id: id, claim: claim, status: status, outcome: outcome, eventLease: eventLease)
    }
    func enqueueEvent(verificationID: String) async throws { try await store.enqueueEvent(verificationID: verificationID) }
    func eventDelivered(_ event: WebhookEvent) async throws { try await store.eventDelivered(event) }
    func eventFailed(_ event: WebhookEvent, reason: String, retryAfter: Duration) async throws {
        try await store.eventFailed(event, reason: reason, retryAfter: retryAfter)
    }
    func pendingEventCount() async throws -> Int { try await store.pendingEventCount() }
    func purgeExpired(now: Date) async throws -> Int { try await store.purgeExpired(now: now) }
}
