import Foundation
import KychCore

/// Where a verification flow stands. Every started flow ends in `completed`, `failed` or `expired`.
package enum SessionStatus: String, Sendable, Codable, CaseIterable {
    /// Created by `/setup`; `/authorize` not called yet.
    case pending
    /// The verifier holds a verification for the session; waiting for the wallet.
    case authorized
    /// The verifier reported SUCCESS; claims stored, ready for `/finalize`.
    case verified
    /// The verifier reported FAILED, or the flow broke.
    case failed
    /// An authorization code was issued.
    case completed
    /// The session or its verification timed out.
    case expired

    package var isFinal: Bool { self == .failed || self == .completed || self == .expired }
}

/// The events that move a session, and the state machine that says from where each may happen.
/// Stores apply a transition with one conditional UPDATE whose WHERE clause lists ``from``.
package enum SessionEvent: Sendable, Equatable {
    case verificationCreated
    case verifierSucceeded
    case verifierFailed
    case verificationVanished
    case codeIssued
    case timedOut
    /// The purge found a session created without `/setup` that nobody watched for a while (no wallet answer, no page open).
    case abandoned

    /// The states this event may leave.
    package var from: Set<SessionStatus> {
        switch self {
        case .verificationCreated: [.pending]
        case .verifierSucceeded, .verifierFailed: [.authorized]
        case .verificationVanished: [.pending, .authorized]
        case .timedOut: [.pending, .authorized, .verified]
        case .abandoned: [.pending, .authorized]
        case .codeIssued: [.verified]
        }
    }

    /// The state this event leads to.
    package var to: SessionStatus {
        switch self {
        case .verificationCreated: .authorized
        case .verifierSucceeded: .verified
        case .verifierFailed: .failed
        case .verificationVanished, .timedOut, .abandoned: .expired
        case .codeIssued: .completed
        }
    }

    /// Whether `/status` long polls wait for it: the store that applies it announces it to every process in the
    /// same statement (PostgreSQL: `NOTIFY kych_session`, sent when the change commits), and the process that
    /// applied it wakes its own polls (``SessionWakeups``).
    package var wakesPolls: Bool {
        switch self {
        case .verifierSucceeded, .verifierFailed, .verificationVanished, .codeIssued: true
        case .verificationCreated, .timedOut, .abandoned: false
        }
    }

    /// The state after this event from `status`, or nil when the event does not apply there.
    package func apply(to status: SessionStatus) -> SessionStatus? {
        from.contains(status) ? to : nil
    }
}

/// Why a session failed: the verification itself (the person or credential), or a fault of KyCH or the verifier.
package enum FailureKind: String, Sendable, Codable {
    case verification
    case server

    /// Error codes that say the verifier or a registry could not do its job, not that the person or the
    /// credential failed. A missing code (e.g. a decryption fault inside the verifier) counts as such too.
    static let serverCodes: Set<String> = [
        "authorization_request_object_not_found", "authorization_request_missing_error_param",
        "invalid_presentation_definition", "invalid_presentation_definition_uri", "invalid_presentation_definition_reference",
        "invalid_request", "invalid_client", "invalid_scope", "vp_formats_not_supported",
        "unresolvable_status_list", "public_key_of_issuer_unresolvable", "invalid_token_status_list",
    ]

    /// Classifies a verifier `error_code` (compared case-insensitively).
    package init(errorCode: String?) {
        guard let code = errorCode?.lowercased(), !code.isEmpty else { self = .server; return }
        self = Self.serverCodes.contains(code) ? .server : .verification
    }
}

/// One verification flow as stored.
package struct VerificationSession: Sendable, Equatable {
    package var serial: Int64
    package var clientID: String
    /// Opaque public id of the flow, given to the client by `/info`.
    package var sessionID: String
    package var nonce: String
    package var status: SessionStatus
    package var redirectURI: String?
    package var state: String?
    package var scope: [String]?
    package var browserBindingHash: Data?
    package var codeChallenge: String?
    package var openid = false
    package var oidcNonce: String?
    /// `dpop_jkt` of the authorization request: `/token` wants a DPoP proof by this key.
    package var dpopJKT: String?
    package var verification: VerifierVerification?
    package var lastCheckedAt: Date?
    package var claims: [String: JSON]?
    package var credentialVCT: String?
    package var credentialIssuer: String?
    package var failure: SessionFailure?
    package var verifiedAt: Date?
    package var createdAt: Date
    package var expiresAt: Date
    package var finishedAt: Date?
    /// Created by a nonce-less `/authorize` (see ``NewSession/withoutSetup``).
    package var withoutSetup = false

    package init(serial: Int64, clientID: String, sessionID: String, nonce: String, status: SessionStatus, redirectURI: String? = nil,
                state: String? = nil, scope: [String]? = nil, browserBindingHash: Data? = nil,
                codeChallenge: String? = nil, verification: VerifierVerification? = nil, lastCheckedAt: Date? = nil, claims: [String: JSON]? = nil,
                credentialVCT: String? = nil, credentialIssuer: String? = nil, failure: SessionFailure? = nil,
                verifiedAt: Date? = nil, createdAt: Date, expiresAt: Date, finishedAt: Date? = nil) {
        self.serial = serial
        self.clientID = clientID
        self.sessionID = sessionID
        self.nonce = nonce
        self.status = status
        self.redirectURI = redirectURI
        self.state = state
        self.scope = scope
        self.browserBindingHash = browserBindingHash
        self.codeChallenge = codeChallenge
        self.verification = verification
        self.lastCheckedAt = lastCheckedAt
        self.claims = claims
        self.credentialVCT = credentialVCT
        self.credentialIssuer = credentialIssuer
        self.failure = failure
        self.verifiedAt = verifiedAt
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.finishedAt = finishedAt
    }

    /// The status a reader should see: a waiting session past its expiry is expired even before the purge job marks it.
    package func effectiveStatus(now: Date) -> SessionStatus {
        if SessionEvent.timedOut.from.contains(status) && expiresAt <= now { return .expired }
        return status
    }
}

/// A failed session's error, as the verifier reported it (or as KyCH set it).
package struct SessionFailure: Sendable, Equatable {
    package var kind: FailureKind
    package var code: String?
    package var description: String?

    package init(kind: FailureKind, code: String?, description: String?) {
        self.kind = kind
        self.code = code
        self.description = description
    }
}
