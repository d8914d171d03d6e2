import Foundation
import KychCore
import KychSDJWT
import KychVerifierModel
import SQLiteNIO

/// ``VerificationStore`` on the embedded SQLite database (tables `verifier_verifications` and
/// `verifier_webhook_events`). Every transition is one conditional statement or one transaction on the
/// process's single, serialised connection (and SQLite's write lock between processes), so it is
/// atomic as on PostgreSQL.
package struct SQLiteVerificationStore: VerificationStore {
    let db: SQLiteDatabase
    /// Seals the response-encryption keys (``StoredVerification/encryptionKeyColumns(of:sealing:)``).
    let sealing: SecretSealing

    package init(db: SQLiteDatabase, sealing: SecretSealing) {
        self.db = db
        self.sealing = sealing
    }

    package func create(_ v: Verification) async throws {
        let (key, keyID) = try StoredVerification.encryptionKeyColumns(of: v, sealing: sealing)
        try await db.rows("""
            INSERT INTO verifier_verifications (verification_id, request_nonce, oauth_state, status, response_mode,
              dcql_query, accepted_issuer_dids, encryption_key, encryption_key_id, created_at, expires_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, [.text(v.id), .text(v.requestNonce), .text(v.state), .text(v.status.rawValue), .text(v.request.responseMode.rawValue),
                  .text(JSONText.string(v.request.query.json)), .list(v.request.acceptedIssuerDIDs),
                  .blob(key), .text(keyID),
                  .date(v.createdAt), .date(v.expiresAt)])
    }

    package func verification(id: String) async throws -> Verification? {
        guard let row = try await db.rows("SELECT * FROM verifier_verifications WHERE verification_id = ?", [.text(id)]).first else {
            return nil
        }
        return try StoredVerification(
            id: row.string("verification_id") ?? id, requestNonce: row.string("request_nonce") ?? "",
            state: row.string("oauth_state") ?? "", status: row.string("status") ?? "", responseMode: row.string("response_mode") ?? "",
            dcqlQuery: row.string("dcql_query") ?? "", acceptedIssuerDIDs: row.strings("accepted_issuer_dids") ?? [],
            encryptionKey: row.data("encryption_key"), encryptionKeyID: row.string("encryption_key_id"),
            errorCode: row.string("error_code"), errorDescription: row.string("error_description"),
            credentialSubjectData: row.string("credential_subject_data"),
            createdAt: row.date("created_at") ?? Date(), expiresAt: row.date("expires_at") ?? Date(),
            claimCount: Int(row.int("claim_count") ?? 0), claimedUntil: row.date("claimed_until"),
            credentialIssuerDIDs: row.string("credential_issuer_dids")
        ).decoded(sealing: sealing)
    }

    package func deleteIfExpired(id: String, now: Date) async throws -> Bool {
        try await !db.rows("DELETE FROM verifier_verifications WHERE verification_id = ? AND expires_at <= ? RETURNING 1",
                           [.text(id), .date(now)]).isEmpty
    }

    package func claim(_ v: Verification, leaseUntil: Date) async throws -> Int? {
        let rows = try await db.rows("""
            UPDATE verifier_verifications SET status = ?, claimed_until = ?, claim_count = claim_count + 1
            WHERE verification_id = ? AND status = ? AND claim_count = ? AND status IN (?, ?)
            RETURNING claim_count
            """, [.text(VerificationStatus.inProgress.rawValue), .date(leaseUntil), .text(v.id), .text(v.status.rawValue),
                  .integer(v.claimCount), .text(VerificationStatus.pending.rawValue), .text(VerificationStatus.inProgress.rawValue)])
        return rows.first?.int("claim_count").map(Int.init)
    }

    package func finish(id: String, claim: Int, status: VerificationStatus, outcome: VerificationOutcome,
                        eventLease: Duration?) async throws -> FinishedVerification {
        let data = outcome.credentialSubjectData.map(JSONText.string)
        let issuers = outcome.credentialIssuerDIDs.map(JSONText.string)
        return try await db.transaction { tx in
            let now = Date()
            let recorded = try await !tx.rows("""
                UPDATE verifier_verifications SET status = ?, error_code = ?, error_description = ?, credential_subject_data = ?,
                  credential_issuer_dids = ?, finished_at = ?
                WHERE verification_id = ? AND status = ? AND claim_count = ?
                RETURNING 1
                """, [.text(status.rawValue), .text(outcome.errorCode), .text(outcome.errorDescription), .text(data), .text(issuers),
                      .date(now), .text(id), .text(VerificationStatus.inProgress.rawValue), .integer(claim)]).isEmpty
            guard recorded, let eventLease else { return FinishedVerification(recorded: recorded) }
            let leasedUntil: SQLiteData = eventLease > .zero ? .date(now.addingTimeInterval(eventLease.seconds)) : .null
            let rows = try await tx.rows("""
                INSERT INTO verifier_webhook_events (verification_id, created_at, next_attempt_at) VALUES (?, ?, ?)
                RETURNING event_serial
                """, [.text(id), .date(now), leasedUntil])
            guard let serial = rows.first?.int("event_serial") else { return FinishedVerification(recorded: true) }
            return FinishedVerification(recorded: true, event: WebhookEvent(serial: serial, verificationID: id, createdAt: now, attempts: 0))
        }
    }

    package func enqueueEvent(verificationID: String) async throws {
        try await db.rows("""
            INSERT INTO verifier_webhook_events (verification_id, created_at)
            SELECT ?, ? WHERE NOT EXISTS (SELECT 1 FROM verifier_webhook_events WHERE verification_id = ?)
            """, [.text(verificationID), .date(Date()), .text(verificationID)])
    }

    package func leaseDueEvent(lease: Duration) async throws -> WebhookEvent? {
        let now = Date()
        let rows = try await db.rows("""
            UPDATE verifier_webhook_events SET next_attempt_at = ?
            WHERE event_serial = (
              SELECT event_serial FROM verifier_webhook_events
              WHERE next_attempt_at IS NULL OR next_attempt_at <= ?
              ORDER BY event_serial LIMIT 1)
            RETURNING event_serial, verification_id, created_at, attempts
            """, [.date(now.addingTimeInterval(lease.seconds)), .date(now)])
        guard let row = rows.first, let serial = row.int("event_serial"), let id = row.string("verification_id") else { return nil }
        return WebhookEvent(serial: serial, verificationID: id, createdAt: row.date("created_at") ?? now,
                            attempts: Int(row.int("attempts") ?? 0))
    }

    package func eventDelivered(_ event: WebhookEvent) async throws {
        try await db.rows("DELETE FROM verifier_webhook_events WHERE event_serial = ?", [.integer(Int(event.serial))])
    }

    package func pendingEventCount() async throws -> Int {
        try await db.rows("SELECT count(*) AS pending FROM verifier_webhook_events").first?.int("pending").map(Int.init) ?? 0
    }

    package func eventFailed(_ event: WebhookEvent, reason: String, retryAfter: Duration) async throws {
        try await db.rows("""
            UPDATE verifier_webhook_events SET next_attempt_at = ?, attempts = attempts + 1, last_error = ?
            WHERE event_serial = ?
            """, [.date(Date().addingTimeInterval(retryAfter.seconds)), .text(reason), .integer(Int(event.serial))])
    }

    package func purgeExpired(now: Date) async throws -> Int {
        try await db.rows("DELETE FROM verifier_verifications WHERE expires_at <= ? RETURNING 1", [.date(now)]).count
    }
}
