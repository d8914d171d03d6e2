/// What the flow tells the operator's counters as it goes: the port the gateway implements with swift-metrics, so the
/// domain stays free of any metrics backend. An event carries a client id (one of the configured clients) and nothing
/// else: never a claim, a secret, a code or a token.
package protocol FlowEvents: Sendable {
    func record(_ event: FlowEvent)
}

package enum FlowEvent: Sendable, Equatable {
    /// A session was started (`/setup` or `/authorize` without setup).
    case sessionStarted(clientID: String)
    /// The verifier's answer moved a session to `verified` or `failed`.
    case sessionVerified(clientID: String)
    case sessionFailed(clientID: String)
    /// `/finalize` issued an authorization code.
    case codeIssued(clientID: String)
    /// `/token` redeemed a code: an access token was issued.
    case codeRedeemed(clientID: String)
    /// A code was presented again: the tokens issued from it were revoked.
    case codeReplayed(clientID: String)
    /// `/revoke` revoked an access token.
    case tokenRevoked(clientID: String)
}

extension FlowEvent {
    /// The event of a session the verifier's answer moved to `status`, if it finished it.
    static func verifierAnswered(_ status: SessionStatus, clientID: String) -> FlowEvent? {
        switch status {
        case .verified: .sessionVerified(clientID: clientID)
        case .failed: .sessionFailed(clientID: clientID)
        default: nil
        }
    }
}

/// Counts nothing: the default of a domain built without a metrics listener (and of the unit tests).
package struct NoFlowEvents: FlowEvents {
    package init() {}
    package func record(_ event: FlowEvent) {}
}
