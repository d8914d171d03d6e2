import _CryptoExtras
import Crypto
import Foundation
import KychCore
import KychSDJWT

/// The private half of a signing key, one case per ``SigningAlgorithm``.
enum PrivateSigningKey: Sendable {
    case es256(P256.Signing.PrivateKey)
    /// RSA 2048 (RFC 7518 §3.3 asks for at least 2048 bits).
    case rs256(_RSA.Signing.PrivateKey)

    static func generate(_ algorithm: SigningAlgorithm) throws -> PrivateSigningKey {
        switch algorithm {
        case .es256: .es256(P256.Signing.PrivateKey())
        case .rs256: .rs256(try _RSA.Signing.PrivateKey(keySize: .bits2048))
        }
    }

    /// Reads ``encoding`` back.
    init(_ algorithm: SigningAlgorithm, encoding: Data) throws {
        switch algorithm {
        case .es256: self = .es256(try P256.Signing.PrivateKey(rawRepresentation: encoding))
        case .rs256: self = .rs256(try _RSA.Signing.PrivateKey(derRepresentation: encoding))
        }
    }

    /// What is stored (sealed or not): the P-256 scalar, or the RSA key's PKCS#1 DER.
    var encoding: Data {
        switch self {
        case .es256(let key): key.rawRepresentation
        case .rs256(let key): key.derRepresentation
        }
    }

    /// The public key's RFC 7638 required members: what the kid is the thumbprint of.
    func publicJWK() throws -> [String: JSON] {
        switch self {
        case .es256(let key):
            return P256PublicJWK(key.publicKey).jsonObject
        case .rs256(let key):
            let primitives = try key.publicKey.getKeyPrimitives()
            return ["kty": "RSA", "n": .string(Base64URL.encode(primitives.modulus)), "e": .string(Base64URL.encode(primitives.publicExponent))]
        }
    }

    /// The JWS signature of `signingInput`: ES256's raw `r || s` (RFC 7518 §3.4), RS256's PKCS#1 v1.5 (§3.3).
    func signature(for signingInput: Data) throws -> Data {
        switch self {
        case .es256(let key): try key.signature(for: signingInput).rawRepresentation
        case .rs256(let key): try key.signature(for: signingInput, padding: .insecurePKCS1v1_5).rawRepresentation
        }
    }
}

/// Private keys at rest: with `KEY_ENCRYPTION_SECRET`, sealed by ``SecretSealing`` (bound to the key's kid) as the
/// UTF-8 of the sealed text of the key's base64; without it, kept in clear. Keys sealed by releases before that
/// format (the bare AES-GCM box under the key HKDF derives with ``legacyInfo``, the kid as associated data) still open.
struct PrivateKeySealing: Sendable {
    static let legacyInfo = Data("KyCH signing-key encryption v1".utf8)
    let sealing: SecretSealing
    private let legacyKey: SymmetricKey?

    init(secret: String?) {
        sealing = SecretSealing(secret: secret)
        legacyKey = secret.map {
            HKDF<SHA256>.deriveKey(inputKeyMaterial: SymmetricKey(data: Data($0.utf8)), info: Self.legacyInfo, outputByteCount: 32)
        }
    }

    var encrypts: Bool { sealing.encrypts }

    static func binding(kid: String) -> SealBinding { SealBinding(column: "signing_keys.private_key", row: kid) }

    func seal(_ encoding: Data, kid: String) throws -> (bytes: Data, sealed: Bool) {
        guard encrypts else { return (encoding, false) }
        return (Data(try sealing.seal(encoding.base64EncodedString(), for: Self.binding(kid: kid)).utf8), true)
    }

    func open(_ stored: StoredSigningKey) throws(SigningKeyError) -> Data {
        guard stored.sealed else { return stored.privateKey }
        guard let legacyKey else { throw .secretMissing(kid: stored.kid) }
        guard let text = String(data: stored.privateKey, encoding: .utf8), SecretSealing.isSealed(text) else {
            do {
                return try AES.GCM.open(AES.GCM.SealedBox(combined: stored.privateKey), using: legacyKey, authenticating: Data(stored.kid.utf8))
            } catch {
                throw .undecryptable(kid: stored.kid)
            }
        }
        let base64: String
        do {
            base64 = try sealing.open(text, for: Self.binding(kid: stored.kid))
        } catch {
            throw .undecryptable(kid: stored.kid)
        }
        guard let encoding = Data(base64Encoded: base64) else { throw .malformed(kid: stored.kid) }
        return encoding
    }
}

/// Why a signing key cannot be used. None of the texts holds key material or the secret.
package enum SigningKeyError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A sealed private key, and no `KEY_ENCRYPTION_SECRET` to open it.
    case secretMissing(kid: String)
    /// A sealed private key that `KEY_ENCRYPTION_SECRET` does not open: another secret sealed it, or it was altered.
    case undecryptable(kid: String)
    /// A stored private key that is not a key of its algorithm.
    case malformed(kid: String)
    /// No key of the algorithm signs yet.
    case noCurrentKey(SigningAlgorithm)

    package var description: String {
        switch self {
        case .secretMissing(let kid):
            "signing key \(kid) is stored encrypted but KEY_ENCRYPTION_SECRET is not set"
        case .undecryptable(let kid):
            "signing key \(kid) cannot be decrypted with KEY_ENCRYPTION_SECRET (it was stored under another secret, or altered)"
        case .malformed(let kid):
            "signing key \(kid) is not a valid private key"
        case .noCurrentKey(let algorithm):
            "no \(algorithm.rawValue) signing key is active"
        }
    }
}
