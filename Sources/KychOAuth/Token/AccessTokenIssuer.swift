import Foundation
import KychCore

/// A newly issued access token: the value for the client and the record for the store.
package struct IssuedAccessToken: Sendable {
    package var value: String
    package var tokenType: String
    package var expiresIn: Int
    package var record: NewAccessToken

    package var response: TokenResponse {
        TokenResponse(access_token: value, token_type: tokenType, expires_in: expiresIn, id_token: nil)
    }
}

/// Mints access tokens; the token format is a strategy (opaque today, JWT later).
package protocol AccessTokenIssuer: Sendable {
    func issue(for client: Client, now: Date) -> IssuedAccessToken
}

/// Random bearer tokens, stored only as their SHA-256 hash.
package struct OpaqueAccessTokenIssuer: AccessTokenIssuer {
    package var bytes: Int
    package var lifetimeSeconds: Int

    package init(bytes: Int, lifetimeSeconds: Int) {
        self.bytes = bytes
        self.lifetimeSeconds = lifetimeSeconds
    }

    package func issue(for client: Client, now: Date) -> IssuedAccessToken {
        let value = Secrets.randomToken(bytes: bytes)
        let record = NewAccessToken(tokenHash: Secrets.sha256(value), createdAt: now,
                                    expiresAt: now.addingTimeInterval(TimeInterval(lifetimeSeconds)))
        return IssuedAccessToken(value: value, tokenType: "Bearer", expiresIn: lifetimeSeconds, record: record)
    }
}
