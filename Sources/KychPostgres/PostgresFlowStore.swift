import Foundation
import KychCore
import KychOAuth
import Logging
import PostgresNIO

/// ``FlowStore`` on PostgreSQL: each primitive is one statement (or one transaction); the conditions
/// come from the caller, every timestamp from its clock.
package struct PostgresFlowStore: FlowStore {
    let client: PostgresPool
    let logger: Logger

    package init(client: PostgresClient, logger: Logger) {
        self.client = PostgresPool(client)
        self.logger = logger
    }

    static let sessionColumns = """
        s.session_serial, c.client_id, s.session_id, s.nonce, s.status, s.redirect_uri, s.state, s.scope,
        s.browser_binding_hash, s.verification_id, s.request_nonce, s.verification_url, s.verification_deeplink,
        s.last_checked_at, s.claims::text, s.credential_vct, s.credential_issuer, s.failure_kind, s.failure_code,
        s.failure_description, s.created_at, s.expires_at, s.finished_at, s.verified_at, s.code_challenge, s.openid, s.oidc_nonce,
        s.without_setup, s.dpop_jkt
        """
    static let sessionFrom = "oauth2gw.verification_sessions s JOIN oauth2gw.clients c ON c.client_serial = s.client_serial"

    /// `statement` (an `INSERT` or `UPDATE … RETURNING *` of sessions) as one statement that returns the written rows as
    /// ``decodeSession(_:)`` reads them, followed by `extra` columns.
    static func returningSessions(_ statement: String, extra: String = "") -> String {
        """
        WITH s AS (\(statement))
        SELECT \(sessionColumns)\(extra) FROM s JOIN oauth2gw.clients c ON c.client_serial = s.client_serial
        """
    }

    /// The SQL expression that announces the session row `alias` to every process's `/status` long polls.
    static func announcement(of alias: String) -> String {
        "pg_notify('\(PostgresSessionWakeups.channel)', \(alias).verification_id)"
    }

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
        var session = VerificationSession(
            serial: try r[0].decode(Int64.self), clientID: try r[1].decode(String.self), sessionID: try r[2].decode(String.self),
            nonce: try r[3].decode(String.self), status: SessionStatus(rawValue: try r[4].decode(String.self)) ?? .failed,
            redirectURI: try r[5].decode(String?.self), state: try r[6].decode(String?.self), scope: try r[7].decode([String]?.self),
            browserBindingHash: try r[8].decode(Data?.self), codeChallenge: try r[24].decode(String?.self), verification: verification,
            lastCheckedAt: try r[13].decode(Date?.self), claims: claims,
            credentialVCT: try r[15].decode(String?.self), credentialIssuer: try r[16].decode(String?.self), failure: failure,
            verifiedAt: try r[23].decode(Date?.self), createdAt: try r[20].decode(Date.self), expiresAt: try r[21].decode(Date.self),
            finishedAt: try r[22].decode(Date?.self))
        session.openid = try r[25].decode(Bool.self)
        session.oidcNonce = try r[26].decode(String?.self)
        session.withoutSetup = try r[27].decode(Bool.self)
        session.dpopJKT = try r[28].decode(String?.self)
        return session
    }

    private func firstSession(_ query: PostgresQuery) async throws -> VerificationSession? {
        for try await row in try await client.query(query, logger: logger) { return try Self.decodeSession(row) }
        return nil
    }

    private func exists(_ query: PostgresQuery) async throws -> Bool {
        for try await _ in try await client.query(query, logger: logger) { return true }
        return false
    }

    /// The `UPDATE` of a transition, one text for every event: a flag per group of columns (the request's, the
    /// verification's, the credential's, the failure's) sets the group's columns to its values, NULLs included, and a
    /// date is set only when given (`COALESCE`: a transition never clears one). So the statement for one session is
    /// prepared once per connection (``ApplyTransition``) however the events differ. Its values: ``transitionValues(_:)``
    /// ($1–$31), then the target's ($32: the serial or date of `target`, whose own value is not used here).
    static func transitionUpdate(_ target: SessionTarget, returning: String) -> String {
        let condition = switch target {
        case .session: "session_serial = $32::int8"
        case .expiredBy: "expires_at <= $32::timestamptz"
        case .idleWithoutSetup: "without_setup AND COALESCE(last_checked_at, created_at) <= $32::timestamptz"
        }
        func group(_ flag: Int, _ columns: [(String, String)]) -> [String] {
            columns.map { column, value in "\(column) = CASE WHEN $\(flag)::boolean THEN \(value) ELSE \(column) END" }
        }
        let set = ["status = $1::text"]
            + group(2, [("redirect_uri", "$3::text"), ("state", "$4::text"), ("scope", "$5::text[]"), ("browser_binding_hash", "$6::bytea"),
                        ("code_challenge", "$7::text"), ("code_challenge_method", "$8::text"), ("openid", "$9::boolean"),
                        ("oidc_nonce", "$10::text"), ("dpop_jkt", "$11::text")])
            + group(12, [("verification_id", "$13::text"), ("request_nonce", "$14::text"), ("verification_url", "$15::text"),
                         ("verification_deeplink", "$16::text")])
            + group(17, [("claims", "$18::text::jsonb"), ("credential_vct", "$19::text"), ("credential_issuer", "$20::text")])
            + group(21, [("failure_kind", "$22::text"), ("failure_code", "$23::text"), ("failure_description", "$24::text")])
            + zip(["expires_at", "authorized_at", "verified_at", "finished_at", "last_checked_at"], 25...29)
                .map { column, n in "\(column) = COALESCE($\(n)::timestamptz, \(column))" }
        return """
            UPDATE oauth2gw.verification_sessions SET \(set.joined(separator: ", "))
            WHERE \(condition) AND status = ANY($30::text[]) AND ($31::timestamptz IS NULL OR expires_at > $31::timestamptz)
            RETURNING \(returning)
            """
    }

    /// The values of ``transitionUpdate(_:returning:)`` for `transition` ($1–$31, a query of placeholders only).
    static func transitionValues(_ transition: SessionTransition) throws -> PostgresQuery {
        let c = transition.change, r = c.request, v = c.verification, f = c.failure
        let claims = c.credential.map { JSON.object($0.claims).serialized() }
        return try """
            \(transition.to.rawValue)\
            \(r != nil)\(r?.redirectURI)\(r?.state)\(r?.scope)\(r?.browserBindingHash)\(r?.codeChallenge)\
            \(r?.codeChallenge.map { _ in "S256" })\(r?.openid)\(r?.oidcNonce)\(r?.dpopJKT)\
            \(v != nil)\(v?.id)\(v?.requestNonce)\(v?.verificationURL)\(v?.deeplink)\
            \(c.credential != nil)\(claims)\(c.credential?.vct)\(c.credential?.issuer)\
            \(f != nil)\(f?.kind.rawValue)\(f?.code)\(f?.description)\
            \(c.expiresAt)\(c.authorizedAt)\(c.verifiedAt)\(c.finishedAt)\(c.lastCheckedAt)\
            \(transition.from.map(\.rawValue).sorted())\(transition.unexpiredAt)
            """
    }

    /// `transition` applied to `target` as an ad hoc statement (the purge's, not prepared), returning 1 per row.
    static func transition(_ transition: SessionTransition, _ target: SessionTarget) throws -> PostgresQuery {
        var values = try transitionValues(transition)
        switch target {
        case .session(let serial): try values.binds.append(serial)
        case .expiredBy(let date), .idleWithoutSetup(let date): try values.binds.append(date)
        }
        return PostgresQuery(unsafeSQL: transitionUpdate(target, returning: "1"), binds: values.binds)
    }

    /// A transition of one session, returning it as written, and announcing it when `$33` is set.
    enum ApplyTransition: HotStatement {
        static let name = "kych_apply_transition"
        static let sql = returningSessions(transitionUpdate(.session(0), returning: "*"),
                                           extra: ", CASE WHEN $33::boolean THEN \(announcement(of: "s"))::text END")
    }

    /// A transition of one session and the authorization code it issues, in one statement, so atomic without a
    /// transaction's three extra round trips: the code row exists iff the update applied, and only then is the change
    /// announced (when `$33` is set).
    enum ApplyTransitionIssuingCode: HotStatement {
        static let name = "kych_apply_transition_issuing_code"
        static let sql = """
            WITH s AS (\(transitionUpdate(.session(0), returning: "session_serial, client_serial, verification_id"))),
            k AS (
              INSERT INTO oauth2gw.authorization_codes (client_serial, session_serial, code_hash, redirect_uri, code_challenge,
                code_challenge_method, created_at, expires_at)
              SELECT client_serial, session_serial, $34::bytea, $35::text, $36::text, $37::text, $38::timestamptz, $39::timestamptz
              FROM s
              RETURNING 1)
            SELECT CASE WHEN $33::boolean THEN \(announcement(of: "s"))::text END FROM s, k
            """
    }

    package func createSession(_ new: NewSession) async throws -> VerificationSession? {
        try await client.rows(CreateSession.self, """
            \(new.sessionID)\(new.nonce)\(new.createdAt)\(new.expiresAt)\(new.withoutSetup)\(new.clientID)
            """, logger: logger).first.map(Self.decodeSession)
    }

    /// The statements of every flow with a fixed text, prepared once per pooled connection (``HotStatement``); each
    /// parameter is cast to the type its value is bound as, since a prepared statement's parameter types are
    /// PostgreSQL's guess. (The transitions' `SET` lists depend on the event: those are sent as they are.)
    enum CreateSession: HotStatement {
        static let name = "kych_create_session"
        static let sql = returningSessions("""
            INSERT INTO oauth2gw.verification_sessions (client_serial, session_id, nonce, created_at, expires_at, without_setup)
            SELECT client_serial, $1::text, $2::text, $3::timestamptz, $4::timestamptz, $5::boolean
            FROM oauth2gw.clients WHERE client_id = $6::text
            RETURNING *
            """)
    }
    enum RedeemCode: HotStatement {
        static let name = "kych_redeem_code"
        static let sql = """
            WITH used AS (
              UPDATE oauth2gw.authorization_codes SET used_at = $1::timestamptz
              WHERE code_serial = $2::int8 AND used_at IS NULL
              RETURNING code_serial, session_serial, client_serial)
            INSERT INTO oauth2gw.access_tokens (client_serial, session_serial, code_serial, token_hash, created_at, expires_at, dpop_jkt)
            SELECT client_serial, session_serial, code_serial, $3::bytea, $4::timestamptz, $5::timestamptz, $6::text
            FROM used
            RETURNING 1
            """
    }
    enum SessionByNonce: HotStatement {
        static let name = "kych_session_by_nonce"
        static let sql = "SELECT \(PostgresFlowStore.sessionColumns) FROM \(PostgresFlowStore.sessionFrom) WHERE s.nonce = $1"
    }
    enum SessionByVerification: HotStatement {
        static let name = "kych_session_by_verification"
        static let sql = "SELECT \(PostgresFlowStore.sessionColumns) FROM \(PostgresFlowStore.sessionFrom) WHERE s.verification_id = $1"
    }
    enum CodeByHash: HotStatement {
        static let name = "kych_code_by_hash"
        static let sql = """
            SELECT \(PostgresFlowStore.sessionColumns), k.code_serial, k.redirect_uri, k.code_challenge, k.expires_at, k.used_at
            FROM oauth2gw.authorization_codes k JOIN oauth2gw.verification_sessions s ON s.session_serial = k.session_serial
            JOIN oauth2gw.clients c ON c.client_serial = s.client_serial
            WHERE k.code_hash = $1
            """
    }
    enum TokenByHash: HotStatement {
        static let name = "kych_token_by_hash"
        static let sql = """
            SELECT s.session_id, c.client_id, s.scope, s.claims::text, s.credential_vct, s.credential_issuer, s.verified_at,
              t.created_at, t.expires_at, t.revoked_at, s.openid, s.oidc_nonce, s.claims_erased_at, s.claims_subject, t.dpop_jkt,
              t.code_serial IS NULL
            FROM oauth2gw.access_tokens t
            JOIN oauth2gw.verification_sessions s ON s.session_serial = t.session_serial
            JOIN oauth2gw.clients c ON c.client_serial = t.client_serial
            WHERE t.token_hash = $1
            """
    }

    /// The first row of the prepared `read` with the one value `key`.
    private func firstRow<Read: HotStatement>(_ read: Read.Type, _ key: some PostgresThrowingDynamicTypeEncodable) async throws -> PostgresRow? {
        try await client.rows(read, "\(key)", logger: logger).first
    }

    package func session(nonce: String) async throws -> VerificationSession? {
        try await firstRow(SessionByNonce.self, nonce).map(Self.decodeSession)
    }

    package func session(serial: Int64) async throws -> VerificationSession? {
        try await firstSession("SELECT \(unescaped: Self.sessionColumns) FROM \(unescaped: Self.sessionFrom) WHERE s.session_serial = \(serial)")
    }

    package func session(verificationID: String) async throws -> VerificationSession? {
        try await firstRow(SessionByVerification.self, verificationID).map(Self.decodeSession)
    }

    package func apply(_ transition: SessionTransition, toSession serial: Int64) async throws -> VerificationSession? {
        var values = try Self.transitionValues(transition)
        try values.binds.append(serial)
        try values.binds.append(transition.event.wakesPolls)
        return try await client.rows(ApplyTransition.self, values, logger: logger).first.map(Self.decodeSession)
    }

    package func claimVerifierCheck(session serial: Int64, status: SessionStatus, checkedBefore: Date, now: Date) async throws -> Bool {
        try await exists("""
            UPDATE oauth2gw.verification_sessions SET last_checked_at = \(now)
            WHERE session_serial = \(serial) AND status = \(status.rawValue)
              AND (last_checked_at IS NULL OR last_checked_at < \(checkedBefore))
            RETURNING 1
            """)
    }

    package func apply(_ transition: SessionTransition, toSession serial: Int64, issuing code: NewAuthorizationCode) async throws -> Bool {
        var values = try Self.transitionValues(transition)
        try values.binds.append(serial)
        try values.binds.append(transition.event.wakesPolls)
        try values.binds.append(code.codeHash)
        try values.binds.append(code.redirectURI)
        try values.binds.append(code.codeChallenge)
        try values.binds.append(code.codeChallenge.map { _ in "S256" })
        try values.binds.append(code.createdAt)
        try values.binds.append(code.expiresAt)
        return try await !client.rows(ApplyTransitionIssuingCode.self, values, logger: logger).isEmpty
    }

    package func authorizationCode(hash: Data) async throws -> StoredAuthorizationCode? {
        if let row = try await firstRow(CodeByHash.self, hash) {
            let session = try Self.decodeSession(row)
            let r = row.makeRandomAccess()
            return StoredAuthorizationCode(serial: try r[29].decode(Int64.self), session: session, clientID: session.clientID,
                                           redirectURI: try r[30].decode(String.self), codeChallenge: try r[31].decode(String?.self),
                                           expiresAt: try r[32].decode(Date.self), usedAt: try r[33].decode(Date?.self))
        }
        return nil
    }

    package func redeemCode(serial: Int64, usedAt: Date, issuing token: NewAccessToken) async throws -> Bool {
        try await !client.rows(RedeemCode.self, """
            \(usedAt)\(serial)\(token.tokenHash)\(token.createdAt)\(token.expiresAt)\(token.dpopJKT)
            """, logger: logger).isEmpty
    }

    package func storePresentedGrant(_ grant: PresentedGrant, issuing token: NewAccessToken) async throws -> Bool {
        let c = grant.credential
        return try await exists("""
            WITH s AS (
              INSERT INTO oauth2gw.verification_sessions (client_serial, session_id, nonce, status, scope, claims, credential_vct,
                credential_issuer, created_at, expires_at, verified_at, finished_at)
              SELECT client_serial, \(grant.sessionID), \(grant.nonce), 'completed', \(grant.scope),
                \(JSON.object(c.claims).serialized())::jsonb, \(c.vct), \(c.issuer), \(grant.verifiedAt), \(grant.expiresAt),
                \(grant.verifiedAt), \(grant.verifiedAt)
              FROM oauth2gw.clients WHERE client_id = \(grant.clientID)
              RETURNING session_serial, client_serial)
            INSERT INTO oauth2gw.access_tokens (client_serial, session_serial, token_hash, created_at, expires_at, dpop_jkt)
            SELECT client_serial, session_serial, \(token.tokenHash), \(token.createdAt), \(token.expiresAt), \(token.dpopJKT) FROM s
            RETURNING 1
            """)
    }

    package func revokeTokens(issuedFromCode serial: Int64, at: Date) async throws {
        try await client.query("""
            UPDATE oauth2gw.access_tokens SET revoked_at = \(at) WHERE code_serial = \(serial) AND revoked_at IS NULL
            """, logger: logger)
    }

    package func accessToken(hash: Data) async throws -> StoredAccessToken? {
        if let row = try await firstRow(TokenByHash.self, hash) {
            let (sessionID, clientID, scope, claims, vct, issuer, verifiedAt, createdAt, expiresAt, revokedAt) = try row.decode(
                (String, String, [String]?, String?, String?, String?, Date?, Date, Date, Date?).self)
            let r = row.makeRandomAccess()
            let object = try claims.map { try JSON.parse(Data($0.utf8)).objectValue ?? [:] } ?? [:]
            var token = StoredAccessToken(sessionID: sessionID, clientID: clientID, scope: scope ?? [], claims: object, vct: vct, issuer: issuer,
                                          verifiedAt: verifiedAt, createdAt: createdAt, expiresAt: expiresAt, revokedAt: revokedAt,
                                          openid: try r[10].decode(Bool.self), oidcNonce: try r[11].decode(String?.self),
                                          claimsErasedAt: try r[12].decode(Date?.self), claimsSubject: try r[13].decode(String?.self),
                                          dpopJKT: try r[14].decode(String?.self))
            token.presented = try r[15].decode(Bool.self)
            return token
        }
        return nil
    }

    package func serverSecret(named name: String, candidate: Data, at: Date) async throws -> Data {
        try await client.query("""
            INSERT INTO oauth2gw.server_secrets (name, value, created_at) VALUES (\(name), \(candidate), \(at))
            ON CONFLICT (name) DO NOTHING
            """, logger: logger)
        for try await value in try await client.query("SELECT value FROM oauth2gw.server_secrets WHERE name = \(name)", logger: logger)
            .decode(Data.self) { return value }
        throw MissingServerSecret(name: name)
    }

    package func revokeAccessToken(hash: Data, at: Date) async throws -> Bool {
        try await exists("""
            UPDATE oauth2gw.access_tokens SET revoked_at = \(at) WHERE token_hash = \(hash) AND revoked_at IS NULL RETURNING 1
            """)
    }

    package func applyToExpiredSessions(_ transition: SessionTransition, expiredBy: Date) async throws -> Int {
        var count = 0
        for try await _ in try await client.query(try Self.transition(transition, .expiredBy(expiredBy)), logger: logger) { count += 1 }
        return count
    }

    package func applyToIdleSessionsWithoutSetup(_ transition: SessionTransition, idleSince: Date) async throws -> Int {
        var count = 0
        for try await _ in try await client.query(try Self.transition(transition, .idleWithoutSetup(idleSince)), logger: logger) { count += 1 }
        return count
    }

    package func countSessionsWithoutSetup(clientID: String, statuses: Set<SessionStatus>, expiringAfter: Date, limit: Int) async throws -> Int {
        let rows = try await client.query("""
            SELECT count(*) FROM (
              SELECT 1 FROM oauth2gw.verification_sessions s
              WHERE s.client_serial = (SELECT client_serial FROM oauth2gw.clients WHERE client_id = \(clientID))
                AND s.without_setup AND s.status = ANY(\(statuses.map(\.rawValue).sorted())) AND s.expires_at > \(expiringAfter)
              LIMIT \(limit)) AS waiting
            """, logger: logger)
        for try await count in rows.decode(Int.self) { return count }
        return 0
    }

    package func deleteExpired(before cutoff: Date) async throws -> PurgeReport {
        try await client.withTransaction(logger: logger) { c in
            var report = PurgeReport()
            func count(_ q: PostgresQuery) async throws -> Int {
                var n = 0
                for try await _ in try await c.query(q, logger: logger) { n += 1 }
                return n
            }
            report.deletedTokens = try await count("""
                DELETE FROM oauth2gw.access_tokens WHERE expires_at <= \(cutoff) RETURNING 1
                """)
            report.deletedCodes = try await count("""
                DELETE FROM oauth2gw.authorization_codes k WHERE k.expires_at <= \(cutoff)
                  AND NOT EXISTS (SELECT 1 FROM oauth2gw.access_tokens t WHERE t.code_serial = k.code_serial)
                RETURNING 1
                """)
            report.deletedSessions = try await count("""
                DELETE FROM oauth2gw.verification_sessions s WHERE s.expires_at <= \(cutoff)
                  AND NOT EXISTS (SELECT 1 FROM oauth2gw.access_tokens t WHERE t.session_serial = s.session_serial)
                  AND NOT EXISTS (SELECT 1 FROM oauth2gw.authorization_codes k WHERE k.session_serial = s.session_serial)
                RETURNING 1
                """)
            try await c.query("DELETE FROM oauth2gw.seen_jwt_ids WHERE expires_at <= \(cutoff)", logger: logger)
            try await c.query("DELETE FROM oauth2gw.attestations WHERE expires_at <= \(cutoff)", logger: logger)
            report.deletedPushedRequests = try await count("""
                DELETE FROM oauth2gw.pushed_authorization_requests WHERE expires_at <= \(cutoff) RETURNING 1
                """)
            return report
        }
    }

    package func recordOnce(_ key: Data, expiresAt: Date, now: Date) async throws -> Bool {
        // One statement: the insert, or taking over a lapsed record, happens on exactly one instance.
        for try await _ in try await client.query("""
            INSERT INTO oauth2gw.seen_jwt_ids (key_hash, expires_at) VALUES (\(key), \(expiresAt))
            ON CONFLICT (key_hash) DO UPDATE SET expires_at = EXCLUDED.expires_at WHERE oauth2gw.seen_jwt_ids.expires_at <= \(now)
            RETURNING 1
            """, logger: logger) { return true }
        return false
    }

    package func recordAttestation(_ attestation: NewAttestation) async throws -> Int64 {
        let rows = try await client.query("""
            INSERT INTO oauth2gw.attestations (attestation_id, session_id, client_id, issued_at, expires_at)
            VALUES (\(attestation.id), \(attestation.sessionID), \(attestation.clientID), \(attestation.issuedAt), \(attestation.expiresAt))
            RETURNING status_index
            """, logger: logger)
        for try await index in rows.decode(Int64.self) { return index }
        throw NoRowReturned(table: "attestations")
    }

    package func revokeAttestations(id: String, at: Date) async throws -> Int {
        var count = 0
        for try await _ in try await client.query("""
            UPDATE oauth2gw.attestations SET revoked_at = \(at)
            WHERE (attestation_id = \(id) OR session_id = \(id)) AND revoked_at IS NULL RETURNING 1
            """, logger: logger) { count += 1 }
        return count
    }

    package func attestationStatuses() async throws -> AttestationStatuses {
        var statuses = AttestationStatuses(highestIndex: 0, revoked: [])
        let rows = try await client.query("""
            SELECT status_index, revoked_at IS NOT NULL FROM oauth2gw.attestations
            WHERE revoked_at IS NOT NULL OR status_index = (SELECT max(status_index) FROM oauth2gw.attestations)
            """, logger: logger)
        for try await (index, revoked) in rows.decode((Int64, Bool).self) {
            statuses.highestIndex = max(statuses.highestIndex, index)
            if revoked { statuses.revoked.insert(index) }
        }
        return statuses
    }

    package func storePushedRequest(_ request: PushedAuthorizationRequest) async throws -> Bool {
        try await exists("""
            INSERT INTO oauth2gw.pushed_authorization_requests (request_hash, client_serial, parameters, created_at, expires_at)
            SELECT \(request.handleHash), client_serial, \(request.parameters), \(request.createdAt), \(request.expiresAt)
            FROM oauth2gw.clients WHERE client_id = \(request.clientID) RETURNING 1
            """)
    }

    package func takePushedRequest(handleHash: Data) async throws -> PushedAuthorizationRequest? {
        let rows = try await client.query("""
            DELETE FROM oauth2gw.pushed_authorization_requests p WHERE p.request_hash = \(handleHash)
            RETURNING (SELECT client_id FROM oauth2gw.clients c WHERE c.client_serial = p.client_serial), p.parameters,
                      p.created_at, p.expires_at
            """, logger: logger)
        for try await (clientID, parameters, createdAt, expiresAt) in rows.decode((String, String, Date, Date).self) {
            return PushedAuthorizationRequest(handleHash: handleHash, clientID: clientID, parameters: parameters, createdAt: createdAt,
                                              expiresAt: expiresAt)
        }
        return nil
    }

    package func eraseClaims(sessionID: String, keepingSubject subject: String?, at: Date) async throws -> Bool {
        var erased = false
        for try await _ in try await client.query("""
            UPDATE oauth2gw.verification_sessions SET claims = '{}'::jsonb, claims_erased_at = \(at), claims_subject = \(subject)
            WHERE session_id = \(sessionID) AND claims IS NOT NULL AND claims_erased_at IS NULL
            RETURNING 1
            """, logger: logger) { erased = true }
        return erased
    }

    package func eraseClaims(verifiedBefore: Date?, unreachableAt now: Date) async throws -> Int {
        var count = 0
        for try await _ in try await client.query("""
            UPDATE oauth2gw.verification_sessions s SET claims = '{}'::jsonb, claims_erased_at = \(now)
            WHERE s.claims_erased_at IS NULL AND s.claims IS NOT NULL
              AND (s.verified_at <= \(verifiedBefore)
                OR (s.expires_at <= \(now)
                  AND NOT EXISTS (SELECT 1 FROM oauth2gw.authorization_codes k
                                  WHERE k.session_serial = s.session_serial AND k.used_at IS NULL AND k.expires_at > \(now))
                  AND NOT EXISTS (SELECT 1 FROM oauth2gw.access_tokens t
                                  WHERE t.session_serial = s.session_serial AND t.revoked_at IS NULL AND t.expires_at > \(now))))
            RETURNING 1
            """, logger: logger) { count += 1 }
        return count
    }

    package func purgeClient(id clientID: String, at: Date) async throws -> PurgeReport? {
        try await client.withTransaction(logger: logger) { c in
            var serial: Int64?
            for try await row in try await c.query("SELECT client_serial FROM oauth2gw.clients WHERE client_id = \(clientID)",
                                                   logger: logger) { serial = try row.decode(Int64.self) }
            guard let serial else { return nil }
            var report = PurgeReport()
            for try await _ in try await c.query("""
                UPDATE oauth2gw.verification_sessions SET claims = '{}'::jsonb, claims_erased_at = \(at)
                WHERE client_serial = \(serial) AND claims IS NOT NULL AND claims_erased_at IS NULL
                RETURNING 1
                """, logger: logger) { report.erasedClaims += 1 }
            // Their codes and tokens go by ON DELETE CASCADE.
            for try await _ in try await c.query("""
                DELETE FROM oauth2gw.verification_sessions
                WHERE client_serial = \(serial) AND status IN ('failed', 'completed', 'expired')
                RETURNING 1
                """, logger: logger) { report.deletedSessions += 1 }
            return report
        }
    }
}
