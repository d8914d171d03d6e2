import Foundation
import KychCore

/// How long verified claims stay in the store (`CLAIMS_RETENTION_MINUTES`): a KYC gateway holds identity data only
/// while a client can still receive it. With 0 (the default) each session's claims are delivered once: the delivery
/// (`/info`, `/userinfo`, or an ID token carrying them) erases them in the same step, so two concurrent readers
/// cannot both get them. With N minutes they may be delivered again until N minutes after the verification. Either
/// way the purge erases them as soon as no live code or token can reach them any more.
package struct ClaimsRetention: Sendable {
    let store: any FlowStore
    /// 0: erased on delivery.
    package let minutes: Int

    package init(store: any FlowStore, minutes: Int) {
        self.store = store
        self.minutes = minutes
    }

    /// What `/info` and `/userinfo` answer once a token's claims are gone.
    static let gone = FlowError.invalidToken(
        "the claims of this token were already delivered or have passed their retention (CLAIMS_RETENTION_MINUTES)")

    /// The claims behind `token` for one delivery at `now`, or nil if they are gone. `subject` is kept when they are
    /// erased: the `sub` of the ID token that carries them, which `/userinfo` then still answers.
    package func deliver(_ token: StoredAccessToken, now: Date, keepingSubject subject: String? = nil) async throws -> [String: JSON]? {
        guard token.claimsErasedAt == nil else { return nil }
        guard minutes > 0 else {
            return try await store.eraseClaims(sessionID: token.sessionID, keepingSubject: subject, at: now) ? token.claims : nil
        }
        if let verifiedAt = token.verifiedAt, verifiedAt.addingTimeInterval(TimeInterval(minutes * 60)) <= now { return nil }
        return token.claims
    }

    /// Erases the claims past their retention and those no code or token can reach at `now`; returns how many sessions.
    package func purge(now: Date) async throws -> Int {
        try await store.eraseClaims(verifiedBefore: minutes > 0 ? now.addingTimeInterval(-TimeInterval(minutes * 60)) : nil,
                                    unreachableAt: now)
    }
}
