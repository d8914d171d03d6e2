import Crypto
import Foundation
import KychCore
import KychSDJWT

/// OpenID Connect ID tokens (Core §2, §3.1.3.6): signed with the gateway's current key of the client's algorithm.
package struct IDTokenIssuer: Sendable {
    package let keys: SigningKeys
    package let subjects: PairwiseSubjects
    package let issuer: String
    /// The gateway's `ID_TOKEN_SIGNING_ALG`; a client may name its own.
    package let defaultAlgorithm: SigningAlgorithm
    package let lifetimeSeconds: Int

    package init(keys: SigningKeys, subjects: PairwiseSubjects, issuer: String, defaultAlgorithm: SigningAlgorithm, lifetimeSeconds: Int) {
        self.keys = keys
        self.subjects = subjects
        self.issuer = issuer
        self.defaultAlgorithm = defaultAlgorithm
        self.lifetimeSeconds = lifetimeSeconds
    }

    /// The ID token that comes with `accessToken` (whose record is `token`) for `client`: `subject` is its `sub`, and
    /// `credentialClaims` go in too (`ID_TOKEN_CLAIMS`).
    package func idToken(for token: StoredAccessToken, subject: String, credentialClaims: [String: JSON], accessToken: String,
                         client: Client, now: Date) async throws -> String {
        let algorithm = client.idTokenSigningAlg.flatMap(SigningAlgorithm.init(rawValue:)) ?? defaultAlgorithm
        var claims: [String: JSON] = [
            "iss": .string(issuer), "sub": .string(subject),
            "aud": .string(client.clientID), "iat": .integer(Int64(now.timeIntervalSince1970)),
            "exp": .integer(Int64(now.timeIntervalSince1970) + Int64(lifetimeSeconds)),
            "at_hash": .string(Self.accessTokenHash(accessToken)),
        ]
        if let verifiedAt = token.verifiedAt { claims["auth_time"] = .integer(Int64(verifiedAt.timeIntervalSince1970)) }
        if let nonce = token.oidcNonce { claims["nonce"] = .string(nonce) }
        // The protocol claims above win over any credential claim of the same name.
        claims.merge(credentialClaims) { protocolClaim, _ in protocolClaim }
        return try await keys.sign(payload: Data(JSON.object(claims).serialized().utf8), algorithm: algorithm, type: "JWT")
    }

    /// `at_hash` (Core §3.1.3.6): the left half of the SHA-256 of the access token, base64url; SHA-256 because both
    /// ES256 and RS256 use it.
    package static func accessTokenHash(_ accessToken: String) -> String {
        Base64URL.encode(SHA256.hash(data: Data(accessToken.utf8)).prefix(16))
    }
}
