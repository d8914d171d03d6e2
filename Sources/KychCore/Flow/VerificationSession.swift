import Foundation

/// Where a verification flow stands. Every started flow ends in `completed`, `failed` or `expired`.
public enum SessionStatus: String, Sendable, Codable, CaseIterable {
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

    public var isFinal: Bool { self == .failed || self == .completed || self == .expired }
}

/// The events that move a session, and the state machine that says from where each may happen.
/// Stores apply a transition with one conditional UPDATE whose WHERE clause lists ``from``.
public enum SessionEvent: Sendable, Equatable {
    case verificationCreated
    case verifierSucceeded
    case verifierFailed
    case verificationVanished
    case codeIssued
    case timedOut

    /// The states this event may leave.
    public var from: Set<SessionStatus> {
        switch self {
        case .verificationCreated: [.pending]
        case .verifierSucceeded, .verifierFailed: [.authorized]
        case .verificationVanished: [.pending, .authorized]
        case .timedOut: [.pending, .authorized, .verified]
        case .codeIssued: [.verified]
        }
    }

    /// The state this event leads to.
    public var to: SessionStatus {
        switch self {
        case .verificationCreated: .authorized
        case .verifierSucceeded: .verified
        case .verifierFailed: .failed
        case .verificationVanished, .timedOut: .expired
        case .codeIssued: .completed
        }
    }

    /// The state after this event from `status`, or nil when the event does not apply there.
    public func apply(to status: SessionStatus) -> SessionStatus? {
        from.contains(status) ? to : nil
    }
}

/// Why a session failed: the verification itself (the person or credential), or a fault of KyCH or the verifier.
public enum FailureKind: String, Sendable, Codable {
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
    public init(errorCode: String?) {
        guard let code = errorCode?.lowercased(), !code.isEmpty else { self = .server; return }
        self = Self.serverCodes.contains(code) ? .server : .verification
    }
}

/// One verification flow as stored.
public struct VerificationSession: Sendable, Equatable {
    public var serial: Int64
    public var clientID: String
    /// Opaque public id of the flow, given to the client by `/info`.
    public var sessionID: String
    public var nonce: String
    public var status: SessionStatus
    public var redirectURI: String?
    public var state: String?
    public var scope: [String]?
    public var browserBindingHash: Data?
    public var verification: VerifierVerification?
    public var lastCheckedAt: Date?
    public var claims: [String: JSON]?
    public var credentialVCT: String?
    public var credentialIssuer: String?
    public var failure: SessionFailure?
    public var createdAt: Date
    public var expiresAt: Date
    public var finishedAt: Date?

    public init(serial: Int64, clientID: String, sessionID: String, nonce: String, status: SessionStatus, redirectURI: String? = nil,
                state: String? = nil, scope: [String]? = nil, browserBindingHash: Data? = nil,
                verification: VerifierVerification? = nil, lastCheckedAt: Date? = nil, claims: [String: JSON]? = nil,
                credentialVCT: String? = nil, credentialIssuer: String? = nil, failure: SessionFailure? = nil,
                createdAt: Date, expiresAt: Date, finishedAt: Date? = nil) {
        self.serial = serial
        self.clientID = clientID
        self.sessionID = sessionID
        self.nonce = nonce
        self.status = status
        self.redirectURI = redirectURI
        self.state = state
        self.scope = scope
        self.browserBindingHash = browserBindingHash
        self.verification = verification
        self.lastCheckedAt = lastCheckedAt
        self.claims = claims
        self.credentialVCT = credentialVCT
        self.credentialIssuer = credentialIssuer
        self.failure = failure
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.finishedAt = finishedAt
    }

    /// The status a reader should see: a waiting session past its expiry is expired even before the purge job marks it.
    public func effectiveStatus(now: Date) -> SessionStatus {
        if SessionEvent.timedOut.from.contains(status) && expiresAt <= now { return .expired }
        return status
    }
}

/// A failed session's error, as the verifier reported it (or as KyCH set it).
public struct SessionFailure: Sendable, Equatable {
    public var kind: FailureKind
    public var code: String?
    public var description: String?

    public init(kind: FailureKind, code: String?, description: String?) {
        self.kind = kind
        self.code = code
        self.description = description
    }
}

/// A verification created at the swiyu verifier for a session.
public struct VerifierVerification: Sendable, Equatable, Codable {
    public var id: String
    public var requestNonce: String?
    public var verificationURL: String
    public var deeplink: String

    public init(id: String, requestNonce: String?, verificationURL: String, deeplink: String) {
        self.id = id
        self.requestNonce = requestNonce
        self.verificationURL = verificationURL
        self.deeplink = deeplink
    }
}

/// What a verifier says about a verification.
public enum VerifierOutcome: Sendable, Equatable {
    case pending
    case success(VerifiedCredential)
    case failed(code: String?, description: String?)
    /// 404: unknown or expired at the verifier.
    case notFound
}

/// The verified credential, reduced to what KyCH keeps: the granted claims, issuer and type.
public struct VerifiedCredential: Sendable, Equatable {
    public var claims: [String: JSON]
    public var vct: String?
    public var issuer: String?

    public init(claims: [String: JSON], vct: String?, issuer: String?) {
        self.claims = claims
        self.vct = vct
        self.issuer = issuer
    }
}
