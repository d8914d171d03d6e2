import Crypto
import Foundation

/// A compact-serialized JWS (RFC 7515 §7.1) restricted to ES256 (RFC 7518 §3.4): the signature
/// is the 64-byte `r || s` pair.
package struct CompactJWS: Sendable {
    /// The decoded protected header.
    package let header: [String: JSONValue]
    /// The decoded payload bytes.
    package let payload: Data
    /// The decoded signature bytes.
    package let signature: Data
    /// `BASE64URL(header) "." BASE64URL(payload)`, exactly as received.
    package let signingInput: String

    /// Splits and decodes a compact JWS. The signature is not checked here.
    package init(parsing compact: String) throws(JOSEError) {
        let parts = compact.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3 else { throw .malformed("a compact JWS has three parts") }
        guard let headerBytes = Base64URL.decode(parts[0]),
              let payload = Base64URL.decode(parts[1]),
              let signature = Base64URL.decode(parts[2])
        else { throw .malformed("JWS parts must be base64url") }
        do {
            header = try JSONText.parseObject(headerBytes)
        } catch {
            throw .malformed("JWS header must be a JSON object")
        }
        self.payload = payload
        self.signature = signature
        signingInput = parts[0] + "." + parts[1]
    }

    /// The `alg` header parameter.
    package var algorithm: String? { header["alg"]?.stringValue }
    /// The `typ` header parameter.
    package var type: String? { header["typ"]?.stringValue }
    /// The `kid` header parameter.
    package var keyID: String? { header["kid"]?.stringValue }

    /// The payload parsed as a JSON object (a JWT claims set).
    package func claims() throws(JOSEError) -> [String: JSONValue] {
        do {
            return try JSONText.parseObject(payload)
        } catch {
            throw .malformed("JWS payload must be a JSON object")
        }
    }

    /// Checks that `alg` is ES256, that no `crit` extension is demanded, and that the signature
    /// verifies with `key`.
    package func verify(using key: P256.Signing.PublicKey) throws(JOSEError) {
        guard algorithm == "ES256" else { throw .unsupported("JWS alg must be ES256") }
        guard header["crit"] == nil else { throw .unsupported("JWS crit extensions") }
        guard let ecdsa = try? P256.Signing.ECDSASignature(rawRepresentation: signature),
              key.isValidSignature(ecdsa, for: Data(signingInput.utf8))
        else { throw .invalidSignature }
    }

    /// Signs `payload` with ES256. `header` may omit `alg`; any other `alg` is rejected.
    package static func sign(
        payload: Data, header: [String: JSONValue], using key: P256.Signing.PrivateKey
    ) throws(JOSEError) -> String {
        var header = header
        switch header["alg"] {
        case nil: header["alg"] = "ES256"
        case .string("ES256"): break
        default: throw .unsupported("JWS alg must be ES256")
        }
        return try sign(payload: payload, header: header) { try key.signature(for: $0).rawRepresentation }
    }

    /// Signs `payload` under `header`, which must name the `alg` that `signature` computes: it maps the JWS
    /// signing input to the signature bytes. Each algorithm's signer is one such function.
    package static func sign(
        payload: Data, header: [String: JSONValue], signature: (Data) throws -> Data
    ) throws(JOSEError) -> String {
        let signingInput = Base64URL.encode(JSONText.serialize(header)) + "." + Base64URL.encode(payload)
        do {
            return signingInput + "." + Base64URL.encode(try signature(Data(signingInput.utf8)))
        } catch {
            throw .malformed("signing failed")
        }
    }

    /// Signs a JSON claims set with ES256; see `sign(payload:header:using:)`.
    package static func sign(
        claims: [String: JSONValue], header: [String: JSONValue], using key: P256.Signing.PrivateKey
    ) throws(JOSEError) -> String {
        try sign(payload: JSONText.serialize(claims), header: header, using: key)
    }
}
