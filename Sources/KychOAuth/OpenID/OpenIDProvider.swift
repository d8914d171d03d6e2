import Foundation
import KychCore
import Logging

/// OpenID Connect on top of the authorization server: ID tokens, `/userinfo` and the discovery document.
package struct OpenIDProvider: Sendable {
    package let idTokens: IDTokenIssuer
    let retention: ClaimsRetention
    let logger: Logger
    let now: @Sendable () -> Date

    /// nil without `BASE_URL`: the issuer identifier in every ID token must be the public URL.
    package init?(config: GatewayConfig, keys: SigningKeys, store: any FlowStore, logger: Logger, now: @escaping @Sendable () -> Date) {
        guard let issuer = config.baseURL else { return nil }
        idTokens = IDTokenIssuer(keys: keys, subjects: PairwiseSubjects(store: store), issuer: issuer,
                                 defaultAlgorithm: SigningAlgorithm(rawValue: config.idTokenSigningAlg) ?? .es256,
                                 lifetimeSeconds: config.accessTokenTTLSeconds)
        retention = ClaimsRetention(store: store, minutes: config.claimsRetentionMinutes)
        self.logger = logger
        self.now = now
    }

    /// `GET`/`POST /userinfo` (Core §5.3): `sub` and the granted claims, for a live token (found by ``ResourceAccess``) of an
    /// OpenID Connect request.
    package func userInfo(_ token: StoredAccessToken, clients: any ClientRepository) async throws -> JSON {
        let now = now()
        guard let client = try await clients.client(id: token.clientID) else {
            throw FlowError.invalidToken("the access token is unknown, expired or revoked")
        }
        guard token.openid else {
            throw FlowError.oauth(status: 403, error: "insufficient_scope", description: "the token was not issued for scope openid",
                                  wwwAuthenticate: "Bearer realm=\"kych\", error=\"insufficient_scope\", scope=\"openid\"")
        }
        if token.claimsErasedAt != nil, let subject = token.claimsSubject {
            // The claims went out in the ID token, with this `sub`.
            return .object(["sub": .string(subject)])
        }
        let subject = try await idTokens.subjects.subject(for: token, client: client, now: now)
        guard var answer = try await retention.deliver(token, now: now) else { throw ClaimsRetention.gone }
        answer["sub"] = .string(subject)
        logger.info("userinfo served", metadata: ["client_id": "\(client.clientID)"])
        return .object(answer)
    }
}
