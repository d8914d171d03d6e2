import Foundation

/// The authorization request as accepted at `/authorize`.
public struct AuthorizationRequestRecord: Sendable, Equatable {
    public var redirectURI: String
    /// Opaque; returned byte-for-byte, never unique, never a lookup key.
    public var state: String?
    public var scope: [String]
    public var browserBindingHash: Data

    public init(redirectURI: String, state: String?, scope: [String], browserBindingHash: Data) {
        self.redirectURI = redirectURI
        self.state = state
        self.scope = scope
        self.browserBindingHash = browserBindingHash
    }
}

/// What `/finalize` got from the store.
public enum CodeIssueResult: Sendable, Equatable {
    case issued(VerificationSession)
    /// No code: the session is not verified, or the browser binding does not match.
    case refused(VerificationSession)
    case unknown
}

/// What `/token` got from the store.
public enum CodeRedemption: Sendable, Equatable {
    case issued
    case unknownCode
    case expired
    /// Already used: every token issued from it has now been revoked.
    case replayed
    case otherClient
    case redirectMismatch
}

/// What `/info` reads for a valid access token.
public struct TokenGrant: Sendable, Equatable {
    public var sessionID: String
    public var clientID: String
    public var claims: [String: JSON]
    public var vct: String?
    public var issuer: String?
    public var verifiedAt: Date?

    public init(sessionID: String, clientID: String, claims: [String: JSON], vct: String?, issuer: String?, verifiedAt: Date?) {
        self.sessionID = sessionID
        self.clientID = clientID
        self.claims = claims
        self.vct = vct
        self.issuer = issuer
        self.verifiedAt = verifiedAt
    }
}

/// Counts from one run of the purge job.
public struct PurgeReport: Sendable, Equatable {
    public var expiredSessions = 0
    public var deletedSessions = 0
    public var deletedCodes = 0
    public var deletedTokens = 0
    public init() {}
}

/// Storage of verification sessions, authorization codes and access tokens.
///
/// Every state change is one atomic statement (or one transaction) whose condition encodes
/// ``SessionEvent/from``, so any number of gateway processes can share the store.
public protocol FlowStore: Sendable {
    /// Creates a `pending` session; false if the client does not exist.
    func createSession(clientID: String, sessionID: String, nonce: String, expiresAt: Date) async throws -> Bool
    func session(nonce: String) async throws -> VerificationSession?
    func session(verificationID: String) async throws -> VerificationSession?
    /// Stores the request and verification and moves `pending` → `authorized`. If another request got there
    /// first, nothing changes; either way the session as now stored is returned.
    func recordAuthorization(nonce: String, request: AuthorizationRequestRecord,
                             verification: VerifierVerification) async throws -> VerificationSession?
    /// Claims the right to ask the verifier about a waiting session: true (and the check time set to now) only if
    /// the last check is older than `interval`, so concurrent pollers on many instances ask once.
    func claimVerifierCheck(verificationID: String, interval: TimeInterval) async throws -> Bool
    /// Applies a verifier outcome atomically; returns the new status, or nil if the session did not change.
    func applyOutcome(verificationID: String, outcome: VerifierOutcome) async throws -> SessionStatus?
    /// Issues a code for a verified session presented with the right browser binding (`verified` → `completed`).
    func issueCode(verificationID: String, browserBindingHash: Data?, codeHash: Data, expiresAt: Date) async throws -> CodeIssueResult
    /// Consumes a code (single use) and stores a token; on a second use revokes the tokens issued from it.
    func redeemCode(codeHash: Data, clientID: String, redirectURI: String, tokenHash: Data,
                    tokenExpiresAt: Date) async throws -> CodeRedemption
    /// The grant behind a live (unexpired, unrevoked) token.
    func tokenGrant(tokenHash: Data) async throws -> TokenGrant?
    /// Marks waiting sessions past their expiry `expired` and deletes what nobody can use any more.
    func purge(retention: TimeInterval) async throws -> PurgeReport
}
