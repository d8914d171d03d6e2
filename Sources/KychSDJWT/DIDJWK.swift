import Crypto
import Foundation

/// Resolves a DID URL used as a JWS `kid` (for example `did:jwk:…#0`) to the P-256 public key
/// it names. Implementations for further DID methods plug in here.
package protocol DIDResolver: Sendable {
    /// The key named by `kid`; throws when the DID or the key cannot be resolved.
    func publicKey(forKeyID kid: String) async throws -> P256.Signing.PublicKey
    /// The key `kid` of an issuer identified by an https URL rather than a DID (SD-JWT VC §5: the keys are in its
    /// JWT VC issuer metadata); throws when the issuer or the key cannot be resolved.
    func publicKey(forKeyID kid: String, ofIssuer issuer: String) async throws -> P256.Signing.PublicKey
}

extension DIDResolver {
    /// DID resolvers know no https issuers.
    package func publicKey(forKeyID kid: String, ofIssuer issuer: String) async throws -> P256.Signing.PublicKey {
        throw JOSEError.unsupported("https issuers (\(issuer.prefix(80)))")
    }

    /// The key of a JWT with header `kid` signed by `issuer` (from ``issuer(ofKeyID:claims:)``).
    func issuerKey(_ kid: String, issuer: String) async throws -> P256.Signing.PublicKey {
        kid.hasPrefix("did:") ? try await publicKey(forKeyID: kid) : try await publicKey(forKeyID: kid, ofIssuer: issuer)
    }
}

/// The issuer of a JWT signed with `kid` and claiming `claims`: the DID of a DID URL `kid`, otherwise the `iss` when it
/// is an http(s) URL (an SD-JWT VC issuer with JWT VC issuer metadata, such as a KyCH instance); nil for anything else.
func issuer(ofKeyID kid: String, claims: [String: JSONValue]) -> String? {
    if kid.hasPrefix("did:") { return didPart(ofKeyID: kid) }
    guard let iss = claims["iss"]?.stringValue, iss.hasPrefix("https://") || iss.hasPrefix("http://") else { return nil }
    return iss
}

/// The `did:jwk` method: the DID is `did:jwk:` followed by the base64url JSON of a public JWK,
/// and its single verification method is `#0`.
package enum DIDJWK {
    static let prefix = "did:jwk:"

    /// The `did:jwk` DID of a key. The JWK JSON has sorted members, so the DID is deterministic.
    package static func did(for key: P256.Signing.PublicKey) -> String {
        prefix + Base64URL.encode(JSONText.serialize(P256PublicJWK(key).jsonObject))
    }

    /// The key of a `did:jwk` DID, or of its DID URL with the fragment `#0`.
    package static func jwk(forKeyID kid: String) throws(JOSEError) -> P256PublicJWK {
        let did = didPart(ofKeyID: kid)
        guard kid == did || kid == did + "#0" else { throw .malformed("did:jwk key id fragment must be #0") }
        guard did.hasPrefix(prefix),
              let json = Base64URL.decode(String(did.dropFirst(prefix.count)))
        else { throw .malformed("not a did:jwk DID") }
        let object: [String: JSONValue]
        do {
            object = try JSONText.parseObject(json)
        } catch {
            throw .malformed("did:jwk does not hold a JSON JWK")
        }
        return try P256PublicJWK(jwk: object)
    }
}

/// A `DIDResolver` for `did:jwk` only.
package struct DIDJWKResolver: DIDResolver {
    package init() {}

    package func publicKey(forKeyID kid: String) throws(JOSEError) -> P256.Signing.PublicKey {
        try DIDJWK.jwk(forKeyID: kid).signingKey()
    }
}

/// The DID part of a DID URL: everything before the first `#`.
func didPart(ofKeyID kid: String) -> String {
    String(kid.prefix { $0 != "#" })
}
