import Crypto
import Foundation

/// Errors of the JOSE layer (JWK, JWS, JWE, did:jwk).
package enum JOSEError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The input is not well-formed; the text says what is wrong.
    case malformed(String)
    /// An `alg`, `enc`, `zip`, `kty` or `crv` value this library does not support.
    case unsupported(String)
    /// The signature does not verify.
    case invalidSignature
    /// Authenticated decryption failed (wrong key or tampered data).
    case decryptionFailed

    package var description: String {
        switch self {
        case .malformed(let detail): "malformed: \(detail)"
        case .unsupported(let detail): "unsupported: \(detail)"
        case .invalidSignature: "invalid signature"
        case .decryptionFailed: "decryption failed"
        }
    }
}

/// A P-256 public key as a JWK (`{"kty":"EC","crv":"P-256","x":…,"y":…}`, RFC 7517/7518 §6.2.1).
package struct P256PublicJWK: Sendable, Hashable {
    /// The uncompressed point without its `0x04` prefix: `x || y`, 32 bytes each.
    package let rawRepresentation: Data

    package init(_ key: P256.Signing.PublicKey) {
        rawRepresentation = key.rawRepresentation
    }

    package init(_ key: P256.KeyAgreement.PublicKey) {
        rawRepresentation = key.rawRepresentation
    }

    /// Reads a JWK object. Members other than `kty`, `crv`, `x` and `y` are ignored.
    /// The point is checked to be on the curve.
    package init(jwk: [String: JSONValue]) throws(JOSEError) {
        guard jwk["kty"]?.stringValue == "EC" else { throw .unsupported("JWK kty must be EC") }
        guard jwk["crv"]?.stringValue == "P-256" else { throw .unsupported("JWK crv must be P-256") }
        guard let x = jwk["x"]?.stringValue.flatMap(Base64URL.decode), x.count == 32,
              let y = jwk["y"]?.stringValue.flatMap(Base64URL.decode), y.count == 32
        else { throw .malformed("JWK x and y must be 32-byte base64url values") }
        rawRepresentation = x + y
        _ = try signingKey()
    }

    /// The JWK members `kty`, `crv`, `x`, `y`.
    package var jsonObject: [String: JSONValue] {
        [
            "kty": "EC",
            "crv": "P-256",
            "x": .string(Base64URL.encode(rawRepresentation.prefix(32))),
            "y": .string(Base64URL.encode(rawRepresentation.suffix(32))),
        ]
    }

    /// The key for ES256 signature verification.
    package func signingKey() throws(JOSEError) -> P256.Signing.PublicKey {
        do {
            return try P256.Signing.PublicKey(rawRepresentation: rawRepresentation)
        } catch {
            throw .malformed("JWK is not a valid P-256 point")
        }
    }

    /// The key for ECDH key agreement.
    package func keyAgreementKey() throws(JOSEError) -> P256.KeyAgreement.PublicKey {
        do {
            return try P256.KeyAgreement.PublicKey(rawRepresentation: rawRepresentation)
        } catch {
            throw .malformed("JWK is not a valid P-256 point")
        }
    }

    /// The RFC 7638 thumbprint.
    package var thumbprint: String { JWKThumbprint.of(jsonObject) }
}

/// RFC 7638 JWK thumbprints.
package enum JWKThumbprint {
    /// base64url(SHA-256 of `requiredMembers` in canonical JSON); the caller passes exactly the members RFC 7638
    /// §3.2 requires for the key type (EC: crv, kty, x, y; RSA: e, kty, n).
    package static func of(_ requiredMembers: [String: JSONValue]) -> String {
        Base64URL.encode(SHA256.hash(data: JSONText.serialize(requiredMembers)))
    }
}
