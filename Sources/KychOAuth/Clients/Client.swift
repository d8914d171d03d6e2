import Foundation
import KychCore

/// A registered OAuth 2.0 client as stored in the database.
package struct Client: Sendable, Equatable {
    package var clientID: String
    /// bcrypt hash of the secret; nil for a public client (PKCE only).
    package var secretHash: String?
    package var verifierURL: String
    package var verifierManagementAPIPath: String
    package var verifierQuery: VerifierQueryLanguage
    package var verifierBearerToken: String?
    package var redirectURI: String
    package var acceptedIssuerDIDs: [String]
    package var defaultScope: [String]?
    package var failureError: FailureError
    package var webhookAPIKeyHeader: String?
    package var webhookAPIKeyValue: String?
    /// Redirect URIs accepted besides ``redirectURI`` (`REDIRECT_URIS`), each compared exactly.
    package var additionalRedirectURIs: [String]
    /// Shown to the person on the verification page instead of the client id.
    package var clientName: String?
    /// PKCE even for a confidential client (`REQUIRE_PKCE`); public clients always need it.
    package var requirePKCE: Bool
    /// ID tokens carry the granted claims too (`ID_TOKEN_CLAIMS`), not only `/userinfo`.
    package var idTokenClaims: Bool
    /// `ES256` or `RS256` for this client's ID tokens; nil: the gateway's `ID_TOKEN_SIGNING_ALG`.
    package var idTokenSigningAlg: String?
    package var accessTokenFormat: AccessTokenFormat
    /// nil: the gateway's `ACCESS_TOKEN_TTL_SECONDS`.
    package var accessTokenTTLSeconds: Int?
    /// A standard authorization request without `/setup` may start a session (`ALLOW_AUTHORIZE_WITHOUT_SETUP`).
    package var allowsAuthorizeWithoutSetup = true
    /// Its keys and what it must use: DPoP, PAR, signed request objects, one authentication method, a profile.
    package var security = ClientSecurity()
    /// The `grant_type` values it may use at `/token` (`GRANT_TYPES`).
    package var grantTypes = GrantType.defaultForClients

    package init(clientID: String, secretHash: String?, verifierURL: String,
                verifierManagementAPIPath: String = ClientConfig.defaultManagementAPIPath,
                verifierQuery: VerifierQueryLanguage = .dcql, verifierBearerToken: String? = nil,
                redirectURI: String, acceptedIssuerDIDs: [String] = [], defaultScope: [String]? = nil,
                failureError: FailureError = .accessDenied, webhookAPIKeyHeader: String? = nil, webhookAPIKeyValue: String? = nil,
                additionalRedirectURIs: [String] = [], clientName: String? = nil, requirePKCE: Bool = false,
                idTokenClaims: Bool = false, idTokenSigningAlg: String? = nil, accessTokenFormat: AccessTokenFormat = .opaque,
                accessTokenTTLSeconds: Int? = nil) {
        self.clientID = clientID
        self.secretHash = secretHash
        self.verifierURL = verifierURL
        self.verifierManagementAPIPath = verifierManagementAPIPath
        self.verifierQuery = verifierQuery
        self.verifierBearerToken = verifierBearerToken
        self.redirectURI = redirectURI
        self.acceptedIssuerDIDs = acceptedIssuerDIDs
        self.defaultScope = defaultScope
        self.failureError = failureError
        self.webhookAPIKeyHeader = webhookAPIKeyHeader
        self.webhookAPIKeyValue = webhookAPIKeyValue
        self.additionalRedirectURIs = additionalRedirectURIs
        self.clientName = clientName
        self.requirePKCE = requirePKCE
        self.idTokenClaims = idTokenClaims
        self.idTokenSigningAlg = idTokenSigningAlg
        self.accessTokenFormat = accessTokenFormat
        self.accessTokenTTLSeconds = accessTokenTTLSeconds
    }

    /// A public client (a browser or mobile app) has no secret and no keys: it authenticates with PKCE only.
    package var isPublic: Bool { secretHash == nil && !security.hasKeys }

    /// Whether authorization requests must carry a PKCE challenge.
    package var requiresPKCE: Bool { isPublic || requirePKCE || security.profile == .fapi2 }

    /// Whether every token must be bound to a key with DPoP (RFC 9449), so a bearer token never works for it.
    package var requiresDPoP: Bool { security.requireDPoP || security.profile == .fapi2 }

    /// Whether its authorization requests must come through `/par` (RFC 9126 §6).
    package var requiresPushedAuthorizationRequests: Bool { security.requirePushedAuthorizationRequests || security.profile == .fapi2 }

    /// How long its authorization codes live: `AUTH_CODE_TTL_MINUTES`, and at most 60 seconds for FAPI 2.0 (§5.3.2.1).
    package func authorizationCodeLifetime(configuredMinutes: Int) -> TimeInterval {
        let configured = TimeInterval(configuredMinutes * 60)
        return security.profile == .fapi2 ? min(configured, 60) : configured
    }

    /// The client-authentication methods it may use wherever clients authenticate (`/token`, `/par`, `/revoke`,
    /// `/introspect`): `TOKEN_ENDPOINT_AUTH_METHOD` when set, `private_key_jwt` for FAPI 2.0, `none` for a public
    /// client, else what its credentials allow.
    package var authenticationMethods: [String] {
        if let method = security.tokenEndpointAuthMethod { return [method] }
        if security.profile == .fapi2 { return ["private_key_jwt"] }
        if isPublic { return ["none"] }
        return (secretHash != nil ? ["client_secret_basic", "client_secret_post"] : []) + (security.hasKeys ? ["private_key_jwt"] : [])
    }

    /// Every redirect URI the client may use, the primary one first.
    package var redirectURIs: [String] { [redirectURI] + additionalRedirectURIs.filter { $0 != redirectURI } }

    /// The client as its verifications see it: trusting also the KyCH instances whose attestations the gateway accepts
    /// for every client (`ACCEPTED_ATTESTATION_ISSUERS`).
    package func acceptingAttestations(of issuers: [String]) -> Client {
        var client = self
        client.acceptedIssuerDIDs += issuers.filter { !acceptedIssuerDIDs.contains($0) }
        return client
    }

    /// The full URL of the verifier's management API for creating verifications.
    package var verificationsEndpoint: String {
        var base = verifierURL
        while base.hasSuffix("/") { base.removeLast() }
        return base + verifierManagementAPIPath
    }
}

extension Client {
    /// A client from a `[client_*]` config section, with its secret hashed (or `existingHash` kept
    /// when it still matches the secret, so a re-sync does not churn hashes).
    package init(config c: ClientConfig, existingHash: String? = nil) {
        var hash: String?
        if let secret = c.clientSecret {
            if let existingHash, Secrets.verifySecret(secret, hash: existingHash) {
                hash = existingHash
            } else {
                hash = Secrets.hashSecret(secret)
            }
        }
        self.init(clientID: c.clientID, secretHash: hash, verifierURL: c.verifierURL,
                  verifierManagementAPIPath: c.verifierManagementAPIPath, verifierQuery: c.verifierQuery,
                  verifierBearerToken: c.verifierBearerToken, redirectURI: c.redirectURI,
                  acceptedIssuerDIDs: c.acceptedIssuerDIDs, defaultScope: c.defaultScope,
                  failureError: c.failureError, webhookAPIKeyHeader: c.webhookAPIKeyHeader,
                  webhookAPIKeyValue: c.webhookAPIKeyValue, additionalRedirectURIs: c.additionalRedirectURIs,
                  clientName: c.clientName, requirePKCE: c.requirePKCE, idTokenClaims: c.idTokenClaims,
                  idTokenSigningAlg: c.idTokenSigningAlg, accessTokenFormat: c.accessTokenFormat,
                  accessTokenTTLSeconds: c.accessTokenTTLSeconds)
        allowsAuthorizeWithoutSetup = c.allowAuthorizeWithoutSetup
        security = c.security
        grantTypes = c.grantTypes
    }
}

/// Storage of registered clients.
package protocol ClientRepository: Sendable {
    func listClients() async throws -> [Client]
    func client(id: String) async throws -> Client?
    /// Throws ``ClientStoreError/duplicateClientID(_:)`` if the id is taken.
    func createClient(_ client: Client) async throws
    /// Replaces the stored client with the same id; throws ``ClientStoreError/unknownClient(_:)``.
    func updateClient(_ client: Client) async throws
    /// Deletes the client and, by cascade, its sessions, codes and tokens. False if unknown.
    func deleteClient(id: String) async throws -> Bool
    /// Creates or updates every given client, and with `prune` deletes all others, in one transaction.
    func syncClients(_ clients: [Client], prune: Bool) async throws -> ClientSyncReport
}

/// What a sync changed.
package struct ClientSyncReport: Sendable, Equatable {
    package var created: [String] = []
    package var updated: [String] = []
    package var deleted: [String] = []
    package init(created: [String] = [], updated: [String] = [], deleted: [String] = []) {
        self.created = created
        self.updated = updated
        self.deleted = deleted
    }
}

package enum ClientStoreError: Error, Sendable, Equatable, CustomStringConvertible {
    case duplicateClientID(String)
    case unknownClient(String)

    package var description: String {
        switch self {
        case .duplicateClientID(let id): "a client with id \"\(id)\" already exists"
        case .unknownClient(let id): "no client with id \"\(id)\""
        }
    }
}
