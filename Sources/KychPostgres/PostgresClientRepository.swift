import KychCore
import KychOAuth
import Logging
import PostgresNIO

/// ``ClientRepository`` on PostgreSQL (`oauth2gw.clients`).
package struct PostgresClientRepository: ClientRepository {
    let client: PostgresPool
    let logger: Logger

    package init(client: PostgresClient, logger: Logger) {
        self.client = PostgresPool(client)
        self.logger = logger
    }

    static let columns = """
        client_id, secret_hash, verifier_url, verifier_management_api_path, verifier_query, verifier_bearer_token,
        redirect_uri, accepted_issuer_dids, default_scope, failure_error, webhook_api_key_header, webhook_api_key_value,
        redirect_uris, client_name, require_pkce, id_token_claims, id_token_signing_alg, access_token_format,
        access_token_ttl_seconds, allow_authorize_without_setup, jwks, jwks_uri, token_endpoint_auth_method, require_dpop,
        require_dpop_nonce, require_signed_request_object, require_pushed_authorization_requests, profile, grant_types
        """

    static func decode(_ row: PostgresRow) throws -> Client {
        let (id, hash, url, path, query, bearer, redirect, dids, scope, failure, header, value) = try row.decode(
            (String, String?, String, String, String, String?, String, [String], [String]?, String, String?, String?).self)
        let r = row.makeRandomAccess()
        var client = Client(clientID: id, secretHash: hash, verifierURL: url, verifierManagementAPIPath: path,
                      verifierQuery: VerifierQueryLanguage(rawValue: query) ?? .dcql, verifierBearerToken: bearer,
                      redirectURI: redirect, acceptedIssuerDIDs: dids, defaultScope: scope,
                      failureError: FailureError(rawValue: failure) ?? .accessDenied,
                      webhookAPIKeyHeader: header, webhookAPIKeyValue: value,
                      additionalRedirectURIs: try r[12].decode([String].self), clientName: try r[13].decode(String?.self),
                      requirePKCE: try r[14].decode(Bool.self), idTokenClaims: try r[15].decode(Bool.self),
                      idTokenSigningAlg: try r[16].decode(String?.self),
                      accessTokenFormat: AccessTokenFormat(rawValue: try r[17].decode(String.self)) ?? .opaque,
                      accessTokenTTLSeconds: try r[18].decode(Int?.self))
        client.allowsAuthorizeWithoutSetup = try r[19].decode(Bool.self)
        client.security = ClientSecurity(
            jwks: try r[20].decode(String?.self), jwksURI: try r[21].decode(String?.self),
            tokenEndpointAuthMethod: try r[22].decode(String?.self), requireDPoP: try r[23].decode(Bool.self),
            requireDPoPNonce: try r[24].decode(Bool.self), requireSignedRequestObject: try r[25].decode(Bool.self),
            requirePushedAuthorizationRequests: try r[26].decode(Bool.self),
            profile: ClientProfile(rawValue: try r[27].decode(String.self)) ?? .standard)
        client.grantTypes = try r[28].decode([String].self)
        return client
    }

    package func listClients() async throws -> [Client] {
        let rows = try await client.query("SELECT \(unescaped: Self.columns) FROM oauth2gw.clients ORDER BY client_id", logger: logger)
        var out: [Client] = []
        for try await row in rows { out.append(try Self.decode(row)) }
        return out
    }

    package func client(id: String) async throws -> Client? {
        let rows = try await client.query("SELECT \(unescaped: Self.columns) FROM oauth2gw.clients WHERE client_id = \(id)", logger: logger)
        for try await row in rows { return try Self.decode(row) }
        return nil
    }

    package func createClient(_ c: Client) async throws {
        do {
            try await client.withConnection { try await Self.insert(c, on: $0, logger: logger) }
        } catch where PostgresDatabase.sqlState(error) == "23505" {
            throw ClientStoreError.duplicateClientID(c.clientID)
        }
    }

    package func updateClient(_ c: Client) async throws {
        let updated = try await client.withConnection { try await Self.update(c, on: $0, logger: logger) }
        if !updated { throw ClientStoreError.unknownClient(c.clientID) }
    }

    package func deleteClient(id: String) async throws -> Bool {
        let rows = try await client.query("DELETE FROM oauth2gw.clients WHERE client_id = \(id) RETURNING 1", logger: logger)
        for try await _ in rows { return true }
        return false
    }

    package func syncClients(_ clients: [Client], prune: Bool) async throws -> ClientSyncReport {
        try await client.withTransaction(logger: logger) { connection in
            var report = ClientSyncReport()
            for c in clients {
                if try await Self.update(c, on: connection, logger: logger) {
                    report.updated.append(c.clientID)
                } else {
                    try await Self.insert(c, on: connection, logger: logger)
                    report.created.append(c.clientID)
                }
            }
            if prune {
                let keep = clients.map(\.clientID)
                let rows = try await connection.query(
                    "DELETE FROM oauth2gw.clients WHERE NOT (client_id = ANY(\(keep))) RETURNING client_id", logger: logger)
                for try await id in rows.decode(String.self) { report.deleted.append(id) }
                report.deleted.sort()
            }
            return report
        }
    }

    static func insert(_ c: Client, on connection: PostgresConnection, logger: Logger) async throws {
        // client_type records whether a secret is stored (oauth2gw-0009): a keys-only client is confidential by its keys.
        let type = c.secretHash == nil ? "public" : "confidential"
        let s = c.security
        try await connection.query("""
            INSERT INTO oauth2gw.clients (client_id, secret_hash, client_type, verifier_url, verifier_management_api_path,
              verifier_query, verifier_bearer_token, redirect_uri, accepted_issuer_dids, default_scope, failure_error,
              webhook_api_key_header, webhook_api_key_value, redirect_uris, client_name, require_pkce, id_token_claims,
              id_token_signing_alg, access_token_format, access_token_ttl_seconds, allow_authorize_without_setup,
              jwks, jwks_uri, token_endpoint_auth_method, require_dpop, require_dpop_nonce, require_signed_request_object,
              require_pushed_authorization_requests, profile, grant_types)
            VALUES (\(c.clientID), \(c.secretHash), \(type), \(c.verifierURL), \(c.verifierManagementAPIPath),
              \(c.verifierQuery.rawValue), \(c.verifierBearerToken), \(c.redirectURI), \(c.acceptedIssuerDIDs),
              \(c.defaultScope), \(c.failureError.rawValue), \(c.webhookAPIKeyHeader), \(c.webhookAPIKeyValue),
              \(c.additionalRedirectURIs), \(c.clientName), \(c.requirePKCE), \(c.idTokenClaims), \(c.idTokenSigningAlg),
              \(c.accessTokenFormat.rawValue), \(c.accessTokenTTLSeconds), \(c.allowsAuthorizeWithoutSetup),
              \(s.jwks), \(s.jwksURI), \(s.tokenEndpointAuthMethod), \(s.requireDPoP), \(s.requireDPoPNonce),
              \(s.requireSignedRequestObject), \(s.requirePushedAuthorizationRequests), \(s.profile.rawValue), \(c.grantTypes))
            """, logger: logger)
    }

    /// Returns false when no client has that id.
    static func update(_ c: Client, on connection: PostgresConnection, logger: Logger) async throws -> Bool {
        let type = c.secretHash == nil ? "public" : "confidential"
        let s = c.security
        let rows = try await connection.query("""
            UPDATE oauth2gw.clients SET secret_hash = \(c.secretHash), client_type = \(type), verifier_url = \(c.verifierURL),
              verifier_management_api_path = \(c.verifierManagementAPIPath), verifier_query = \(c.verifierQuery.rawValue),
              verifier_bearer_token = \(c.verifierBearerToken), redirect_uri = \(c.redirectURI),
              accepted_issuer_dids = \(c.acceptedIssuerDIDs), default_scope = \(c.defaultScope),
              failure_error = \(c.failureError.rawValue), webhook_api_key_header = \(c.webhookAPIKeyHeader),
              webhook_api_key_value = \(c.webhookAPIKeyValue), redirect_uris = \(c.additionalRedirectURIs),
              client_name = \(c.clientName), require_pkce = \(c.requirePKCE), id_token_claims = \(c.idTokenClaims),
              id_token_signing_alg = \(c.idTokenSigningAlg), access_token_format = \(c.accessTokenFormat.rawValue),
              access_token_ttl_seconds = \(c.accessTokenTTLSeconds),
              allow_authorize_without_setup = \(c.allowsAuthorizeWithoutSetup), jwks = \(s.jwks), jwks_uri = \(s.jwksURI),
              token_endpoint_auth_method = \(s.tokenEndpointAuthMethod), require_dpop = \(s.requireDPoP),
              require_dpop_nonce = \(s.requireDPoPNonce), require_signed_request_object = \(s.requireSignedRequestObject),
              require_pushed_authorization_requests = \(s.requirePushedAuthorizationRequests), profile = \(s.profile.rawValue),
              grant_types = \(c.grantTypes), updated_at = now()
            WHERE client_id = \(c.clientID) RETURNING 1
            """, logger: logger)
        for try await _ in rows { return true }
        return false
    }
}
