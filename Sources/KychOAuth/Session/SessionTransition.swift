import Foundation
import KychCore

/// The fields a transition writes besides the status; nil fields stay as they are. Stores translate
/// it into one conditional update and decide nothing themselves.
package struct SessionChange: Sendable, Equatable {
    package var request: AuthorizationRequestRecord?
    package var verification: VerifierVerification?
    package var credential: VerifiedCredential?
    package var failure: SessionFailure?
    package var expiresAt: Date?
    package var authorizedAt: Date?
    package var verifiedAt: Date?
    package var finishedAt: Date?
    package var lastCheckedAt: Date?

    package init(request: AuthorizationRequestRecord? = nil, verification: VerifierVerification? = nil,
                 credential: VerifiedCredential? = nil, failure: SessionFailure? = nil, expiresAt: Date? = nil,
                 authorizedAt: Date? = nil, verifiedAt: Date? = nil, finishedAt: Date? = nil, lastCheckedAt: Date? = nil) {
        self.request = request
        self.verification = verification
        self.credential = credential
        self.failure = failure
        self.expiresAt = expiresAt
        self.authorizedAt = authorizedAt
        self.verifiedAt = verifiedAt
        self.finishedAt = finishedAt
        self.lastCheckedAt = lastCheckedAt
    }
}

/// A session transition decided in Swift: applied by a store only while the session's status is one
/// of ``from`` (and, with ``unexpiredAt``, while it has not expired), so exactly one of several
/// concurrent writers on any number of instances wins.
package struct SessionTransition: Sendable, Equatable {
    package var event: SessionEvent
    package var change: SessionChange
    package var unexpiredAt: Date?

    package var from: Set<SessionStatus> { event.from }
    package var to: SessionStatus { event.to }

    /// The session as it is after this transition (what a store writes).
    package func applied(to session: VerificationSession) -> VerificationSession {
        var s = session
        s.status = to
        if let r = change.request {
            s.redirectURI = r.redirectURI
            s.state = r.state
            s.scope = r.scope
            s.browserBindingHash = r.browserBindingHash
            s.codeChallenge = r.codeChallenge
            s.openid = r.openid
            s.oidcNonce = r.oidcNonce
            s.dpopJKT = r.dpopJKT
        }
        if let v = change.verification { s.verification = v }
        if let c = change.credential {
            s.claims = c.claims
            s.credentialVCT = c.vct
            s.credentialIssuer = c.issuer
        }
        if let f = change.failure { s.failure = f }
        if let e = change.expiresAt { s.expiresAt = e }
        if let t = change.verifiedAt { s.verifiedAt = t }
        if let t = change.finishedAt { s.finishedAt = t }
        if let t = change.lastCheckedAt { s.lastCheckedAt = t }
        return s
    }

    /// Whether a store may apply it to `session` now.
    package func applies(to session: VerificationSession) -> Bool {
        from.contains(session.status) && (unexpiredAt.map { session.expiresAt > $0 } ?? true)
    }
}

/// The session state machine: decides, without I/O, which transition an event causes. Every rule
/// about statuses, lifetimes and failure kinds lives here once; stores only apply the result.
package struct SessionMachine: Sendable {
    /// How long a verified session stays redeemable at `/finalize` after success, at least.
    package static let finalizeGrace: TimeInterval = 600

    package let now: Date

    package init(now: Date) {
        self.now = now
    }

    /// `/authorize` created a verification for a pending, unexpired session.
    package func verificationCreated(_ request: AuthorizationRequestRecord, _ verification: VerifierVerification) -> SessionTransition {
        SessionTransition(event: .verificationCreated,
                          change: SessionChange(request: request, verification: verification,
                                                authorizedAt: now, lastCheckedAt: now),
                          unexpiredAt: now)
    }

    /// The verifier's answer about `session`; nil when it changes nothing.
    package func verifierAnswered(_ outcome: VerifierOutcome, session: VerificationSession) -> SessionTransition? {
        switch outcome {
        case .pending:
            return nil
        case .success(let credential):
            // The person may still be on their way to /finalize: keep the session at least this long. A success
            // that arrives after the session's lifetime does not revive it (/status may already have said expired).
            let expires = max(session.expiresAt, now.addingTimeInterval(Self.finalizeGrace))
            return SessionTransition(event: .verifierSucceeded,
                                     change: SessionChange(credential: credential, expiresAt: expires, verifiedAt: now),
                                     unexpiredAt: now)
        case .failed(let code, let description):
            let failure = SessionFailure(kind: FailureKind(errorCode: code), code: code, description: description)
            return SessionTransition(event: .verifierFailed, change: SessionChange(failure: failure, finishedAt: now))
        case .notFound:
            return SessionTransition(event: .verificationVanished, change: SessionChange(finishedAt: now))
        }
    }

    /// `/finalize` issued a code for a verified session.
    package func codeIssued() -> SessionTransition {
        SessionTransition(event: .codeIssued, change: SessionChange(finishedAt: now))
    }

    /// The purge job found a waiting session past its expiry.
    package func timedOut() -> SessionTransition {
        SessionTransition(event: .timedOut, change: SessionChange(finishedAt: now))
    }

    /// The purge job found a session created without `/setup` idle for too long.
    package func abandoned() -> SessionTransition {
        SessionTransition(event: .abandoned, change: SessionChange(finishedAt: now))
    }

    /// Whether the verifier is due to be asked about `session` again (at most once per `interval`
    /// across all instances; the store's claim makes it once).
    package func verifierCheckDue(_ session: VerificationSession, interval: TimeInterval) -> Bool {
        session.status == .authorized && (session.lastCheckedAt.map { $0 < now.addingTimeInterval(-interval) } ?? true)
    }
}

/// Which sessions a store applies a transition to.
package enum SessionTarget: Sendable {
    /// One session, by its serial.
    case session(Int64)
    /// Every session whose expiry is at or before the date (the purge job).
    case expiredBy(Date)
    /// Every session created without `/setup` whose last verifier check (none: its creation) is at or before the date.
    case idleWithoutSetup(Date)
}
