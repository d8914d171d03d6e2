import Foundation
import KychOutboundHTTP
import KychSDJWT
import KychVerifierModel
import Logging
import Synchronization

/// Delivers the webhook outbox: posts each due event as `{"verification_id", "timestamp"}` to the callback, with
/// the optional API-key header. A reply below 400 removes the event (2xx and, as in swiyu, 3xx); anything else
/// leaves it due again after `interval` (`WEBHOOK_INTERVAL`), forever (at-least-once delivery). ``run(signal:)``
/// delivers an event this process recorded as soon as it is handed over, another's as soon as ``OutboxSignal`` says
/// one was committed, and every `interval` for retries and missed signals; up to ``maxInFlight`` events at once, so a
/// slow or failing callback holds only its own event.
package struct WebhookDispatcher: Sendable {
    /// Hands an event to a recipient in this process instead of the callback: the gateway embedding the verifier.
    /// Returns `false` when the recipient does not know the verification (the callback then gets it as usual);
    /// throws when it could not handle it now (the event is retried).
    package typealias LocalRecipient = @Sendable (_ verificationID: String) async throws -> Bool

    package let store: any VerificationStore
    package let callbackURI: String
    /// The API-key header (name, value), if configured.
    package let apiKey: (header: String, value: String)?
    package let interval: Duration
    package let logger: Logger
    package var localRecipient: LocalRecipient?
    /// How long a process owns an event it is delivering (``WebhookEvent/deliveryLease``).
    package var lease: Duration = WebhookEvent.deliveryLease
    /// How many events are delivered at once.
    package var maxInFlight = 16
    /// How a store failure is logged (no query text, no bound values).
    package var describe: @Sendable (any Error) -> String = { String(reflecting: type(of: $0)) }

    package init(store: any VerificationStore, callbackURI: String, apiKey: (header: String, value: String)?,
                 interval: Duration, logger: Logger, localRecipient: LocalRecipient? = nil) {
        self.store = store
        self.callbackURI = callbackURI
        self.apiKey = apiKey
        self.interval = interval
        self.logger = logger
        self.localRecipient = localRecipient
    }

    /// Delivers the events handed over to `signal` at once, and due events whenever `signal` fires and at least every
    /// `interval`, while `continuing()` holds. When it stops, the deliveries under way complete, so no event stays
    /// leased (one handed over and not yet started is due again once its lease lapses).
    package func run(signal: OutboxSignal, continuing: () -> Bool) async {
        let inFlight = InFlight()
        // Whether the outbox may hold due events: at the start, after a signal and after each interval. Events handed
        // over are already leased to this process, so they need no lease query (nor an empty one after them).
        var mayHoldDue = true
        await withDiscardingTaskGroup { group in
            while continuing() {
                let free = inFlight.count.load(ordering: .acquiring) < maxInFlight
                if free {
                    var event = signal.nextHanded()
                    if event == nil && mayHoldDue {
                        do {
                            event = try await store.leaseDueEvent(lease: lease)
                        } catch {
                            logger.warning("webhook delivery failed", metadata: ["error": "\(describe(error))"])
                        }
                        mayHoldDue = event != nil
                    }
                    if let event {
                        inFlight.count.add(1, ordering: .acquiringAndReleasing)
                        group.addTask {
                            await deliver(event)
                            // A loop waiting for a free slot tries again.
                            if inFlight.count.subtract(1, ordering: .acquiringAndReleasing).oldValue == maxInFlight { signal.signal() }
                        }
                        continue
                    }
                }
                if await signal.wait(until: .now + interval, takingHanded: free) != .handed { mayHoldDue = true }
            }
        }
    }

    /// Delivers one leased event and records the outcome.
    private func deliver(_ event: WebhookEvent) async {
        var metadata: Logger.Metadata = ["verification_id": "\(event.verificationID)", "attempt": "\(event.attempts + 1)"]
        do {
            if let localRecipient, try await localRecipient(event.verificationID) {
                try await store.eventDelivered(event)
                logger.debug("webhook delivered in process", metadata: metadata)
                return
            }
            let status: Int
            do {
                status = try await WebhookMetrics.measure { () async throws(OutboundHTTP.Failure) in try await post(event) }
            } catch {
                try await store.eventFailed(event, reason: error.description, retryAfter: interval)
                metadata["error"] = "\(error)"
                logger.warning("webhook not delivered", metadata: metadata)
                return
            }
            metadata["http_status"] = "\(status)"
            guard status < 400 else {
                try await store.eventFailed(event, reason: "HTTP \(status)", retryAfter: interval)
                logger.warning("webhook refused", metadata: metadata)
                return
            }
            try await store.eventDelivered(event)
            logger.info("webhook delivered", metadata: metadata)
        } catch {
            // The store or the gateway in process failed: the event is due again after `interval` (or its lease).
            metadata["error"] = "\(describe(error))"
            logger.warning("webhook not delivered", metadata: metadata)
            try? await store.eventFailed(event, reason: describe(error), retryAfter: interval)
        }
    }

    private func post(_ event: WebhookEvent) async throws(OutboundHTTP.Failure) -> Int {
        let body: JSONValue = [
            "verification_id": .string(event.verificationID),
            "timestamp": .string(event.createdAt.formatted(Self.timestampStyle)),
        ]
        var headers = [("Content-Type", "application/json")]
        if let apiKey { headers.append((apiKey.header, apiKey.value)) }
        return try await OutboundHTTP.send(url: callbackURI, method: .POST, headers: headers,
                                           body: JSONText.serialize(body), maxBytes: 64 * 1024).status
    }

    /// How many deliveries are under way.
    private final class InFlight: Sendable {
        let count = Atomic<Int>(0)
    }

    static let timestampStyle = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
}
