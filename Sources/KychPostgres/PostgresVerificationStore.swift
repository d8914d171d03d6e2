import Foundation
import KychCore
import KychSDJWT
import KychVerifierModel
import Logging
import PostgresNIO

/// ``VerificationStore`` on PostgreSQL (schema `verifier`, patches `verifier-0001` and `verifier-0002`).
package struct PostgresVerificationStore: VerificationStore {
    /// Each committed webhook event is announced on this channel (``PostgresOutboxNotifications``), with no payload.
    package static let outboxChannel = "kych_webhook"
    let client: PostgresPool
    /// Seals the response-encryption keys (``StoredVerification/encryptionKeyColumns(of:sealing:)``).
    let sealing: SecretSealing
    let logger: Logger

    package init(client: PostgresClient, sealing: SecretSealing, logger: Logger) {
        self.client = PostgresPool(client)
        self.sealing = sealing
        self.logger = logger
    }

    /// The statements of every wallet's answer, prepared once per pooled connection (``HotStatement``); each parameter
    /// is cast to the type its value is bound as, since a prepared statement's parameter types are PostgreSQL's guess.
    enum Create: HotStatement {
        static let name = "kych_verification_create"
        static let sql = """
            INSERT INTO verifier.verifications (verification_id, request_nonce, oauth_state, status, response_mode,
              dcql_query, accepted_issuer_dids, encryption_key, encryption_key_id, created_at, expires_at)
            VALUES ($1::text, $2::text, $3::text, $4::text, $5::text, $6::text::jsonb, $7::text[], $8::bytea, $9::text,
              $10::timestamptz, $11::timestamptz)
            """
    }
    enum ByID: HotStatement {
        static let name = "kych_verification_by_id"
        static let sql = """
            SELECT verification_id, request_nonce, oauth_state, status, response_mode, dcql_query::text, accepted_issuer_dids,
              encryption_key, encryption_key_id, error_code, error_description, credential_subject_data::text,
              created_at, expires_at, claim_count, claimed_until, credential_issuer_dids::text
            FROM verifier.verifications WHERE verification_id = $1::text
            """
    }
    enum Claim: HotStatement {
        static let name = "kych_verification_claim"
        static let sql = """
            UPDATE verifier.verifications SET status = $1::text, claimed_until = $2::timestamptz, claim_count = claim_count + 1
            WHERE verification_id = $3::text AND status = $4::text AND claim_count = $5::int4 AND status IN ($6::text, $7::text)
            RETURNING claim_count
            """
    }
    /// The result, its webhook event (when asked for and the result was recorded) and, for an event due at once, the
    /// notification, which goes out at the commit: one statement, so one round trip and one commit.
    enum Finish: HotStatement {
        static let name = "kych_verification_finish"
        static let sql = """
            WITH finished AS (
              UPDATE verifier.verifications SET status = $1::text, error_code = $2::text, error_description = $3::text,
                credential_subject_data = $4::text::jsonb, credential_issuer_dids = $5::text::jsonb, finished_at = now()
              WHERE verification_id = $6::text AND status = $7::text AND claim_count = $8::int4
              RETURNING verification_id),
            event AS (
              INSERT INTO verifier.webhook_events (verification_id, next_attempt_at)
              SELECT verification_id, CASE WHEN $10::float8 > 0 THEN now() + make_interval(secs => $10::float8) END
              FROM finished WHERE $9::boolean
              RETURNING event_serial, verification_id, created_at, attempts)
            SELECT event.event_serial, event.verification_id, event.created_at, event.attempts,
              (SELECT pg_notify($11::text, '') FROM event WHERE $10::float8 <= 0)::text
            FROM finished LEFT JOIN event ON true
            """
    }
    enum Delivered: HotStatement {
        static let name = "kych_webhook_event_delivered"
        static let sql = "DELETE FROM verifier.webhook_events WHERE event_serial = $1::int8"
    }

    package func create(_ v: Verification) async throws {
        let query = JSONText.string(v.request.query.json)
        let (key, keyID) = try StoredVerification.encryptionKeyColumns(of: v, sealing: sealing)
        try await client.rows(Create.self, """
            \(v.id)\(v.requestNonce)\(v.state)\(v.status.rawValue)\(v.request.responseMode.rawValue)\(query)\(v.request.acceptedIssuerDIDs)\
            \(key)\(keyID)\(v.createdAt)\(v.expiresAt)
            """, logger: logger)
    }

    package func verification(id: String) async throws -> Verification? {
        try await client.rows(ByID.self, "\(id)", logger: logger).first.map { try Self.decode($0, sealing: sealing) }
    }

    static func decode(_ row: PostgresRow, sealing: SecretSealing) throws -> Verification {
        let r = row.makeRandomAccess()
        return try StoredVerification(
            id: try r[0].decode(String.self), requestNonce: try r[1].decode(String.self), state: try r[2].decode(String.self),
            status: try r[3].decode(String.self), responseMode: try r[4].decode(String.self), dcqlQuery: try r[5].decode(String.self),
            acceptedIssuerDIDs: try r[6].decode([String].self), encryptionKey: try r[7].decode(Data?.self),
            encryptionKeyID: try r[8].decode(String?.self), errorCode: try r[9].decode(String?.self),
            errorDescription: try r[10].decode(String?.self), credentialSubjectData: try r[11].decode(String?.self),
            createdAt: try r[12].decode(Date.self), expiresAt: try r[13].decode(Date.self),
            claimCount: Int(try r[14].decode(Int32.self)), claimedUntil: try r[15].decode(Date?.self),
            credentialIssuerDIDs: try r[16].decode(String?.self)
        ).decoded(sealing: sealing)
    }

    package func deleteIfExpired(id: String, now: Date) async throws -> Bool {
        try await exists("DELETE FROM verifier.verifications WHERE verification_id = \(id) AND expires_at <= \(now) RETURNING 1")
    }

    package func claim(_ v: Verification, leaseUntil: Date) async throws -> Int? {
        let rows = try await client.rows(Claim.self, """
            \(VerificationStatus.inProgress.rawValue)\(leaseUntil)\(v.id)\(v.status.rawValue)\(Int32(clamping: v.claimCount))\
            \(VerificationStatus.pending.rawValue)\(VerificationStatus.inProgress.rawValue)
            """, logger: logger)
        return try rows.first.map { Int(try $0.decode(Int32.self)) }
    }

    package func finish(id: String, claim: Int, status: VerificationStatus, outcome: VerificationOutcome,
                        eventLease: Duration?) async throws -> FinishedVerification {
        let data = outcome.credentialSubjectData.map(JSONText.string)
        let issuers = outcome.credentialIssuerDIDs.map(JSONText.string)
        let rows = try await client.rows(Finish.self, """
            \(status.rawValue)\(outcome.errorCode)\(outcome.errorDescription)\(data)\(issuers)\
            \(id)\(VerificationStatus.inProgress.rawValue)\(Int32(clamping: claim))\(eventLease != nil)\(eventLease?.seconds ?? 0)\
            \(Self.outboxChannel)
            """, logger: logger)
        guard let row = rows.first else { return FinishedVerification(recorded: false) }
        let (serial, verificationID, created, attempts, _) = try row.decode((Int64?, String?, Date?, Int32?, String?).self)
        guard let serial, let verificationID, let created, let attempts else { return FinishedVerification(recorded: true) }
        return FinishedVerification(recorded: true, event: WebhookEvent(serial: serial, verificationID: verificationID,
                                                                       createdAt: created, attempts: Int(attempts)))
    }

    package func enqueueEvent(verificationID: String) async throws {
        for try await _ in try await client.query("""
            WITH event AS (
              INSERT INTO verifier.webhook_events (verification_id)
              SELECT \(verificationID) WHERE NOT EXISTS (
                SELECT 1 FROM verifier.webhook_events WHERE verification_id = \(verificationID))
              RETURNING 1)
            SELECT pg_notify(\(Self.outboxChannel), '') FROM event
            """, logger: logger) {}
    }

    package func leaseDueEvent(lease: Duration) async throws -> WebhookEvent? {
        let rows = try await client.query("""
            UPDATE verifier.webhook_events SET next_attempt_at = now() + make_interval(secs => \(lease.seconds))
            WHERE event_serial = (
              SELECT event_serial FROM verifier.webhook_events
              WHERE next_attempt_at IS NULL OR next_attempt_at <= now()
              ORDER BY event_serial LIMIT 1 FOR UPDATE SKIP LOCKED)
            RETURNING event_serial, verification_id, created_at, attempts
            """, logger: logger)
        for try await (serial, id, created, attempts) in rows.decode((Int64, String, Date, Int32).self) {
            return WebhookEvent(serial: serial, verificationID: id, createdAt: created, attempts: Int(attempts))
        }
        return nil
    }

    package func eventDelivered(_ event: WebhookEvent) async throws {
        try await client.rows(Delivered.self, "\(event.serial)", logger: logger)
    }

    package func pendingEventCount() async throws -> Int {
        let rows = try await client.query("SELECT count(*) FROM verifier.webhook_events", logger: logger)
        for try await count in rows.decode(Int64.self) { return Int(count) }
        return 0
    }

    package func eventFailed(_ event: WebhookEvent, reason: String, retryAfter: Duration) async throws {
        try await client.query("""
            UPDATE verifier.webhook_events SET next_attempt_at = now() + make_interval(secs => \(retryAfter.seconds)),
              attempts = attempts + 1, last_error = \(reason)
            WHERE event_serial = \(event.serial)
            """, logger: logger)
    }

    package func purgeExpired(now: Date) async throws -> Int {
        var count = 0
        for try await _ in try await client.query(
            "DELETE FROM verifier.verifications WHERE expires_at <= \(now) RETURNING 1", logger: logger) { count += 1 }
        return count
    }

    private func exists(_ query: PostgresQuery) async throws -> Bool {
        for try await _ in try await client.query(query, logger: logger) { return true }
        return false
    }
}
