import Foundation
import KychCore
import Logging

/// The `/info` response: the claims the client was granted.
package struct Info: Sendable, Encodable {
    package var id: String
    package var status: String
    package var claims: [String: JSON]
    package var credential: Credential
    package var verified_at: String?

    package struct Credential: Sendable, Encodable {
        package var vct: String?
        package var issuer: String?
    }
}

/// `GET /info` with `Authorization: Bearer <token>`: the verified claims behind a live token.
package struct InfoEndpoint: Sendable {
    let store: any FlowStore
    let retention: ClaimsRetention
    let logger: Logger
    let now: @Sendable () -> Date

    package init(store: any FlowStore, retention: ClaimsRetention, logger: Logger, now: @escaping @Sendable () -> Date) {
        self.store = store
        self.retention = retention
        self.logger = logger
        self.now = now
    }

    package func info(bearerToken: String?) async throws -> Info {
        guard let bearerToken, !bearerToken.isEmpty else { throw FlowError.missingToken }
        let now = now()
        guard let token = try await store.accessToken(hash: Secrets.sha256(bearerToken)), token.revokedAt == nil,
              token.expiresAt > now else {
            throw FlowError.invalidToken("the access token is unknown, expired or revoked")
        }
        guard let claims = try await retention.deliver(token, now: now) else { throw ClaimsRetention.gone }
        logger.info("claims served", metadata: ["client_id": "\(token.clientID)"])
        return Info(id: token.sessionID, status: "success", claims: claims,
                    credential: .init(vct: token.vct, issuer: token.issuer),
                    verified_at: token.verifiedAt.map { $0.formatted(.iso8601) })
    }
}
