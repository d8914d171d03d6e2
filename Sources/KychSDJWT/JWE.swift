import Crypto
import Foundation

/// A compact-serialized JWE (RFC 7516 §7.1) with `alg: ECDH-ES` (direct key agreement on P-256,
/// RFC 7518 §4.6) and `enc: A256GCM`. On decryption, `zip: DEF` is accepted.
package struct CompactJWE: Sendable {
    /// The most a `zip: DEF` plaintext may inflate to: what a wallet's presentation needs, as the request body cap
    /// (anyone can encrypt to a verification's public key, so an unbounded ratio would be a memory bomb).
    package static let maxInflatedSize = 2 << 20
    /// The decoded protected header.
    package let header: [String: JSONValue]
    private let encodedHeader: String
    private let initializationVector: Data
    private let ciphertext: Data
    private let tag: Data

    /// Splits and decodes a compact JWE without decrypting it, so that `keyID` can pick the key.
    package init(parsing compact: String) throws(JOSEError) {
        let parts = compact.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 5 else { throw .malformed("a compact JWE has five parts") }
        guard let headerBytes = Base64URL.decode(parts[0]),
              let encryptedKey = Base64URL.decode(parts[1]),
              let initializationVector = Base64URL.decode(parts[2]),
              let ciphertext = Base64URL.decode(parts[3]),
              let tag = Base64URL.decode(parts[4])
        else { throw .malformed("JWE parts must be base64url") }
        do {
            header = try JSONText.parseObject(headerBytes)
        } catch {
            throw .malformed("JWE header must be a JSON object")
        }
        guard encryptedKey.isEmpty else { throw .malformed("ECDH-ES uses no encrypted key") }
        guard initializationVector.count == 12, tag.count == 16 else {
            throw .malformed("A256GCM needs a 96-bit IV and a 128-bit tag")
        }
        encodedHeader = parts[0]
        self.initializationVector = initializationVector
        self.ciphertext = ciphertext
        self.tag = tag
    }

    /// The `kid` header parameter.
    package var keyID: String? { header["kid"]?.stringValue }

    /// Derives the content key with the recipient's private key and decrypts.
    package func decrypt(using privateKey: P256.KeyAgreement.PrivateKey) throws(JOSEError) -> Data {
        guard header["alg"]?.stringValue == "ECDH-ES" else { throw .unsupported("JWE alg must be ECDH-ES") }
        guard header["enc"]?.stringValue == "A256GCM" else { throw .unsupported("JWE enc must be A256GCM") }
        guard header["crit"] == nil else { throw .unsupported("JWE crit extensions") }
        guard let epk = header["epk"]?.objectValue else { throw .malformed("JWE epk missing") }
        let ephemeralKey = try P256PublicJWK(jwk: epk).keyAgreementKey()
        let key = try Self.contentKey(privateKey: privateKey, publicKey: ephemeralKey, header: header)
        let plaintext: Data
        do {
            let box = try AES.GCM.SealedBox(
                nonce: AES.GCM.Nonce(data: initializationVector), ciphertext: ciphertext, tag: tag)
            plaintext = try AES.GCM.open(box, using: key, authenticating: Data(encodedHeader.utf8))
        } catch {
            throw .decryptionFailed
        }
        switch header["zip"] {
        case nil:
            return plaintext
        case .string("DEF"):
            do {
                return try Deflate.inflate(plaintext, maxOutputSize: Self.maxInflatedSize)
            } catch {
                throw .malformed("JWE zip content does not inflate")
            }
        default:
            throw .unsupported("JWE zip must be DEF")
        }
    }

    /// Encrypts to `recipient` with a fresh ephemeral key. The header carries `alg`, `enc`,
    /// `epk`, `kid` and any `additionalHeader` members (such as `apu`/`apv`, which enter the
    /// key derivation).
    package static func encrypt(
        _ plaintext: Data,
        to recipient: P256.KeyAgreement.PublicKey,
        keyID: String,
        additionalHeader: [String: JSONValue] = [:]
    ) throws(JOSEError) -> String {
        let ephemeral = P256.KeyAgreement.PrivateKey()
        var header = additionalHeader
        header["alg"] = "ECDH-ES"
        header["enc"] = "A256GCM"
        header["kid"] = .string(keyID)
        header["epk"] = .object(P256PublicJWK(ephemeral.publicKey).jsonObject)
        guard header["zip"] == nil else { throw .unsupported("JWE compression on encryption") }
        let key = try contentKey(privateKey: ephemeral, publicKey: recipient, header: header)
        let encodedHeader = Base64URL.encode(JSONText.serialize(header))
        do {
            let box = try AES.GCM.seal(plaintext, using: key, authenticating: Data(encodedHeader.utf8))
            return [encodedHeader, "", Base64URL.encode(box.nonce), Base64URL.encode(box.ciphertext),
                    Base64URL.encode(box.tag)].joined(separator: ".")
        } catch {
            throw .malformed("encryption failed")
        }
    }

    /// ECDH on P-256, then the Concat KDF (NIST SP 800-56A, RFC 7518 §4.6.2) with SHA-256 for a
    /// 256-bit key: `SHA-256(counter=1 || Z || AlgorithmID || PartyUInfo || PartyVInfo || SuppPubInfo)`.
    private static func contentKey(
        privateKey: P256.KeyAgreement.PrivateKey,
        publicKey: P256.KeyAgreement.PublicKey,
        header: [String: JSONValue]
    ) throws(JOSEError) -> SymmetricKey {
        let sharedSecret: SharedSecret
        do {
            sharedSecret = try privateKey.sharedSecretFromKeyAgreement(with: publicKey)
        } catch {
            throw .malformed("key agreement failed")
        }
        var otherInfo = lengthPrefixed(Data("A256GCM".utf8))
        for name in ["apu", "apv"] {
            guard let member = header[name] else {
                otherInfo += lengthPrefixed(Data())
                continue
            }
            guard let value = member.stringValue.flatMap(Base64URL.decode) else {
                throw .malformed("JWE \(name) must be base64url")
            }
            otherInfo += lengthPrefixed(value)
        }
        otherInfo += bigEndian(256)
        var hash = SHA256()
        hash.update(data: bigEndian(1))
        sharedSecret.withUnsafeBytes { hash.update(bufferPointer: $0) }
        hash.update(data: otherInfo)
        return SymmetricKey(data: hash.finalize())
    }

    private static func lengthPrefixed(_ data: Data) -> Data {
        bigEndian(UInt32(data.count)) + data
    }

    private static func bigEndian(_ value: UInt32) -> Data {
        withUnsafeBytes(of: value.bigEndian) { Data($0) }
    }
}
