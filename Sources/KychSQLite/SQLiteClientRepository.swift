import Foundation
import KychCore
import KychOAuth
import SQLiteNIO

/// ``ClientRepository`` on the embedded SQLite database.
package struct SQLiteClientRepository: ClientRepository {
    let db: SQLiteDatabase

    package init(db: SQLiteDatabase) {
        self.db = db
    }

    static func decode(_ row: SQLiteRow) -> Client {
        var client = Client(clientID: row.string("client_id") ?? "", secretHash: row.string("secret_hash"),
               verifierURL: row.string("verifier_url") ?? "",
               verifierManagementAPIPath: row.string("verifier_management_api_path") ?? ClientConfig.defaultManagementAPIPath,
               verifierQuery: row.string("verifier_query").flatMap(VerifierQueryLanguage.init(rawValue:)) ?? .dcql,
               verifierBearerToken: row.string("verifier_bearer_token"), redirectURI: row.string("redirect_uri") ?? "",
               acceptedIssuerDIDs: row.strings("accepted_issuer_dids") ?? [], defaultScope: row.strings("default_scope"),
               failureError: row.string("failure_error").flatMap(FailureError.init(rawValue:)) ?? .accessDenied,
               webhookAPIKeyHeader: row.string("webhook_api_key_header"), webhookAPIKeyValue: row.string("webhook_api_key_value"),
               additionalRedirectURIs: row.strings("redirect_uris") ?? [], clientName: row.string("client_name"),
               requirePKCE: row.int("require_pkce") == 1, idTokenClaims: row.int("id_token_claims") == 1,
               idTokenSigningAlg: row.string("id_token_signing_alg"),
               accessTokenFormat: row.string("access_token_format").flatMap(AccessTokenFormat.init(rawValue:)) ?? .opaque,
               accessTokenTTLSeconds: row.int("access_token_ttl_seconds").map(Int.init))
        client.allowsAuthorizeWithoutSetup = row.int("allow_authorize_without_setup") != 0
        client.security = ClientSecurity(
            jwks: row.string("jwks"), jwksURI: row.string("jwks_uri"), tokenEndpointAuthMethod: row.string("token_endpoint_auth_method"),
            requireDPoP: row.int("require_dpop") == 1, requireDPoPNonce: row.int("require_dpop_nonce") == 1,
            requireSignedRequestObject: row.int("require_signed_request_object") == 1,
            requirePushedAuthorizationRequests: row.int("require_pushed_authorization_requests") == 1,
            profile: row.string("profile").flatMap(ClientProfile.init(rawValue:)) ?? .standard)
        client.grantTypes = row.strings("grant_types") ?? GrantType.defaultForClients
        return client
    }

    package func listClients() async throws -> [Client] {
        try await db.rows("SELECT * FROM clients ORDER BY client_id").map(Self.decode)
    }

    package func client(id: String) async throws -> Client? {
        try await db.rows("SELECT * FROM clients WHERE client_id = ?", [.text(id)]).first.map(Self.decode)
    }

    package func createClient(_ client: Client) async throws {
        try await db.transaction { tx in
            guard try await tx.rows("SELECT 1 FROM clients WHERE client_id = ?", [.text(client.clientID)]).isEmpty else {
                throw ClientStoreError.duplicateClientID(client.clientID)
            }
            try await Self.insert(client, tx)
        }
    }

    package func updateClient(_ client: Client) async throws {
        let updated = try await db.transaction { tx in try await Self.update(client, tx) }
        if !updated { throw ClientStoreError.unknownClient(client.clientID) }
    }

    package func deleteClient(id: String) async throws -> Bool {
        try await !db.rows("DELETE FROM clients WHERE client_id = ? RETURNING 1", [.text(id)]).isEmpty
    }

    package func syncClients(_ clients: [Client], prune: Bool) async throws -> ClientSyncReport {
        try await db.transaction { tx in
            var report = ClientSyncReport()
            for c in clients {
                if try await Self.update(c, tx) { report.updated.append(c.clientID) } else {
                    try await Self.insert(c, tx)
                    report.created.append(c.clientID)
                }
            }
            if prune {
                let keep = Set(clients.map(\.clientID))
                for row in try await tx.rows("SELECT client_id FROM clients ORDER BY client_id") {
                    guard let id = row.string("client_id"), !keep.contains(id) else { continue }
                    try await tx.rows("DELETE FROM clients WHERE client_id = ?", [.text(id)])
                    report.deleted.append(id)
                }
            }
            return report
        }
    }

    private static func values(_ c: Client) -> [SQLiteData] {
        [.text(c.secretHash), .text(c.secretHash == nil ? "public" : "confidential"), .text(c.verifierURL),
         .text(c.verifierManagementAPIPath), .text(c.verifierQuery.rawValue), .text(c.verifierBearerToken), .text(c.redirectURI),
         .list(c.acceptedIssuerDIDs), .list(c.defaultScope), .text(c.failureError.rawValue), .text(c.webhookAPIKeyHeader),
         .text(c.webhookAPIKeyValue), .list(c.additionalRedirectURIs), .text(c.clientName), .integer(c.requirePKCE ? 1 : 0),
         .integer(c.idTokenClaims ? 1 : 0), .text(c.idTokenSigningAlg), .text(c.accessTokenFormat.rawValue),
         c.accessTokenTTLSeconds.map { .integer($0) } ?? .null, .integer(c.allowsAuthorizeWithoutSetup ? 1 : 0),
         .text(c.security.jwks), .text(c.security.jwksURI), .text(c.security.tokenEndpointAuthMethod),
         .integer(c.security.requireDPoP ? 1 : 0), .integer(c.security.requireDPoPNonce ? 1 : 0),
         .integer(c.security.requireSignedRequestObject ? 1 : 0), .integer(c.security.requirePushedAuthorizationRequests ? 1 : 0),
         .text(c.security.profile.rawValue), .list(c.grantTypes), .date(Date()), .text(c.clientID)]
    }

    private static func insert(_ c: Client, _ tx: SQLiteDatabase.Transaction) async throws {
        try await tx.rows("""
            INSERT INTO clients (secret_hash, client_type, verifier_url, verifier_management_api_path, verifier_query,
              verifier_bearer_token, redirect_uri, accepted_issuer_dids, default_scope, failure_error,
              webhook_api_key_header, webhook_api_key_value, redirect_uris, client_name, require_pkce, id_token_claims,
              id_token_signing_alg, access_token_format, access_token_ttl_seconds, allow_authorize_without_setup, jwks, jwks_uri,
              token_endpoint_auth_method, require_dpop, require_dpop_nonce, require_signed_request_object,
              require_pushed_authorization_requests, profile, grant_types, updated_at, client_id, created_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, values(c) + [.date(Date())])
    }

    private static func update(_ c: Client, _ tx: SQLiteDatabase.Transaction) async throws -> Bool {
        try await !tx.rows("""
            UPDATE clients SET secret_hash = ?, client_type = ?, verifier_url = ?, verifier_management_api_path = ?,
              verifier_query = ?, verifier_bearer_token = ?, redirect_uri = ?, accepted_issuer_dids = ?, default_scope = ?,
              failure_error = ?, webhook_api_key_header = ?, webhook_api_key_value = ?, redirect_uris = ?, client_name = ?,
              require_pkce = ?, id_token_claims = ?, id_token_signing_alg = ?, access_token_format = ?, access_token_ttl_seconds = ?,
              allow_authorize_without_setup = ?, jwks = ?, jwks_uri = ?, token_endpoint_auth_method = ?, require_dpop = ?,
              require_dpop_nonce = ?, require_signed_request_object = ?, require_pushed_authorization_requests = ?, profile = ?,
              grant_types = ?, updated_at = ?
            WHERE client_id = ? RETURNING 1
            """, values(c)).isEmpty
    }
}
