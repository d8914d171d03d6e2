import Crypto
import Foundation
import JWTKit
import KychCore
import KychSDJWT

/// A compact JWS whose signature was checked: its decoded header and claims.
package struct VerifiedJWT: Sendable {
    package var header: [String: JSON]
    package var claims: [String: JSON]

    package init(header: [String: JSON], claims: [String: JSON]) {
        self.header = header
        self.claims = claims
    }

    /// The claim as a string; nil when absent or not a string.
    package func string(_ claim: String) -> String? { claims[claim]?.stringValue }

    /// A NumericDate claim (`exp`, `iat`, `nbf`) in whole seconds; nil when absent or not a number.
    package func integer(_ claim: String) -> Int64? {
        switch claims[claim] {
        case .integer(let value): value
        case .number(let value) where value.isFinite && abs(value) < 1e15: Int64(value)
        default: nil
        }
    }

    /// `aud`, a string or an array of strings (RFC 7519 §4.1.3).
    package func audiences() -> [String] {
        switch claims["aud"] {
        case .string(let audience): [audience]
        case .array(let values): values.compactMap(\.stringValue)
        default: []
        }
    }
}

/// Why a client-signed JWT was refused: a short reason for `error_description`, never the token itself.
package struct JWTRefusal: Error, Sendable, Equatable, CustomStringConvertible {
    package var reason: String
    package init(_ reason: String) { self.reason = reason }
    package var description: String { reason }
}

/// What clients sign (DPoP proofs, client assertions, request objects), checked against the public keys they
/// registered or sent. Our own parser splits the token (it is fuzzed); the signature is checked by JWTKit, a
/// maintained JOSE library, never by our own code. Only asymmetric algorithms count: `none` and HMAC would let
/// anyone who knows a public key (or nothing) sign.
package enum ClientSignedJWT {
    /// The JWS algorithms accepted from clients (RFC 9449 §3.1, RFC 9101 §10.8, RFC 7523).
    package static let algorithms = ["ES256", "ES384", "ES512", "PS256", "PS384", "PS512", "RS256", "RS384", "RS512", "EdDSA"]

    /// The header of a compact JWS, not verified: to read `typ`, `jwk` or `kid` before the key is chosen.
    package static func header(of compact: String) throws(JWTRefusal) -> [String: JSON] {
        try parse(compact).header
    }

    /// Checks `compact` with the one public JWK `key`.
    package static func verify(_ compact: String, key: [String: JSON], algorithms: [String] = algorithms) async throws(JWTRefusal) -> VerifiedJWT {
        let jws = try parse(compact)
        let alg = try algorithm(of: jws, allowed: algorithms)
        try await check(jws, alg: alg, with: key)
        return try verified(jws)
    }

    /// Checks `compact` with a JWK Set (`{"keys": [...]}`): the key the header's `kid` names, or else each key that
    /// fits the algorithm.
    package static func verify(_ compact: String, keySet: [String: JSON], algorithms: [String] = algorithms) async throws(JWTRefusal) -> VerifiedJWT {
        let jws = try parse(compact)
        let alg = try algorithm(of: jws, allowed: algorithms)
        let keys = (keySet["keys"]?.arrayValue ?? []).compactMap(\.objectValue)
        let candidates: [[String: JSON]]
        if let kid = jws.keyID {
            candidates = keys.filter { $0["kid"]?.stringValue == kid }
            guard !candidates.isEmpty else { throw JWTRefusal("no registered key has the kid the JWT names") }
        } else {
            candidates = keys.filter { keyType(for: alg) == $0["kty"]?.stringValue && $0["use"]?.stringValue != "enc" }
            guard !candidates.isEmpty else { throw JWTRefusal("no registered key fits the alg \(alg)") }
        }
        var lastRefusal = JWTRefusal("the signature does not verify with the registered keys")
        for key in candidates {
            do {
                try await check(jws, alg: alg, with: key)
                return try verified(jws)
            } catch {
                lastRefusal = error
            }
        }
        throw candidates.count == 1 ? lastRefusal : JWTRefusal("the signature does not verify with any registered key")
    }

    /// RFC 7638 thumbprint of a public JWK: base64url SHA-256 of its required members in canonical JSON.
    package static func thumbprint(of jwk: [String: JSON]) throws(JWTRefusal) -> String {
        guard let required = JWKSetRules.requiredMembers[jwk["kty"]?.stringValue ?? ""] else {
            throw JWTRefusal("the JWK's kty must be EC, RSA or OKP")
        }
        var members: [String: JSON] = [:]
        for name in required {
            guard let value = jwk[name], value.stringValue != nil else { throw JWTRefusal("the JWK lacks its \(name) member") }
            members[name] = value
        }
        return JWKThumbprint.of(members)
    }

    /// Whether a JWK carries private key material.
    package static func hasPrivateMembers(_ jwk: [String: JSON]) -> Bool { JWKSetRules.hasPrivateMembers(jwk) }

    // MARK: checks

    private static func parse(_ compact: String) throws(JWTRefusal) -> CompactJWS {
        guard compact.utf8.count <= 16 * 1024 else { throw JWTRefusal("the JWT is longer than 16 KiB") }
        do {
            return try CompactJWS(parsing: compact)
        } catch {
            throw JWTRefusal("not a compact JWS (\(error))")
        }
    }

    private static func algorithm(of jws: CompactJWS, allowed: [String]) throws(JWTRefusal) -> String {
        guard let alg = jws.algorithm else { throw JWTRefusal("the JWT header has no alg") }
        guard allowed.contains(alg) else {
            throw JWTRefusal("the alg \(alg) is not accepted (asymmetric only: \(allowed.joined(separator: ", ")))")
        }
        guard jws.header["crit"] == nil else { throw JWTRefusal("crit header parameters are not supported") }
        return alg
    }

    private static func keyType(for alg: String) -> String {
        if alg.hasPrefix("ES") { return "EC" }
        if alg == "EdDSA" { return "OKP" }
        return "RSA"
    }

    /// The curve each EC algorithm signs with (RFC 7518 §3.4); EdDSA takes Ed25519 (RFC 8037).
    private static let curves = ["ES256": "P-256", "ES384": "P-384", "ES512": "P-521", "EdDSA": "Ed25519"]

    /// Checks the signature with `key` through JWTKit, after matching the key to `alg`: its type, curve and size,
    /// and its own `alg` if it names one.
    private static func check(_ jws: CompactJWS, alg: String, with key: [String: JSON]) async throws(JWTRefusal) {
        guard !hasPrivateMembers(key) else { throw JWTRefusal("the JWK holds a private key") }
        guard key["kty"]?.stringValue == keyType(for: alg) else { throw JWTRefusal("the key's kty does not fit the alg \(alg)") }
        if let curve = curves[alg], key["crv"]?.stringValue != curve { throw JWTRefusal("the key's crv does not fit the alg \(alg)") }
        if let keyAlg = key["alg"]?.stringValue, keyAlg != alg { throw JWTRefusal("the key is registered for \(keyAlg), not \(alg)") }
        if key["kty"]?.stringValue == "RSA" {
            guard let n = key["n"]?.stringValue, let modulus = Base64URL.decode(n), modulus.drop(while: { $0 == 0 }).count >= 256 else {
                throw JWTRefusal("RSA keys must have at least 2048 bits")
            }
        }
        var members = key
        members["kid"] = "k"
        members["alg"] = .string(alg)
        let verified: Bool
        do {
            let jwk = try JSONDecoder().decode(JWK.self, from: JSONText.serialize(.object(members)))
            let collection = JWTKeyCollection()
            try await collection.add(jwk: jwk)
            let algorithm = try await collection.getKey(for: "k", alg: alg)
            guard algorithm.name == alg else { throw JWTRefusal("the key does not fit the alg \(alg)") }
            verified = try algorithm.verify(jws.signature, signs: Data(jws.signingInput.utf8))
        } catch let refusal as JWTRefusal {
            throw refusal
        } catch {
            throw JWTRefusal("the JWK is not a usable \(alg) public key")
        }
        guard verified else { throw JWTRefusal("the signature does not verify") }
    }

    private static func verified(_ jws: CompactJWS) throws(JWTRefusal) -> VerifiedJWT {
        do {
            return VerifiedJWT(header: jws.header, claims: try jws.claims())
        } catch {
            throw JWTRefusal("the JWT payload is not a JSON object")
        }
    }
}
