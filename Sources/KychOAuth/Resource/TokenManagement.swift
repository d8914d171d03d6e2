import Foundation
import KychCore
import Logging

/// RFC 7009 revocation and RFC 7662 introspection: a client manages and inspects only its own tokens.
package struct TokenManagement: Sendable {
    let authenticator: ClientAuthenticator
    let store: any FlowStore
    let issuer: String?
    let events: any FlowEvents
    /// A DPoP proof sent here is checked like at `/token` (it binds nothing).
    let dpop: DPoPProofChecker
    let logger: Logger
    let now: @Sendable () -> Date

    /// Who may revoke: every client, public ones by their `client_id` (RFC 7009 §2.1).
    package static let revocationMethods: [any ClientAuthenticationMethod] = [ClientSecretBasic(), ClientSecretPost(), PrivateKeyJWT(),
                                                                              NoneAuthentication()]
    /// Who may introspect: confidential clients only (a public client could probe any token it found).
    package static let introspectionMethods: [any ClientAuthenticationMethod] = [ClientSecretBasic(), ClientSecretPost(), PrivateKeyJWT()]

    package init(authenticator: ClientAuthenticator, store: any FlowStore, issuer: String?, events: any FlowEvents = NoFlowEvents(),
                 dpop: DPoPProofChecker, logger: Logger, now: @escaping @Sendable () -> Date) {
        self.dpop = dpop
        self.authenticator = authenticator
        self.store = store
        self.issuer = issuer
        self.events = events
        self.logger = logger
        self.now = now
    }

    /// `POST /revoke`: revokes the token if it is the client's; an unknown or foreign token is no error (RFC 7009 §2.2).
    package func revoke(_ request: TokenRequest) async throws {
        let client = try await authenticator.authenticate(request.clientAuthentication, methods: Self.revocationMethods)
        _ = try await dpop.proof(for: request, client: client)
        guard let token = request.form["token"], !token.isEmpty else { throw FlowError.invalidRequest("token is missing") }
        let hash = Secrets.sha256(token)
        guard let stored = try await store.accessToken(hash: hash), stored.clientID == client.clientID else { return }
        if try await store.revokeAccessToken(hash: hash, at: now()) {
            events.record(.tokenRevoked(clientID: client.clientID))
            logger.info("access token revoked", metadata: ["client_id": "\(client.clientID)"])
        }
    }

    /// `POST /introspect`: the token's state as RFC 7662 describes it; `active: false` for anything that is not
    /// a live token of this client.
    package func introspect(_ request: TokenRequest) async throws -> JSON {
        let client = try await authenticator.authenticate(request.clientAuthentication, methods: Self.introspectionMethods)
        _ = try await dpop.proof(for: request, client: client)
        guard let token = request.form["token"], !token.isEmpty else { throw FlowError.invalidRequest("token is missing") }
        guard let stored = try await store.accessToken(hash: Secrets.sha256(token)), stored.clientID == client.clientID,
              stored.revokedAt == nil, stored.expiresAt > now() else { return ["active": false] }
        var answer: [String: JSON] = [
            "active": true, "client_id": .string(stored.clientID), "scope": .string(stored.scope.joined(separator: " ")),
            "token_type": stored.dpopJKT == nil ? "Bearer" : "DPoP", "iat": .integer(Int64(stored.createdAt.timeIntervalSince1970)),
            "exp": .integer(Int64(stored.expiresAt.timeIntervalSince1970)),
        ]
        if let issuer { answer["iss"] = .string(issuer) }
        // RFC 9449 §6.2: the key a DPoP-bound token is bound to.
        if let jkt = stored.dpopJKT { answer["cnf"] = ["jkt": .string(jkt)] }
        if stored.presented {
            // An organisation's presented credential (vp_token-bearer): the resource server decides on its claims, as the
            // Nuts node's introspection reports them. Reading them here does not deliver them (CLAIMS_RETENTION_MINUTES).
            answer["claims"] = .object(stored.claims)
            answer["credential"] = ["vct": stored.vct.map(JSON.string) ?? .null, "issuer": stored.issuer.map(JSON.string) ?? .null]
        }
        return .object(answer)
    }
}
