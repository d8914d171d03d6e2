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

    /// The record of `value`: only its hash is stored, whatever its format, so lookup and revocation work alike.
    /// A token bound to a DPoP key (`dpopJKT`) is of type `DPoP` (RFC 9449 §5).
    init(value: String, lifetimeSeconds: Int, dpopJKT: String?, now: Date) {
        self.value = value
        tokenType = dpopJKT == nil ? "Bearer" : "DPoP"
        expiresIn = lifetimeSeconds
        record = NewAccessToken(tokenHash: Secrets.sha256(value), createdAt: now, expiresAt: now.addingTimeInterval(TimeInterval(lifetimeSeconds)),
                                dpopJKT: dpopJKT)
    }
}

/// Mints access tokens; the token format is a strategy chosen per client (`ACCESS_TOKEN_FORMAT`).
package protocol AccessTokenIssuer: Sendable {
    /// A token for `client`, granted in `session`; bound to the DPoP key with thumbprint `dpopJKT` if that is set.
    /// `embeddedClaims`: claims a self-contained token carries (an organisation's presented claims; never a person's).
    func issue(for client: Client, session: VerificationSession, lifetimeSeconds: Int, dpopJKT: String?, embeddedClaims: [String: JSON]?,
               now: Date) async throws -> IssuedAccessToken
}

/// Random bearer tokens.
package struct OpaqueAccessTokenIssuer: AccessTokenIssuer {
    package var bytes: Int

    package init(bytes: Int) {
        self.bytes = bytes
    }

    package func issue(for client: Client, session: VerificationSession, lifetimeSeconds: Int, dpopJKT: String?,
                       embeddedClaims: [String: JSON]?, now: Date) -> IssuedAccessToken {
        IssuedAccessToken(value: Secrets.randomToken(bytes: bytes), lifetimeSeconds: lifetimeSeconds, dpopJKT: dpopJKT, now: now)
    }
}

/// RFC 9068 JWT access tokens (`typ: at+jwt`), signed with the gateway's current key: a resource server can check
/// them offline against `jwks_uri`; `/info`, `/userinfo` and introspection still look them up, so revocation holds.
package struct JWTAccessTokenIssuer: AccessTokenIssuer {
    let keys: SigningKeys
    let subjects: PairwiseSubjects
    let issuer: String
    let algorithm: SigningAlgorithm

    package init(keys: SigningKeys, subjects: PairwiseSubjects, issuer: String, algorithm: SigningAlgorithm) {
        self.keys = keys
        self.subjects = subjects
        self.issuer = issuer
        self.algorithm = algorithm
    }

    package func issue(for client: Client, session: VerificationSession, lifetimeSeconds: Int, dpopJKT: String?,
                       embeddedClaims: [String: JSON]?, now: Date) async throws -> IssuedAccessToken {
        let iat = Int64(now.timeIntervalSince1970)
        let scope = (session.openid ? ["openid"] : []) + (session.scope ?? [])
        var claims: [String: JSON] = [
            "iss": .string(issuer), "aud": .string(issuer), "client_id": .string(client.clientID),
            "sub": .string(try await subjects.subject(claims: session.claims ?? [:], sessionID: session.sessionID, client: client, now: now)),
            "iat": .integer(iat), "exp": .integer(iat + Int64(lifetimeSeconds)), "jti": .string(Secrets.randomToken(bytes: 16)),
            "scope": .string(scope.joined(separator: " ")),
        ]
        // RFC 9449 §6.1: the confirmation of a DPoP-bound token.
        if let dpopJKT { claims["cnf"] = ["jkt": .string(dpopJKT)] }
        // A resource server checking the token offline reads an organisation's claims here (issue 16).
        if let embeddedClaims { claims["claims"] = .object(embeddedClaims) }
        let value = try await keys.sign(payload: Data(JSON.object(claims).serialized().utf8), algorithm: algorithm, type: "at+jwt")
        return IssuedAccessToken(value: value, lifetimeSeconds: lifetimeSeconds, dpopJKT: dpopJKT, now: now)
    }
}
