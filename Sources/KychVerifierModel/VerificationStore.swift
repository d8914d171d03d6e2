import Foundation

/// Storage of the built-in verifier: verifications and the webhook outbox. Every transition is
/// atomic, so several verifier processes can share one store.
package protocol VerificationStore: Sendable {
    /// Stores a new verification.
    func create(_ verification: Verification) async throws

    /// The verification with `id`, expired or not; `nil` if unknown.
    func verification(id: String) async throws -> Verification?

    /// Deletes the verification if it has expired at `now`; returns whether it did.
    func deleteIfExpired(id: String, now: Date) async throws -> Bool

    /// Moves `verification` to `inProgress` with a lease until `leaseUntil`, if its status and claim
    /// count are still those read (whether it may be claimed is decided by the caller:
    /// ``Verification/awaitsAnswer(at:)``; a finished one is never claimed). Exactly one of several
    /// concurrent callers wins; it gets the new claim count, the others `nil`.
    func claim(_ verification: Verification, leaseUntil: Date) async throws -> Int?

    /// Records the result of a verification still `inProgress` under claim number `claim` and, when `eventLease` is
    /// given, its webhook event, in one transaction. The event is leased to the caller for `eventLease`, which delivers
    /// it at once (another process takes it only once that lapses); with a lease of zero it is due for any process at
    /// once, and announced to them. Not recorded if the claim lapsed and another process claimed it, or the
    /// verification is finished.
    func finish(id: String, claim: Int, status: VerificationStatus, outcome: VerificationOutcome,
                eventLease: Duration?) async throws -> FinishedVerification

    /// Records a webhook event without changing the verification (a late wallet submission),
    /// unless one for that verification is still waiting: the payload would be the same.
    func enqueueEvent(verificationID: String) async throws

    /// Leases the oldest due event for `lease` (while it is delivered), or returns `nil`.
    func leaseDueEvent(lease: Duration) async throws -> WebhookEvent?

    /// Removes a delivered event.
    func eventDelivered(_ event: WebhookEvent) async throws

    /// Records a failed delivery; the event is due again after `retryAfter`.
    func eventFailed(_ event: WebhookEvent, reason: String, retryAfter: Duration) async throws

    /// How many events wait for delivery (leased ones included): the outbox backlog operators watch.
    func pendingEventCount() async throws -> Int

    /// Deletes every verification expired at `now`; returns how many.
    func purgeExpired(now: Date) async throws -> Int
}

/// What ``VerificationStore/finish(id:claim:status:outcome:eventLease:)`` recorded.
package struct FinishedVerification: Sendable, Equatable {
    /// Whether the result was recorded.
    package var recorded: Bool
    /// The webhook event recorded with it.
    package var event: WebhookEvent?

    package init(recorded: Bool, event: WebhookEvent? = nil) {
        self.recorded = recorded
        self.event = event
    }
}

/// A pending webhook callback.
package struct WebhookEvent: Sendable, Equatable {
    /// How long a process owns an event it delivers (longer than one delivery may take); if the process stops
    /// meanwhile, the event is due again after this.
    package static let deliveryLease: Duration = .seconds(20)

    package var serial: Int64
    package var verificationID: String
    /// When the event was recorded, sent as `timestamp`.
    package var createdAt: Date
    package var attempts: Int

    package init(serial: Int64, verificationID: String, createdAt: Date, attempts: Int) {
        self.serial = serial
        self.verificationID = verificationID
        self.createdAt = createdAt
        self.attempts = attempts
    }
}
