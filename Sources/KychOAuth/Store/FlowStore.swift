import Foundation
import KychCore

/// The authorization request as accepted at `/authorize`.
package struct AuthorizationRequestRecord: Sendable, Equatable {
    package var redirectURI: String
    /// Opaque; returned byte-for-byte, never unique, never a lookup key.
    package var state: String?
    package var scope: [String]
    package var browserBindingHash: Data
    /// The PKCE `code_challenge` (method S256), carried to the code and checked at `/token`.
    package var codeChallenge: String?
    /// The request asked for OpenID Connect (`openid` in its scope).
    package var openid: Bool
    /// Its OpenID Connect `nonce`, echoed in the ID token.
    package var oidcNonce: String?
    /// RFC 9449 §10: `dpop_jkt`, the thumbprint of the key whose DPoP proof `/token` must then see.
    package var dpopJKT: String?

    package init(redirectURI: String, state: String?, scope: [String], browserBindingHash: Data, codeChallenge: String? = nil,
                 openid: Bool = false, oidcNonce: String? = nil, dpopJKT: String? = nil) {
        self.redirectURI = redirectURI
        self.state = state
        self.scope = scope
        self.browserBindingHash = browserBindingHash
        self.codeChallenge = codeChallenge
        self.openid = openid
        self.oidcNonce = oidcNonce
        self.dpopJKT = dpopJKT
    }
}

/// A new `pending` session, as `/setup` (or a nonce-less `/authorize`) creates it.
package struct NewSession: Sendable, Equatable {
    package var clientID: String
    package var sessionID: String
    package var nonce: String
    package var createdAt: Date
    package var expiresAt: Date
    /// Created by a nonce-less `/authorize`, which anyone may send: capped per client and purged when idle.
    package var withoutSetup: Bool

    package init(clientID: String, sessionID: String, nonce: String, createdAt: Date, expiresAt: Date, withoutSetup: Bool = false) {
        self.clientID = clientID
        self.sessionID = sessionID
        self.nonce = nonce
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.withoutSetup = withoutSetup
    }
}

/// An authorization code to store: only its hash is kept.
package struct NewAuthorizationCode: Sendable, Equatable {
    package var codeHash: Data
    package var redirectURI: String
    package var codeChallenge: String?
    package var createdAt: Date
    package var expiresAt: Date

    package init(codeHash: Data, redirectURI: String, codeChallenge: String? = nil, createdAt: Date, expiresAt: Date) {
        self.codeHash = codeHash
        self.redirectURI = redirectURI
        self.codeChallenge = codeChallenge
        self.createdAt = createdAt
        self.expiresAt = expiresAt
    }
}

/// An authorization code as stored, with what the token endpoint's rules look at.
package struct StoredAuthorizationCode: Sendable, Equatable {
    package var serial: Int64
    /// The session the code was issued for, read with the code (the token it buys is issued from it).
    package var session: VerificationSession
    package var clientID: String
    package var redirectURI: String
    package var codeChallenge: String?
    package var expiresAt: Date
    package var usedAt: Date?

    package init(serial: Int64, session: VerificationSession, clientID: String, redirectURI: String, codeChallenge: String? = nil,
                 expiresAt: Date, usedAt: Date?) {
        self.serial = serial
        self.session = session
        self.clientID = clientID
        self.redirectURI = redirectURI
        self.codeChallenge = codeChallenge
        self.expiresAt = expiresAt
        self.usedAt = usedAt
    }
}

/// An access token to store: only its hash is kept.
package struct NewAccessToken: Sendable, Equatable {
    package var tokenHash: Data
    package var createdAt: Date
    package var expiresAt: Date
    /// The thumbprint of the key a DPoP-bound token is bound to (RFC 9449 §6); nil for a bearer token.
    package var dpopJKT: String?

    package init(tokenHash: Data, createdAt: Date, expiresAt: Date, dpopJKT: String? = nil) {
        self.tokenHash = tokenHash
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.dpopJKT = dpopJKT
    }
}

/// An access token as stored, with the grant behind it (what `/info` serves).
package struct StoredAccessToken: Sendable, Equatable {
    package var sessionID: String
    package var clientID: String
    /// The claims granted (the session's scope).
    package var scope: [String]
    package var claims: [String: JSON]
    package var vct: String?
    package var issuer: String?
    package var verifiedAt: Date?
    package var createdAt: Date
    package var expiresAt: Date
    package var revokedAt: Date?
    /// The session asked for OpenID Connect, with this nonce.
    package var openid: Bool
    package var oidcNonce: String?
    /// When the claims were erased (``ClaimsRetention``); `claims` is then empty.
    package var claimsErasedAt: Date?
    /// The `sub` of the ID token that carried the claims when they were erased, which `/userinfo` still answers.
    package var claimsSubject: String?
    /// The thumbprint of the key the token is bound to (DPoP); nil for a bearer token.
    package var dpopJKT: String?
    /// Issued for a credential presented at `/token` (``PresentedGrant``, `vp_token-bearer`), not from a code: the claims
    /// are an organisation's, which introspection reports too.
    package var presented = false

    package init(sessionID: String, clientID: String, scope: [String], claims: [String: JSON], vct: String?, issuer: String?,
                 verifiedAt: Date?, createdAt: Date, expiresAt: Date, revokedAt: Date?, openid: Bool = false, oidcNonce: String? = nil,
                 claimsErasedAt: Date? = nil, claimsSubject: String? = nil, dpopJKT: String? = nil) {
        self.dpopJKT = dpopJKT
        self.openid = openid
        self.oidcNonce = oidcNonce
        self.claimsErasedAt = claimsErasedAt
        self.claimsSubject = claimsSubject
        self.sessionID = sessionID
        self.clientID = clientID
        self.scope = scope
        self.claims = claims
        self.vct = vct
        self.issuer = issuer
        self.verifiedAt = verifiedAt
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.revokedAt = revokedAt
    }
}

extension StoredAccessToken {
    /// The token `record` as issued from `session`: what a store reads back, built without reading it back.
    package init(session: VerificationSession, record: NewAccessToken, revokedAt: Date? = nil) {
        self.init(sessionID: session.sessionID, clientID: session.clientID, scope: session.scope ?? [], claims: session.claims ?? [:],
                  vct: session.credentialVCT, issuer: session.credentialIssuer, verifiedAt: session.verifiedAt,
                  createdAt: record.createdAt, expiresAt: record.expiresAt, revokedAt: revokedAt, openid: session.openid,
                  oidcNonce: session.oidcNonce, dpopJKT: record.dpopJKT)
    }
}

/// A request pushed to `/par` (RFC 9126), as stored until `/authorize` takes it: only a hash of its handle is kept.
package struct PushedAuthorizationRequest: Sendable, Equatable {
    /// SHA-256 of the `request_uri`.
    package var handleHash: Data
    package var clientID: String
    /// The checked ``AuthorizationRequest`` as JSON text.
    package var parameters: String
    package var createdAt: Date
    package var expiresAt: Date

    package init(handleHash: Data, clientID: String, parameters: String, createdAt: Date, expiresAt: Date) {
        self.handleHash = handleHash
        self.clientID = clientID
        self.parameters = parameters
        self.createdAt = createdAt
        self.expiresAt = expiresAt
    }
}

/// A flow that was verified and completed in one request, with no browser and no code: an organisation's wallet
/// presented its credential at `/token` (`grant_type=vp_token-bearer`). Stored as a `completed` session holding the
/// presented claims, so `/info`, introspection, revocation, claims retention and the purge treat its token like any other.
package struct PresentedGrant: Sendable, Equatable {
    package var clientID: String
    package var sessionID: String
    /// A fresh random value: sessions need a unique nonce, though nobody ever looks this one up.
    package var nonce: String
    package var scope: [String]
    package var credential: VerifiedCredential
    package var verifiedAt: Date
    /// The token's expiry: the session lives as long as its one token.
    package var expiresAt: Date

    package init(clientID: String, sessionID: String, nonce: String, scope: [String], credential: VerifiedCredential, verifiedAt: Date,
                 expiresAt: Date) {
        self.clientID = clientID
        self.sessionID = sessionID
        self.nonce = nonce
        self.scope = scope
        self.credential = credential
        self.verifiedAt = verifiedAt
        self.expiresAt = expiresAt
    }

    /// The session as a store writes it (serial 0: the value is for issuing its token before storing).
    package var session: VerificationSession {
        VerificationSession(serial: 0, clientID: clientID, sessionID: sessionID, nonce: nonce, status: .completed, scope: scope,
                            claims: credential.claims, credentialVCT: credential.vct, credentialIssuer: credential.issuer,
                            verifiedAt: verifiedAt, createdAt: verifiedAt, expiresAt: expiresAt, finishedAt: verifiedAt)
    }
}

/// A store lost a server secret between writing and reading it (another process deleted it).
/// An `INSERT … RETURNING` that returned no row (it always returns one unless the database misbehaves).
package struct NoRowReturned: Error, CustomStringConvertible {
    package let table: String
    package init(table: String) { self.table = table }
    package var description: String { "inserting into \(table) returned no row" }
}

package struct MissingServerSecret: Error, CustomStringConvertible {
    package let name: String
    package init(name: String) { self.name = name }
    package var description: String { "the server secret \(name) is missing from the database" }
}

/// Counts from one run of the purge job.
package struct PurgeReport: Sendable, Equatable {
    package var expiredSessions = 0
    /// Sessions created without `/setup` that nobody watched for `AUTHORIZE_WITHOUT_SETUP_IDLE_MINUTES`.
    package var abandonedSessions = 0
    package var deletedSessions = 0
    package var deletedCodes = 0
    package var deletedTokens = 0
    /// Sessions whose claims were erased (``ClaimsRetention``).
    package var erasedClaims = 0
    /// Pushed authorization requests past their expiry, never used.
    package var deletedPushedRequests = 0
    package init() {}
}

/// Storage of verification sessions, authorization codes and access tokens, as atomic primitives.
///
/// A store decides no protocol rule: the authorization server reads, decides in Swift (with one
/// clock) and asks for a conditional write whose condition it computed. Every write is one
/// statement or one transaction, so any number of gateway processes can share the store, and
/// single use (a session's transition, a code's redemption) holds without read-then-write races.
package protocol FlowStore: Sendable {
    /// Creates a `pending` session and returns it as stored; nil if the client does not exist.
    func createSession(_ session: NewSession) async throws -> VerificationSession?
    func session(nonce: String) async throws -> VerificationSession?
    func session(verificationID: String) async throws -> VerificationSession?
    func session(serial: Int64) async throws -> VerificationSession?
    /// Applies `transition` to the session if its status is in `transition.from` (and it has not expired
    /// by `transition.unexpiredAt`); the session as it now stands if it did (the write returns it: no second read),
    /// nil if not.
    func apply(_ transition: SessionTransition, toSession serial: Int64) async throws -> VerificationSession?
    /// Sets the session's last verifier check to `now` if its status is `status` and the last check was
    /// before `checkedBefore` (or never): true for exactly one of several concurrent callers.
    func claimVerifierCheck(session serial: Int64, status: SessionStatus, checkedBefore: Date, now: Date) async throws -> Bool
    /// Applies `transition` and stores `code` for the session atomically (one statement on PostgreSQL); false
    /// (nothing stored) if the transition does not apply.
    func apply(_ transition: SessionTransition, toSession serial: Int64, issuing code: NewAuthorizationCode) async throws -> Bool
    /// The code with its session, in one read.
    func authorizationCode(hash: Data) async throws -> StoredAuthorizationCode?
    /// Marks the code used at `usedAt` and stores `token` issued from it, in one transaction; false
    /// (nothing stored) if the code was already used.
    func redeemCode(serial: Int64, usedAt: Date, issuing token: NewAccessToken) async throws -> Bool
    /// Stores `grant`'s completed session and `token` issued from it, in one transaction; false (nothing stored) if the
    /// client does not exist.
    func storePresentedGrant(_ grant: PresentedGrant, issuing token: NewAccessToken) async throws -> Bool
    /// Revokes every live token issued from the code.
    func revokeTokens(issuedFromCode serial: Int64, at: Date) async throws
    func accessToken(hash: Data) async throws -> StoredAccessToken?
    /// Revokes one token at `at` unless it already is; true if this call revoked it.
    func revokeAccessToken(hash: Data, at: Date) async throws -> Bool
    /// The shared secret `name`: `candidate` is stored if there is none yet; the stored one is returned, so
    /// every instance ends up with the same value.
    func serverSecret(named name: String, candidate: Data, at: Date) async throws -> Data
    /// Applies `transition` to every session in `transition.from` whose expiry is at or before `expiredBy`; returns how many.
    func applyToExpiredSessions(_ transition: SessionTransition, expiredBy: Date) async throws -> Int
    /// Applies `transition` to every session created without `/setup` whose status is in `transition.from` and whose
    /// last verifier check (none: its creation) is at or before `idleSince`; returns how many.
    func applyToIdleSessionsWithoutSetup(_ transition: SessionTransition, idleSince: Date) async throws -> Int
    /// How many of the client's sessions created without `/setup` have a status in `statuses` and expire after
    /// `expiringAfter`, counting no further than `limit` (an indexed count that stays cheap under a flood).
    func countSessionsWithoutSetup(clientID: String, statuses: Set<SessionStatus>, expiringAfter: Date, limit: Int) async throws -> Int
    /// Erases the claims of the session `sessionID` (they become an empty object; the session keeps its ids, times,
    /// outcome, issuer and vct) and records `at` and `subject`; false if they were erased already.
    func eraseClaims(sessionID: String, keepingSubject subject: String?, at: Date) async throws -> Bool
    /// Erases, at `now`, the claims of every session verified at or before `verifiedBefore` (nil: none for its age), and
    /// of every session expired by `now` with no unused code and no unrevoked token that expires after `now`; returns how many.
    func eraseClaims(verifiedBefore: Date?, unreachableAt now: Date) async throws -> Int
    /// `kych-client-management purge --client`: erases, at `at`, the claims every session of client `clientID` still
    /// holds and deletes its finished sessions (failed, completed, expired) with their codes and tokens, in one
    /// transaction; reports `erasedClaims` and `deletedSessions`; nil for an unknown client.
    func purgeClient(id clientID: String, at: Date) async throws -> PurgeReport?
    /// Stores a request pushed to `/par`; false if its client does not exist.
    func storePushedRequest(_ request: PushedAuthorizationRequest) async throws -> Bool
    /// Deletes the pushed request whose handle hashes to `handleHash` and returns it, expired or not: one caller gets it,
    /// across every instance on the database (RFC 9126 §4: a `request_uri` is used once).
    func takePushedRequest(handleHash: Data) async throws -> PushedAuthorizationRequest?
    /// Deletes tokens, codes and pushed requests that expired before `cutoff`, and sessions that did with nothing left
    /// referring to them, in one transaction.
    func deleteExpired(before cutoff: Date) async throws -> PurgeReport
    /// Records `key` as used until `expiresAt`: true the first time, false while an earlier record of the same key has
    /// not expired (a replay), across every instance on the database. Callers hash a namespace, the signer and the
    /// JWT id into `key` (one-time DPoP proofs and client assertions); ``deleteExpired(before:)`` drops lapsed records.
    func recordOnce(_ key: Data, expiresAt: Date, now: Date) async throws -> Bool
    /// Records an attestation issued at `/credential` and gives it the next index of the attestations' status list
    /// (1, 2, …; never reused, also after ``deleteExpired(before:)`` deleted expired attestations).
    func recordAttestation(_ attestation: NewAttestation) async throws -> Int64
    /// Revokes at `at` the attestations whose id, or whose session's id, is `id`; returns how many were live.
    func revokeAttestations(id: String, at: Date) async throws -> Int
    /// The attestations' status list: the highest index handed out (0: none) and the revoked indexes.
    func attestationStatuses() async throws -> AttestationStatuses
}

/// An attestation issued at `/credential` (OpenID4VCI), as its status list entry needs it; no claim.
package struct NewAttestation: Sendable, Equatable {
    /// Random; what `kych-client-management revoke-attestation` names (it is logged at issue).
    package var id: String
    /// The flow it was issued for: `/info`'s `id`.
    package var sessionID: String
    package var clientID: String
    package var issuedAt: Date
    package var expiresAt: Date

    package init(id: String, sessionID: String, clientID: String, issuedAt: Date, expiresAt: Date) {
        self.id = id
        self.sessionID = sessionID
        self.clientID = clientID
        self.issuedAt = issuedAt
        self.expiresAt = expiresAt
    }
}

/// What the attestations' status list is built from.
package struct AttestationStatuses: Sendable, Equatable {
    package var highestIndex: Int64
    package var revoked: Set<Int64>

    package init(highestIndex: Int64, revoked: Set<Int64>) {
        self.highestIndex = highestIndex
        self.revoked = revoked
    }
}
