import Foundation
import KychCore

/// A JWS algorithm the gateway signs ID tokens and JWT access tokens with (RFC 7518 §3).
package enum SigningAlgorithm: String, Sendable, CaseIterable {
    /// ECDSA on P-256 with SHA-256.
    case es256 = "ES256"
    /// RSASSA-PKCS1-v1_5 with SHA-256: the one algorithm every OpenID Connect relying party supports.
    case rs256 = "RS256"
}

/// A signing key as stored. Its times are decided by ``SigningKeys``; the store only keeps them.
package struct StoredSigningKey: Sendable, Equatable {
    /// The RFC 7638 thumbprint of ``publicJWK``.
    package var kid: String
    package var algorithm: SigningAlgorithm
    /// The public key's RFC 7638 required members (EC: crv, kty, x, y; RSA: e, kty, n).
    package var publicJWK: [String: JSON]
    /// The private key: sealed when ``sealed`` (the UTF-8 of a ``SecretSealing`` text, or from earlier releases the
    /// bare AES-GCM box: nonce, ciphertext, tag), else its plain encoding.
    package var privateKey: Data
    package var sealed: Bool
    /// Published from here on.
    package var createdAt: Date
    /// Signs from here on (until a key of its algorithm that activates later takes over).
    package var activatesAt: Date
    /// Neither published nor kept from here on; `nil` until a rotation replaces it.
    package var retiresAt: Date?

    package init(kid: String, algorithm: SigningAlgorithm, publicJWK: [String: JSON], privateKey: Data, sealed: Bool,
                 createdAt: Date, activatesAt: Date, retiresAt: Date?) {
        self.kid = kid
        self.algorithm = algorithm
        self.publicJWK = publicJWK
        self.privateKey = privateKey
        self.sealed = sealed
        self.createdAt = createdAt
        self.activatesAt = activatesAt
        self.retiresAt = retiresAt
    }
}

/// Storage of the gateway's signing keys, as atomic primitives. Which key signs, which are published and when one
/// goes are rules of ``SigningKeys``, computed from the stored times and its clock.
package protocol SigningKeyStore: Sendable {
    /// Every stored key, in the order they were stored.
    func signingKeys() async throws -> [StoredSigningKey]
    /// Stores `keys` if the store holds no key at all, in one transaction; false (nothing stored) otherwise, so of
    /// several processes starting on an empty store exactly one creates the first keys.
    func insertFirstSigningKeys(_ keys: [StoredSigningKey]) async throws -> Bool
    /// Stores `keys` and sets the retirement of the keys named in `retiring` that have none yet to `retiresAt`,
    /// in one transaction.
    func insertSigningKeys(_ keys: [StoredSigningKey], retiring kids: [String], at retiresAt: Date) async throws
    /// Deletes the keys whose retirement is at or before `cutoff`; returns how many.
    func deleteSigningKeys(retiredBy cutoff: Date) async throws -> Int
}
