import Foundation
import KychOutboundHTTP
import KychSDJWT
import KychVerifierModel
import Logging

/// Delivers the webhook outbox: every `interval`, posts each due event as
/// `{"verification_id", "timestamp"}` to the callback, with the optional API-key header. A reply
/// below 400 removes the event (2xx and, as in swiyu, 3xx); anything else leaves it for the next
/// run, forever (at-least-once delivery).
package struct WebhookDispatcher: Sendable {
    package let store: any VerificationStore
    package let callbackURI: String
    /// The API-key header (name, value), if configured.
    package let apiKey: (header: String, value: String)?
    package let interval: Duration
    package let logger: Logger
    /// How long a process owns an event it is delivering (longer than one request may take);
    /// if the process stops meanwhile, the event is due again after this.
    package var lease: Duration = .seconds(20)

    package init(store: any VerificationStore, callbackURI: String, apiKey: (header: String, value: String)?,
                interval: Duration, logger: Logger) {
        self.store = store
        self.callbackURI = callbackURI
        self.apiKey = apiKey
        self.interval = interval
        self.logger = logger
    }

    /// Delivers the due events one by one while `continuing()` holds; returns how many were
    /// delivered. When the callback cannot be reached, the run stops there and the remaining events
    /// wait for the next one.
    @discardableResult
    package func deliverDueEvents(continuing: () -> Bool = { true }) async throws -> Int {
        var delivered = 0
        while continuing(), let event = try await store.leaseDueEvent(lease: lease) {
            var metadata: Logger.Metadata = ["verification_id": "\(event.verificationID)", "attempt": "\(event.attempts + 1)"]
            let status: Int
            do {
                status = try await WebhookMetrics.measure { () async throws(OutboundHTTP.Failure) in try await post(event) }
            } catch {
                try await store.eventFailed(event, reason: error.description, retryAfter: interval)
                metadata["error"] = "\(error)"
                logger.warning("webhook not delivered", metadata: metadata)
                break
            }
            metadata["http_status"] = "\(status)"
            if status < 400 {
                try await store.eventDelivered(event)
                delivered += 1
                logger.info("webhook delivered", metadata: metadata)
            } else {
                try await store.eventFailed(event, reason: "HTTP \(status)", retryAfter: interval)
                logger.warning("webhook refused", metadata: metadata)
            }
        }
        return delivered
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

    static let timestampStyle = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
}
