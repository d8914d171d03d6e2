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

/// `GET /info`: the verified claims behind a live token (found by ``ResourceAccess``).
package struct InfoEndpoint: Sendable {
    let retention: ClaimsRetention
    let logger: Logger
    let now: @Sendable () -> Date

    package init(retention: ClaimsRetention, logger: Logger, now: @escaping @Sendable () -> Date) {
        self.retention = retention
        self.logger = logger
        self.now = now
    }

    package func info(_ token: StoredAccessToken) async throws -> Info {
        guard let claims = try await retention.deliver(token, now: now()) else { throw ClaimsRetention.gone }
        logger.info("claims served", metadata: ["client_id": "\(token.clientID)"])
        return Info(id: token.sessionID, status: "success", claims: claims,
                    credential: .init(vct: token.vct, issuer: token.issuer),
                    verified_at: token.verifiedAt.map { $0.formatted(.iso8601) })
    }
}
