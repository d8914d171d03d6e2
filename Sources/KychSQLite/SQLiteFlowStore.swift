import Foundation
import KychCore
import KychOAuth
import SQLiteNIO

/// ``FlowStore`` on the embedded SQLite database. Every primitive is one statement or one transaction on the
/// process's single, serialised connection; the conditions come from the caller, every timestamp from its clock.
package struct SQLiteFlowStore: FlowStore {
    let db: SQLiteDatabase

    package init(db: SQLiteDatabase) {
        self.db = db
    }

    static let sessionSelect = """
        SELECT s.*, c.client_id FROM verification_sessions s JOIN clients c ON c.client_serial = s.client_serial
        """
    /// What an `INSERT` or `UPDATE` of a session returns: the row as ``decodeSession(_:)`` reads it, without reading it again.
    static let returningSession = """
        *, (SELECT client_id FROM clients c WHERE c.client_serial = verification_sessions.client_serial) AS client_id
        """

    static func decodeSession(_ row: SQLiteRow) throws -> VerificationSession {
        var verification: VerifierVerification?
        if let id = row.string("verification_id") {
            verification = VerifierVerification(id: id, requestNonce: row.string("request_nonce"),
                                                verificationURL: row.string("verification_url") ?? "",
                                                deeplink: row.string("verification_deeplink") ?? "")
        }
        var failure: SessionFailure?
        if let kind = row.string("failure_kind").flatMap(FailureKind.init(rawValue:)) {
            failure = SessionFailure(kind: kind, code: row.string("failure_code"), description: row.string("failure_description"))
        }
        var session = VerificationSession(
            serial: row.int("session_serial") ?? 0, clientID: row.string("client_id") ?? "", sessionID: row.string("session_id") ?? "",
            nonce: row.string("nonce") ?? "", status: row.string("status").flatMap(SessionStatus.init(rawValue:)) ?? .failed,
            redirectURI: row.string("redirect_uri"), state: row.string("state"), scope: row.strings("scope"),
            browserBindingHash: row.data("browser_binding_hash"), codeChallenge: row.string("code_challenge"), verification: verification,
            lastCheckedAt: row.date("last_checked_at"),
            claims: try row.string("claims").map { try JSON.parse(Data($0.utf8)).objectValue ?? [:] },
            credentialVCT: row.string("credential_vct"), credentialIssuer: row.string("credential_issuer"), failure: failure,
            verifiedAt: row.date("verified_at"), createdAt: row.date("created_at") ?? Date(), expiresAt: row.date("expires_at") ?? Date(), finishedAt: row.date("finished_at"))
        session.openid = row.int("openid") == 1
        session.oidcNonce = row.string("oidc_nonce")
        session.withoutSetup = row.int("without_setup") == 1
        session.dpopJKT = row.string("dpop_jkt")
        return session
    }

    /// `UPDATE … SET status, <changed fields> WHERE <target> AND status IN (…) [AND expires_at > ?]`.
    static func update(_ transition: SessionTransition, _ target: SessionTarget, returning: String = "1") -> (String, [SQLiteData]) {
        let c = transition.change
        var set: [(String, SQLiteData)] = [("status", .text(transition.to.rawValue))]
        if let r = c.request {
            set += [("redirect_uri", .text(r.redirectURI)), ("state", .text(r.state)), ("scope", .list(r.scope)),
                    ("browser_binding_hash", .blob(r.browserBindingHash)), ("code_challenge", .text(r.codeChallenge)),
                    ("code_challenge_method", .text(r.codeChallenge.map { _ in "S256" })),
                    ("openid", .integer(r.openid ? 1 : 0)), ("oidc_nonce", .text(r.oidcNonce)), ("dpop_jkt", .text(r.dpopJKT))]
        }
        if let v = c.verification {
            set += [("verification_id", .text(v.id)), ("request_nonce", .text(v.requestNonce)),
                    ("verification_url", .text(v.verificationURL)), ("verification_deeplink", .text(v.deeplink))]
        }
        if let credential = c.credential {
            set += [("claims", .text(JSON.object(credential.claims).serialized())), ("credential_vct", .text(credential.vct)),
                    ("credential_issuer", .text(credential.issuer))]
        }
        if let f = c.failure {
            set += [("failure_kind", .text(f.kind.rawValue)), ("failure_code", .text(f.code)), ("failure_description", .text(f.description))]
        }
        let dates: [(String, Date?)] = [("expires_at", c.expiresAt), ("authorized_at", c.authorizedAt), ("verified_at", c.verifiedAt),
                                        ("finished_at", c.finishedAt), ("last_checked_at", c.lastCheckedAt)]
        for (column, date) in dates { if let date { set.append((column, .date(date))) } }
        var condition: String, binds = set.map(\.1)
        switch target {
        case .session(let serial):
            condition = "session_serial = ?"
            binds.append(.integer(Int(serial)))
        case .expiredBy(let date):
            condition = "expires_at <= ?"
            binds.append(.date(date))
        case .idleWithoutSetup(let date):
            condition = "without_setup = 1 AND COALESCE(last_checked_at, created_at) <= ?"
            binds.append(.date(date))
        }
        let states = transition.from.map(\.rawValue).sorted()
        condition += " AND status IN (" + states.map { _ in "?" }.joined(separator: ", ") + ")"
        binds += states.map { .text($0) }
        if let unexpired = transition.unexpiredAt {
            condition += " AND expires_at > ?"
            binds.append(.date(unexpired))
        }
        let sql = "UPDATE verification_sessions SET " + set.map { "\($0.0) = ?" }.joined(separator: ", ")
            + " WHERE \(condition) RETURNING \(returning)"
        return (sql, binds)
    }

    package func createSession(_ new: NewSession) async throws -> VerificationSession? {
        try await db.rows("""
            INSERT INTO verification_sessions (client_serial, session_id, nonce, created_at, expires_at, without_setup)
            SELECT client_serial, ?, ?, ?, ?, ? FROM clients WHERE client_id = ? RETURNING \(Self.returningSession)
            """, [.text(new.sessionID), .text(new.nonce), .date(new.createdAt), .date(new.expiresAt), .integer(new.withoutSetup ? 1 : 0),
                  .text(new.clientID)]).first.map(Self.decodeSession)
    }

    package func session(nonce: String) async throws -> VerificationSession? {
        try await db.rows(Self.sessionSelect + " WHERE s.nonce = ?", [.text(nonce)]).first.map(Self.decodeSession)
    }

    package func session(serial: Int64) async throws -> VerificationSession? {
        try await db.rows(Self.sessionSelect + " WHERE s.session_serial = ?", [.integer(Int(serial))]).first.map(Self.decodeSession)
    }

    package func session(verificationID: String) async throws -> VerificationSession? {
        try await db.rows(Self.sessionSelect + " WHERE s.verification_id = ?", [.text(verificationID)]).first.map(Self.decodeSession)
    }

    package func apply(_ transition: SessionTransition, toSession serial: Int64) async throws -> VerificationSession? {
        let (sql, binds) = Self.update(transition, .session(serial), returning: Self.returningSession)
        return try await db.rows(sql, binds).first.map(Self.decodeSession)
    }

    package func claimVerifierCheck(session serial: Int64, status: SessionStatus, checkedBefore: Date, now: Date) async throws -> Bool {
        try await !db.rows("""
            UPDATE verification_sessions SET last_checked_at = ?
            WHERE session_serial = ? AND status = ? AND (last_checked_at IS NULL OR last_checked_at < ?)
            RETURNING 1
            """, [.date(now), .integer(Int(serial)), .text(status.rawValue), .date(checkedBefore)]).isEmpty
    }

    package func apply(_ transition: SessionTransition, toSession serial: Int64, issuing code: NewAuthorizationCode) async throws -> Bool {
        let (sql, binds) = Self.update(transition, .session(serial), returning: "session_serial, client_serial")
        return try await db.transaction { tx in
            guard let row = try await tx.rows(sql, binds).first else { return false }
            try await tx.rows("""
                INSERT INTO authorization_codes (client_serial, session_serial, code_hash, redirect_uri, code_challenge,
                  code_challenge_method, created_at, expires_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """, [row.column("client_serial") ?? .null, row.column("session_serial") ?? .null, .blob(code.codeHash),
                      .text(code.redirectURI), .text(code.codeChallenge), .text(code.codeChallenge.map { _ in "S256" }),
                      .date(code.createdAt), .date(code.expiresAt)])
            return true
        }
    }

    package func authorizationCode(hash: Data) async throws -> StoredAuthorizationCode? {
        let rows = try await db.rows("""
            SELECT s.*, c.client_id, k.code_serial, k.used_at AS code_used_at, k.expires_at AS code_expires_at,
              k.redirect_uri AS code_redirect_uri, k.code_challenge AS code_code_challenge
            FROM authorization_codes k JOIN verification_sessions s ON s.session_serial = k.session_serial
            JOIN clients c ON c.client_serial = s.client_serial WHERE k.code_hash = ?
            """, [.blob(hash)])
        guard let row = rows.first, let serial = row.int("code_serial"), let expires = row.date("code_expires_at") else { return nil }
        let session = try Self.decodeSession(row)
        return StoredAuthorizationCode(serial: serial, session: session, clientID: session.clientID,
                                       redirectURI: row.string("code_redirect_uri") ?? "", codeChallenge: row.string("code_code_challenge"),
                                       expiresAt: expires, usedAt: row.date("code_used_at"))
    }

    package func redeemCode(serial: Int64, usedAt: Date, issuing token: NewAccessToken) async throws -> Bool {
        try await db.transaction { tx in
            guard let code = try await tx.rows("""
                UPDATE authorization_codes SET used_at = ? WHERE code_serial = ? AND used_at IS NULL
                RETURNING client_serial, session_serial
                """, [.date(usedAt), .integer(Int(serial))]).first else { return false }
            try await tx.rows("""
                INSERT INTO access_tokens (client_serial, session_serial, code_serial, token_hash, created_at, expires_at, dpop_jkt)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                """, [code.column("client_serial") ?? .null, code.column("session_serial") ?? .null, .integer(Int(serial)),
                      .blob(token.tokenHash), .date(token.createdAt), .date(token.expiresAt), .text(token.dpopJKT)])
            return true
        }
    }

    package func storePresentedGrant(_ grant: PresentedGrant, issuing token: NewAccessToken) async throws -> Bool {
        let c = grant.credential
        return try await db.transaction { tx in
            guard let session = try await tx.rows("""
                INSERT INTO verification_sessions (client_serial, session_id, nonce, status, scope, claims, credential_vct,
                  credential_issuer, created_at, expires_at, verified_at, finished_at)
                SELECT client_serial, ?, ?, 'completed', ?, ?, ?, ?, ?, ?, ?, ? FROM clients WHERE client_id = ?
                RETURNING client_serial, session_serial
                """, [.text(grant.sessionID), .text(grant.nonce), .list(grant.scope), .text(JSON.object(c.claims).serialized()),
                      .text(c.vct), .text(c.issuer), .date(grant.verifiedAt), .date(grant.expiresAt), .date(grant.verifiedAt),
                      .date(grant.verifiedAt), .text(grant.clientID)]).first else { return false }
            try await tx.rows("""
                INSERT INTO access_tokens (client_serial, session_serial, token_hash, created_at, expires_at, dpop_jkt)
                VALUES (?, ?, ?, ?, ?, ?)
                """, [session.column("client_serial") ?? .null, session.column("session_serial") ?? .null, .blob(token.tokenHash),
                      .date(token.createdAt), .date(token.expiresAt), .text(token.dpopJKT)])
            return true
        }
    }

    package func revokeTokens(issuedFromCode serial: Int64, at: Date) async throws {
        try await db.rows("UPDATE access_tokens SET revoked_at = ? WHERE code_serial = ? AND revoked_at IS NULL",
                          [.date(at), .integer(Int(serial))])
    }

    package func accessToken(hash: Data) async throws -> StoredAccessToken? {
        let rows = try await db.rows("""
            SELECT s.session_id, c.client_id, s.scope, s.claims, s.credential_vct, s.credential_issuer, s.verified_at,
              t.created_at, t.expires_at, t.revoked_at, s.openid, s.oidc_nonce, s.claims_erased_at, s.claims_subject, t.dpop_jkt,
              t.code_serial IS NULL AS presented
            FROM access_tokens t JOIN verification_sessions s ON s.session_serial = t.session_serial
            JOIN clients c ON c.client_serial = t.client_serial
            WHERE t.token_hash = ?
            """, [.blob(hash)])
        guard let row = rows.first, let created = row.date("created_at"), let expires = row.date("expires_at") else { return nil }
        let claims = try row.string("claims").map { try JSON.parse(Data($0.utf8)).objectValue ?? [:] } ?? [:]
        var token = StoredAccessToken(sessionID: row.string("session_id") ?? "", clientID: row.string("client_id") ?? "",
                                      scope: row.strings("scope") ?? [], claims: claims,
                                      vct: row.string("credential_vct"), issuer: row.string("credential_issuer"),
                                      verifiedAt: row.date("verified_at"), createdAt: created, expiresAt: expires, revokedAt: row.date("revoked_at"),
                                      openid: row.int("openid") == 1, oidcNonce: row.string("oidc_nonce"),
                                      claimsErasedAt: row.date("claims_erased_at"), claimsSubject: row.string("claims_subject"),
                                      dpopJKT: row.string("dpop_jkt"))
        token.presented = row.int("presented") == 1
        return token
    }

    package func serverSecret(named name: String, candidate: Data, at: Date) async throws -> Data {
        try await db.transaction { tx in
            try await tx.rows("INSERT OR IGNORE INTO server_secrets (name, value, created_at) VALUES (?, ?, ?)",
                              [.text(name), .blob(candidate), .date(at)])
            guard let value = try await tx.rows("SELECT value FROM server_secrets WHERE name = ?", [.text(name)]).first?.data("value") else {
                throw MissingServerSecret(name: name)
            }
            return value
        }
    }

    package func revokeAccessToken(hash: Data, at: Date) async throws -> Bool {
        try await !db.rows("UPDATE access_tokens SET revoked_at = ? WHERE token_hash = ? AND revoked_at IS NULL RETURNING 1",
                           [.date(at), .blob(hash)]).isEmpty
    }

    package func applyToExpiredSessions(_ transition: SessionTransition, expiredBy: Date) async throws -> Int {
        let (sql, binds) = Self.update(transition, .expiredBy(expiredBy))
        return try await db.rows(sql, binds).count
    }

    package func applyToIdleSessionsWithoutSetup(_ transition: SessionTransition, idleSince: Date) async throws -> Int {
        let (sql, binds) = Self.update(transition, .idleWithoutSetup(idleSince))
        return try await db.rows(sql, binds).count
    }

    package func countSessionsWithoutSetup(clientID: String, statuses: Set<SessionStatus>, expiringAfter: Date, limit: Int) async throws -> Int {
        let states = statuses.map(\.rawValue).sorted()
        let rows = try await db.rows("""
            SELECT count(*) AS waiting FROM (
              SELECT 1 FROM verification_sessions
              WHERE client_serial = (SELECT client_serial FROM clients WHERE client_id = ?) AND without_setup = 1
                AND status IN (\(states.map { _ in "?" }.joined(separator: ", "))) AND expires_at > ?
              LIMIT ?)
            """, [.text(clientID)] + states.map { .text($0) } + [.date(expiringAfter), .integer(limit)])
        return rows.first?.int("waiting").map(Int.init) ?? 0
    }

    package func deleteExpired(before cutoff: Date) async throws -> PurgeReport {
        try await db.transaction { tx in
            var report = PurgeReport()
            report.deletedTokens = try await tx.rows("DELETE FROM access_tokens WHERE expires_at <= ? RETURNING 1", [.date(cutoff)]).count
            report.deletedCodes = try await tx.rows("""
                DELETE FROM authorization_codes WHERE expires_at <= ?
                  AND NOT EXISTS (SELECT 1 FROM access_tokens t WHERE t.code_serial = authorization_codes.code_serial) RETURNING 1
                """, [.date(cutoff)]).count
            report.deletedSessions = try await tx.rows("""
                DELETE FROM verification_sessions WHERE expires_at <= ?
                  AND NOT EXISTS (SELECT 1 FROM access_tokens t WHERE t.session_serial = verification_sessions.session_serial)
                  AND NOT EXISTS (SELECT 1 FROM authorization_codes k WHERE k.session_serial = verification_sessions.session_serial)
                RETURNING 1
                """, [.date(cutoff)]).count
            try await tx.rows("DELETE FROM seen_jwt_ids WHERE expires_at <= ?", [.date(cutoff)])
            try await tx.rows("DELETE FROM attestations WHERE expires_at <= ?", [.date(cutoff)])
            report.deletedPushedRequests = try await tx.rows("""
                DELETE FROM pushed_authorization_requests WHERE expires_at <= ? RETURNING 1
                """, [.date(cutoff)]).count
            return report
        }
    }

    package func recordOnce(_ key: Data, expiresAt: Date, now: Date) async throws -> Bool {
        try await !db.rows("""
            INSERT INTO seen_jwt_ids (key_hash, expires_at) VALUES (?, ?)
            ON CONFLICT (key_hash) DO UPDATE SET expires_at = excluded.expires_at WHERE seen_jwt_ids.expires_at <= ?
            RETURNING 1
            """, [.blob(key), .date(expiresAt), .date(now)]).isEmpty
    }

    package func recordAttestation(_ attestation: NewAttestation) async throws -> Int64 {
        guard let index = try await db.rows("""
            INSERT INTO attestations (attestation_id, session_id, client_id, issued_at, expires_at) VALUES (?, ?, ?, ?, ?)
            RETURNING status_index
            """, [.text(attestation.id), .text(attestation.sessionID), .text(attestation.clientID), .date(attestation.issuedAt),
                  .date(attestation.expiresAt)]).first?.int("status_index") else { throw NoRowReturned(table: "attestations") }
        return index
    }

    package func revokeAttestations(id: String, at: Date) async throws -> Int {
        try await db.rows("""
            UPDATE attestations SET revoked_at = ?1 WHERE (attestation_id = ?2 OR session_id = ?2) AND revoked_at IS NULL RETURNING 1
            """, [.date(at), .text(id)]).count
    }

    package func attestationStatuses() async throws -> AttestationStatuses {
        var statuses = AttestationStatuses(highestIndex: 0, revoked: [])
        for row in try await db.rows("""
            SELECT status_index, revoked_at IS NOT NULL AS revoked FROM attestations
            WHERE revoked_at IS NOT NULL OR status_index = (SELECT max(status_index) FROM attestations)
            """) {
            guard let index = row.int("status_index") else { continue }
            statuses.highestIndex = max(statuses.highestIndex, index)
            if row.int("revoked") == 1 { statuses.revoked.insert(index) }
        }
        return statuses
    }

    package func storePushedRequest(_ request: PushedAuthorizationRequest) async throws -> Bool {
        try await !db.rows("""
            INSERT INTO pushed_authorization_requests (request_hash, client_serial, parameters, created_at, expires_at)
            SELECT ?, client_serial, ?, ?, ? FROM clients WHERE client_id = ? RETURNING 1
            """, [.blob(request.handleHash), .text(request.parameters), .date(request.createdAt), .date(request.expiresAt),
                  .text(request.clientID)]).isEmpty
    }

    package func takePushedRequest(handleHash: Data) async throws -> PushedAuthorizationRequest? {
        try await db.rows("""
            DELETE FROM pushed_authorization_requests WHERE request_hash = ?
            RETURNING parameters, created_at, expires_at,
              (SELECT client_id FROM clients c WHERE c.client_serial = pushed_authorization_requests.client_serial) AS client_id
            """, [.blob(handleHash)]).first.map { row in
            PushedAuthorizationRequest(handleHash: handleHash, clientID: row.string("client_id") ?? "", parameters: row.string("parameters") ?? "",
                                       createdAt: row.date("created_at") ?? .distantPast, expiresAt: row.date("expires_at") ?? .distantPast)
        }
    }

    package func eraseClaims(sessionID: String, keepingSubject subject: String?, at: Date) async throws -> Bool {
        try await !db.rows("""
            UPDATE verification_sessions SET claims = '{}', claims_erased_at = ?, claims_subject = ?
            WHERE session_id = ? AND claims IS NOT NULL AND claims_erased_at IS NULL RETURNING 1
            """, [.date(at), .text(subject), .text(sessionID)]).isEmpty
    }

    package func eraseClaims(verifiedBefore: Date?, unreachableAt now: Date) async throws -> Int {
        try await db.rows("""
            UPDATE verification_sessions SET claims = '{}', claims_erased_at = ?1
            WHERE claims_erased_at IS NULL AND claims IS NOT NULL
              AND (verified_at <= ?2
                OR (expires_at <= ?1
                  AND NOT EXISTS (SELECT 1 FROM authorization_codes k WHERE k.session_serial = verification_sessions.session_serial
                                  AND k.used_at IS NULL AND k.expires_at > ?1)
                  AND NOT EXISTS (SELECT 1 FROM access_tokens t WHERE t.session_serial = verification_sessions.session_serial
                                  AND t.revoked_at IS NULL AND t.expires_at > ?1)))
            RETURNING 1
            """, [.date(now), verifiedBefore.map(SQLiteData.date) ?? .null]).count
    }

    package func purgeClient(id clientID: String, at: Date) async throws -> PurgeReport? {
        try await db.transaction { tx in
            guard let serial = try await tx.rows("SELECT client_serial FROM clients WHERE client_id = ?", [.text(clientID)])
                .first?.int("client_serial") else { return nil }
            var report = PurgeReport()
            report.erasedClaims = try await tx.rows("""
                UPDATE verification_sessions SET claims = '{}', claims_erased_at = ?
                WHERE client_serial = ? AND claims IS NOT NULL AND claims_erased_at IS NULL RETURNING 1
                """, [.date(at), .integer(Int(serial))]).count
            // Their codes and tokens go by ON DELETE CASCADE.
            report.deletedSessions = try await tx.rows("""
                DELETE FROM verification_sessions
                WHERE client_serial = ? AND status IN ('failed', 'completed', 'expired') RETURNING 1
                """, [.integer(Int(serial))]).count
            return report
        }
    }
}
