import KychOutboundHTTP
import Metrics

/// Counts webhook deliveries and their durations by outcome (`delivered`, `refused` for a status of 400 or more,
/// `unreachable`), and the outbox backlog, into the metrics factory bound to the serving task (KychHTTP's `ServerMetrics`).
package enum WebhookMetrics {
    /// Records the events waiting for delivery (`kych_verifier_outbox_backlog`).
    package static func backlog(_ pending: Int) {
        Gauge(label: "kych_verifier_outbox_backlog").record(pending)
    }

    static func measure(_ post: () async throws(OutboundHTTP.Failure) -> Int) async throws(OutboundHTTP.Failure) -> Int {
        let started = ContinuousClock.now
        func count(_ outcome: String) {
            Counter(label: "kych_webhook_deliveries_total", dimensions: [("outcome", outcome)]).increment()
            Metrics.Timer(label: "kych_webhook_delivery_duration_seconds", dimensions: [("outcome", outcome)])
                .record(duration: ContinuousClock.now - started)
        }
        do {
            let status = try await post()
            count(status < 400 ? "delivered" : "refused")
            return status
        } catch {
            count("unreachable")
            throw error
        }
    }
}
