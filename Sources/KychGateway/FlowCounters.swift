import KychOAuth
import Metrics

/// The flow's events (``FlowEvents``) as Prometheus counters, each by client id (a configured client's, never a claim,
/// a secret, a code or a token): `kych_flows_started_total`, `kych_flows_verified_total`, `kych_flows_failed_total`,
/// `kych_codes_issued_total`, `kych_codes_redeemed_total`, `kych_codes_replayed_total`, `kych_tokens_issued_total`,
/// `kych_tokens_revoked_total`. Expired flows are counted by the purge (`kych_flows_expired_total`).
struct FlowCounters: FlowEvents {
    let factory: any MetricsFactory

    func record(_ event: FlowEvent) {
        switch event {
        case .sessionStarted(let client): count("kych_flows_started_total", client)
        case .sessionVerified(let client): count("kych_flows_verified_total", client)
        case .sessionFailed(let client): count("kych_flows_failed_total", client)
        case .codeIssued(let client): count("kych_codes_issued_total", client)
        case .codeRedeemed(let client):
            count("kych_codes_redeemed_total", client)
            count("kych_tokens_issued_total", client)
        case .codeReplayed(let client): count("kych_codes_replayed_total", client)
        case .tokenRevoked(let client): count("kych_tokens_revoked_total", client)
        }
    }

    private func count(_ name: String, _ clientID: String) {
        Counter(label: name, dimensions: [("client_id", clientID)], factory: factory).increment()
    }
}
