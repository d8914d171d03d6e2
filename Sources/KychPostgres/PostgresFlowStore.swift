import Foundation
import KychCore
import Logging
import PostgresNIO

/// ``FlowStore`` on PostgreSQL: each transition is one conditional statement.
public struct PostgresFlowStore: FlowStore {
    let client: PostgresClient
    let logger: Logger

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    static let sessionColumns = """
        s.session_serial, c.client_id, s.session_id, s.nonce, s.status, s.redirect_uri, s.state, s.scope,
        s.browser_binding_hash, s.verification_id, s.request_nonce, s.verification_url, s.verification_deeplink,
        s.last_checked_at, s.claims::text, s.credential_vct, s.credential_issuer, s.failure_kind, s.failure_code,
        s.failure_description, s.created_at, s.expires_at, s.finished_at
        """
    static let sessionFrom = "oauth2gw.verification_sessions s JOIN oauth2gw.clients c ON c.client_serial = s.client_serial"

    static func decodeSession(_ row: PostgresRow) throws -> VerificationSession {
        let r = row.makeRandomAccess()
        var verification: VerifierVerification?
        if let id = try r[9].decode(String?.self) {
            verification = VerifierVerification(id: id, requestNonce: try r[10].decode(String?.self),
                                                verificationURL: try r[11].decode(String?.self) ?? "",
                                                deeplink: try r[12].decode(String?.self) ?? "")
        }
        var claims: [String: JSON]?
        if let text = try r[14].decode(String?.self) { claims = try JSON.parse(Data(text.utf8)).objectValue }
        var failure: SessionFailure?
        if let kind = try r[17].decode(String?.self).flatMap(FailureKind.init(rawValue:)) {
            failure = SessionFailure(kind: kind, code: try r[18].decode(String?.self), description: try r[19].decode(String?.self))
        }
        return VerificationSession(
            serial: try r[0].decode(Int64.self), clientID: try r[1].decode(String.self), sessionID: try r[2].decode(String.self),
            nonce: try r[3].decode(String.self), status: SessionStatus(rawValue: try r[4].decode(String.self)) ?? .failed,
            redirectURI: try r[5].decode(String?.self), state: try r[6].decode(String?.self), scope: try r[7].decode([String]?.self),
            browserBindingHash: try r[8].decode(Data?.self), verification: verification,
            lastCheckedAt: try r[13].decode(Date?.self), claims: claims,
            credentialVCT: try r[15].decode(String?.self), credentialIssuer: try r[16].decode(String?.self), failure: failure,
            createdAt: try r[20].decode(Date.self), expiresAt: try r[21].decode(Date.self), finishedAt: try r[22].decode(Date?.self))
    }

    private func firstSession(_ query: PostgresQuery) async throws -> VerificationSession? {
        for try await row in try await client.query(query, logger: logger) { return try Self.decodeSession(row) }
        return nil
    }

    private func exists(_ query: PostgresQuery) async throws -> Bool {
        for try await _ in try await client.query(query, logger: logger) { return true }
        return false
    }

    private static func statuses(_ event: SessionEvent) -> [String] { event.from.map(\.rawValue).sorted() }

    public func createSession(clientID: String, sessionID: String, nonce: String, expiresAt: Date) async throws -> Bool {
        try await exists("""
            INSERT INTO oauth2gw.verification_sessions (client_serial, session_id, nonce, expires_at)
            SELECT client_serial, \(sessionID), \(nonce), \(expiresAt) FROM oauth2gw.clients WHERE client_id = \(clientID)
            RETURNING 1
            """)
    }

    public func session(nonce: String) async throws -> VerificationSession? {
        try await firstSession("SELECT \(unescaped: Self.sessionColumns) FROM \(unescaped: Self.sessionFrom) WHERE s.nonce = \(nonce)")
    }

    public func session(verificationID: String) async throws -> VerificationSession? {
        try await firstSession("SELECT \(unescaped: Self.sessionColumns) FROM \(unescaped: Self.sessionFrom) WHERE s.verification_id = \(verificationID)")
    }

    public func recordAuthorization(nonce: String, request: AuthorizationRequestRecord,
                                    verification: VerifierVerification) async throws -> VerificationSession? {
        let from = Self.statuses(.verificationCreated), to = SessionEvent.verificationCreated.to.rawValue
        _ = try await exists("""
            UPDATE oauth2gw.verification_sessions SET status = \(to), redirect_uri = \(request.redirectURI),
              state = \(request.state), scope = \(request.scope), browser_binding_hash = \(request.browserBindingHash),
              verification_id = \(verification.id), request_nonce = \(verification.requestNonce),
              verification_url = \(verification.verificationURL), verification_deeplink = \(verification.deeplink),
              authorized_at = now(), last_checked_at = now()
            WHERE nonce = \(nonce) AND status = ANY(\(from)) AND verification_id IS NULL AND expires_at > now()
            RETURNING 1
            """)
        return try await session(nonce: nonce)
    }

    public func claimVerifierCheck(verificationID: String, interval: TimeInterval) async throws -> Bool {
        try await exists("""
            UPDATE oauth2gw.verification_sessions SET last_checked_at = now()
            WHERE verification_id = \(verificationID) AND status = 'authorized'
              AND (last_checked_at IS NULL OR last_checked_at < now() - make_interval(secs => \(interval)))
            RETURNING 1
            """)
    }

    public func applyOutcome(verificationID: String, outcome: VerifierOutcome) async throws -> SessionStatus? {
        let query: PostgresQuery
        switch outcome {
        case .pending:
            return nil
        case .success(let credential):
            let from = Self.statuses(.verifierSucceeded), to = SessionEvent.verifierSucceeded.to.rawValue
            let claims = JSON.object(credential.claims).serialized()
            query = """
                UPDATE oauth2gw.verification_sessions SET status = \(to), claims = \(claims)::jsonb,
                  credential_vct = \(credential.vct), credential_issuer = \(credential.issuer), verified_at = now(),
                  expires_at = greatest(expires_at, now() + interval '10 minutes')
                WHERE verification_id = \(verificationID) AND status = ANY(\(from)) RETURNING status
                """
        case .failed(let code, let description):
            let from = Self.statuses(.verifierFailed), to = SessionEvent.verifierFailed.to.rawValue
            let kind = FailureKind(errorCode: code).rawValue
            query = """
                UPDATE oauth2gw.verification_sessions SET status = \(to), failure_kind = \(kind),
                  failure_code = \(code), failure_description = \(description), finished_at = now()
                WHERE verification_id = \(verificationID) AND status = ANY(\(from)) RETURNING status
                """
        case .notFound:
            let from = Self.statuses(.verificationVanished), to = SessionEvent.verificationVanished.to.rawValue
            query = """
                UPDATE oauth2gw.verification_sessions SET status = \(to), finished_at = now()
                WHERE verification_id = \(verificationID) AND status = ANY(\(from)) RETURNING status
                """
        }
        for try await status in try await client.query(query, logger: logger).decode(String.self) {
            return SessionStatus(rawValue: status)
        }
        return nil
    }

    public func issueCode(verificationID: String, browserBindingHash: Data?, codeHash: Data, expiresAt: Date) async throws -> CodeIssueResult {
        let from = Self.statuses(.codeIssued), to = SessionEvent.codeIssued.to.rawValue
        let issued = try await exists("""
            WITH s AS (
              UPDATE oauth2gw.verification_sessions SET status = \(to), finished_at = now()
              WHERE verification_id = \(verificationID) AND status = ANY(\(from))
                AND (browser_binding_hash IS NULL OR browser_binding_hash = \(browserBindingHash))
              RETURNING session_serial, client_serial, redirect_uri)
            INSERT INTO oauth2gw.authorization_codes (client_serial, session_serial, code_hash, redirect_uri, expires_at)
            SELECT client_serial, session_serial, \(codeHash), redirect_uri, \(expiresAt) FROM s
            RETURNING 1
            """)
        guard let session = try await session(verificationID: verificationID) else { return .unknown }
        return issued ? .issued(session) : .refused(session)
    }

    public func redeemCode(codeHash: Data, clientID: String, redirectURI: String, tokenHash: Data,
                           tokenExpiresAt: Date) async throws -> CodeRedemption {
        let issued = try await exists("""
            WITH used AS (
              UPDATE oauth2gw.authorization_codes k SET used_at = now()
              FROM oauth2gw.clients c
              WHERE k.code_hash = \(codeHash) AND k.used_at IS NULL AND k.expires_at > now()
                AND c.client_serial = k.client_serial AND c.client_id = \(clientID) AND k.redirect_uri = \(redirectURI)
              RETURNING k.code_serial, k.session_serial, k.client_serial)
            INSERT INTO oauth2gw.access_tokens (client_serial, session_serial, code_serial, token_hash, expires_at)
            SELECT client_serial, session_serial, code_serial, \(tokenHash), \(tokenExpiresAt) FROM used
            RETURNING 1
            """)
        if issued { return .issued }
        let rows = try await client.query("""
            SELECT k.code_serial, k.used_at IS NOT NULL, k.expires_at <= now(), c.client_id, k.redirect_uri
            FROM oauth2gw.authorization_codes k JOIN oauth2gw.clients c ON c.client_serial = k.client_serial
            WHERE k.code_hash = \(codeHash)
            """, logger: logger)
        for try await (serial, used, expired, owner, redirect) in rows.decode((Int64, Bool, Bool, String, String).self) {
            if used {
                try await client.query("""
                    UPDATE oauth2gw.access_tokens SET revoked_at = now() WHERE code_serial = \(serial) AND revoked_at IS NULL
                    """, logger: logger)
                return .replayed
            }
            if expired { return .expired }
            if owner != clientID { return .otherClient }
            if redirect != redirectURI { return .redirectMismatch }
            return .unknownCode   // lost a race with a concurrent redemption of the same code
        }
        return .unknownCode
    }

    public func tokenGrant(tokenHash: Data) async throws -> TokenGrant? {
        let rows = try await client.query("""
            SELECT s.session_id, c.client_id, s.claims::text, s.credential_vct, s.credential_issuer, s.verified_at
            FROM oauth2gw.access_tokens t
            JOIN oauth2gw.verification_sessions s ON s.session_serial = t.session_serial
            JOIN oauth2gw.clients c ON c.client_serial = t.client_serial
            WHERE t.token_hash = \(tokenHash) AND t.revoked_at IS NULL AND t.expires_at > now()
            """, logger: logger)
        for try await (sessionID, clientID, claims, vct, issuer, verifiedAt)
            in rows.decode((String, String, String?, String?, String?, Date?).self) {
            let object = try claims.map { try JSON.parse(Data($0.utf8)).objectValue ?? [:] } ?? [:]
            return TokenGrant(sessionID: sessionID, clientID: clientID, claims: object, vct: vct, issuer: issuer, verifiedAt: verifiedAt)
        }
        return nil
    }

    public func purge(retention: TimeInterval) async throws -> PurgeReport {
        let from = Self.statuses(.timedOut), to = SessionEvent.timedOut.to.rawValue
        return try await client.withTransaction(logger: logger) { c in
            var report = PurgeReport()
            func count(_ q: PostgresQuery) async throws -> Int {
                var n = 0
                for try await _ in try await c.query(q, logger: logger) { n += 1 }
                return n
            }
            report.expiredSessions = try await count("""
                UPDATE oauth2gw.verification_sessions SET status = \(to), finished_at = now()
                WHERE status = ANY(\(from)) AND expires_at <= now() RETURNING 1
                """)
            report.deletedTokens = try await count("""
                DELETE FROM oauth2gw.access_tokens WHERE expires_at <= now() - make_interval(secs => \(retention)) RETURNING 1
                """)
            report.deletedCodes = try await count("""
                DELETE FROM oauth2gw.authorization_codes k WHERE k.expires_at <= now() - make_interval(secs => \(retention))
                  AND NOT EXISTS (SELECT 1 FROM oauth2gw.access_tokens t WHERE t.code_serial = k.code_serial)
                RETURNING 1
                """)
            report.deletedSessions = try await count("""
                DELETE FROM oauth2gw.verification_sessions s WHERE s.expires_at <= now() - make_interval(secs => \(retention))
                  AND NOT EXISTS (SELECT 1 FROM oauth2gw.access_tokens t WHERE t.session_serial = s.session_serial)
                  AND NOT EXISTS (SELECT 1 FROM oauth2gw.authorization_codes k WHERE k.session_serial = s.session_serial)
                RETURNING 1
                """)
            return report
        }
    }
}
