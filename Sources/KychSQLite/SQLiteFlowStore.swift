import Foundation
import KychCore
import SQLiteNIO

/// ``FlowStore`` on the embedded SQLite database. Every change is one statement or one transaction on the
/// process's single, serialised connection, with the same conditions as the PostgreSQL store.
public struct SQLiteFlowStore: FlowStore {
    let db: SQLiteDatabase

    public init(db: SQLiteDatabase) {
        self.db = db
    }

    static let sessionSelect = """
        SELECT s.*, c.client_id FROM verification_sessions s JOIN clients c ON c.client_serial = s.client_serial
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
        return VerificationSession(
            serial: row.int("session_serial") ?? 0, clientID: row.string("client_id") ?? "", sessionID: row.string("session_id") ?? "",
            nonce: row.string("nonce") ?? "", status: row.string("status").flatMap(SessionStatus.init(rawValue:)) ?? .failed,
            redirectURI: row.string("redirect_uri"), state: row.string("state"), scope: row.strings("scope"),
            browserBindingHash: row.data("browser_binding_hash"), verification: verification,
            lastCheckedAt: row.date("last_checked_at"),
            claims: try row.string("claims").map { try JSON.parse(Data($0.utf8)).objectValue ?? [:] },
            credentialVCT: row.string("credential_vct"), credentialIssuer: row.string("credential_issuer"), failure: failure,
            createdAt: row.date("created_at") ?? Date(), expiresAt: row.date("expires_at") ?? Date(), finishedAt: row.date("finished_at"))
    }

    /// `status IN (?, …)` for the states `event` may leave, and the binds for it.
    private static func from(_ event: SessionEvent) -> (String, [SQLiteData]) {
        let states = event.from.map(\.rawValue).sorted()
        return ("status IN (" + states.map { _ in "?" }.joined(separator: ", ") + ")", states.map { .text($0) })
    }

    public func createSession(clientID: String, sessionID: String, nonce: String, expiresAt: Date) async throws -> Bool {
        try await !db.rows("""
            INSERT INTO verification_sessions (client_serial, session_id, nonce, created_at, expires_at)
            SELECT client_serial, ?, ?, ?, ? FROM clients WHERE client_id = ? RETURNING 1
            """, [.text(sessionID), .text(nonce), .date(Date()), .date(expiresAt), .text(clientID)]).isEmpty
    }

    public func session(nonce: String) async throws -> VerificationSession? {
        try await db.rows(Self.sessionSelect + " WHERE s.nonce = ?", [.text(nonce)]).first.map(Self.decodeSession)
    }

    public func session(verificationID: String) async throws -> VerificationSession? {
        try await db.rows(Self.sessionSelect + " WHERE s.verification_id = ?", [.text(verificationID)]).first.map(Self.decodeSession)
    }

    public func recordAuthorization(nonce: String, request: AuthorizationRequestRecord,
                                    verification: VerifierVerification) async throws -> VerificationSession? {
        let (condition, states) = Self.from(.verificationCreated)
        let now = Date()
        try await db.rows("""
            UPDATE verification_sessions SET status = ?, redirect_uri = ?, state = ?, scope = ?, browser_binding_hash = ?,
              verification_id = ?, request_nonce = ?, verification_url = ?, verification_deeplink = ?,
              authorized_at = ?, last_checked_at = ?
            WHERE nonce = ? AND \(condition) AND verification_id IS NULL AND expires_at > ?
            """, [.text(SessionEvent.verificationCreated.to.rawValue), .text(request.redirectURI), .text(request.state),
                  .list(request.scope), .blob(request.browserBindingHash), .text(verification.id), .text(verification.requestNonce),
                  .text(verification.verificationURL), .text(verification.deeplink), .date(now), .date(now), .text(nonce)]
                + states + [.date(now)])
        return try await session(nonce: nonce)
    }

    public func claimVerifierCheck(verificationID: String, interval: TimeInterval) async throws -> Bool {
        let now = Date()
        return try await !db.rows("""
            UPDATE verification_sessions SET last_checked_at = ?
            WHERE verification_id = ? AND status = 'authorized' AND (last_checked_at IS NULL OR last_checked_at < ?)
            RETURNING 1
            """, [.date(now), .text(verificationID), .date(now.addingTimeInterval(-interval))]).isEmpty
    }

    public func applyOutcome(verificationID: String, outcome: VerifierOutcome) async throws -> SessionStatus? {
        let now = Date()
        let event: SessionEvent, assignments: String, values: [SQLiteData]
        switch outcome {
        case .pending:
            return nil
        case .success(let credential):
            event = .verifierSucceeded
            assignments = "claims = ?, credential_vct = ?, credential_issuer = ?, verified_at = ?, expires_at = max(expires_at, ?)"
            values = [.text(JSON.object(credential.claims).serialized()), .text(credential.vct), .text(credential.issuer),
                      .date(now), .date(now.addingTimeInterval(600))]
        case .failed(let code, let description):
            event = .verifierFailed
            assignments = "failure_kind = ?, failure_code = ?, failure_description = ?, finished_at = ?"
            values = [.text(FailureKind(errorCode: code).rawValue), .text(code), .text(description), .date(now)]
        case .notFound:
            event = .verificationVanished
            assignments = "finished_at = ?"
            values = [.date(now)]
        }
        let (condition, states) = Self.from(event)
        let rows = try await db.rows("""
            UPDATE verification_sessions SET status = ?, \(assignments) WHERE verification_id = ? AND \(condition) RETURNING status
            """, [.text(event.to.rawValue)] + values + [.text(verificationID)] + states)
        return rows.first?.string("status").flatMap(SessionStatus.init(rawValue:))
    }

    public func issueCode(verificationID: String, browserBindingHash: Data?, codeHash: Data, expiresAt: Date) async throws -> CodeIssueResult {
        let (condition, states) = Self.from(.codeIssued)
        let now = Date()
        let issued = try await db.transaction { tx in
            let rows = try await tx.rows("""
                UPDATE verification_sessions SET status = ?, finished_at = ?
                WHERE verification_id = ? AND \(condition) AND (browser_binding_hash IS NULL OR browser_binding_hash = ?)
                RETURNING session_serial, client_serial, redirect_uri
                """, [.text(SessionEvent.codeIssued.to.rawValue), .date(now), .text(verificationID)] + states + [.blob(browserBindingHash)])
            guard let row = rows.first else { return false }
            try await tx.rows("""
                INSERT INTO authorization_codes (client_serial, session_serial, code_hash, redirect_uri, created_at, expires_at)
                VALUES (?, ?, ?, ?, ?, ?)
                """, [row.column("client_serial") ?? .null, row.column("session_serial") ?? .null, .blob(codeHash),
                      .text(row.string("redirect_uri")), .date(now), .date(expiresAt)])
            return true
        }
        guard let session = try await session(verificationID: verificationID) else { return .unknown }
        return issued ? .issued(session) : .refused(session)
    }

    public func redeemCode(codeHash: Data, clientID: String, redirectURI: String, tokenHash: Data,
                           tokenExpiresAt: Date) async throws -> CodeRedemption {
        let now = Date()
        return try await db.transaction { tx in
            let rows = try await tx.rows("""
                SELECT k.code_serial, k.session_serial, k.client_serial, k.used_at, k.expires_at, k.redirect_uri, c.client_id
                FROM authorization_codes k JOIN clients c ON c.client_serial = k.client_serial WHERE k.code_hash = ?
                """, [.blob(codeHash)])
            guard let code = rows.first, let serial = code.column("code_serial") else { return .unknownCode }
            if code.date("used_at") != nil {
                try await tx.rows("UPDATE access_tokens SET revoked_at = ? WHERE code_serial = ? AND revoked_at IS NULL", [.date(now), serial])
                return .replayed
            }
            if (code.date("expires_at") ?? now) <= now { return .expired }
            if code.string("client_id") != clientID { return .otherClient }
            if code.string("redirect_uri") != redirectURI { return .redirectMismatch }
            try await tx.rows("UPDATE authorization_codes SET used_at = ? WHERE code_serial = ?", [.date(now), serial])
            try await tx.rows("""
                INSERT INTO access_tokens (client_serial, session_serial, code_serial, token_hash, created_at, expires_at)
                VALUES (?, ?, ?, ?, ?, ?)
                """, [code.column("client_serial") ?? .null, code.column("session_serial") ?? .null, serial, .blob(tokenHash),
                      .date(now), .date(tokenExpiresAt)])
            return .issued
        }
    }

    public func tokenGrant(tokenHash: Data) async throws -> TokenGrant? {
        let rows = try await db.rows("""
            SELECT s.session_id, c.client_id, s.claims, s.credential_vct, s.credential_issuer, s.verified_at
            FROM access_tokens t JOIN verification_sessions s ON s.session_serial = t.session_serial
            JOIN clients c ON c.client_serial = t.client_serial
            WHERE t.token_hash = ? AND t.revoked_at IS NULL AND t.expires_at > ?
            """, [.blob(tokenHash), .date(Date())])
        guard let row = rows.first else { return nil }
        let claims = try row.string("claims").map { try JSON.parse(Data($0.utf8)).objectValue ?? [:] } ?? [:]
        return TokenGrant(sessionID: row.string("session_id") ?? "", clientID: row.string("client_id") ?? "", claims: claims,
                          vct: row.string("credential_vct"), issuer: row.string("credential_issuer"), verifiedAt: row.date("verified_at"))
    }

    public func purge(retention: TimeInterval) async throws -> PurgeReport {
        let now = Date(), cutoff = Date().addingTimeInterval(-retention)
        let (condition, states) = Self.from(.timedOut)
        return try await db.transaction { tx in
            var report = PurgeReport()
            report.expiredSessions = try await tx.rows("""
                UPDATE verification_sessions SET status = ?, finished_at = ? WHERE \(condition) AND expires_at <= ? RETURNING 1
                """, [.text(SessionEvent.timedOut.to.rawValue), .date(now)] + states + [.date(now)]).count
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
            return report
        }
    }
}
