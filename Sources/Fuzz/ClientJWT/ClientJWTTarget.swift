import Crypto
import Foundation
import KychCore
import KychFuzzSupport
import KychOAuth
import KychSDJWT

/// `ClientSignedJWT`, which checks what clients sign (DPoP proofs, client assertions, request objects): our parser
/// splits the JWS, JWTKit builds the key from a JWK the sender chooses and checks the signature. The first byte picks
/// the mode. Bit 0 set: the rest is a JSON object used as the JWK for a fixed ES256 token signed by the fixture key;
/// it may verify only when that JWK is the fixture key's public key. Else: the rest is a compact JWS, checked with the
/// `jwk` of its own header (as a DPoP proof) and with the fixture key set (as a client assertion); whatever is
/// accepted has an accepted `alg` and no private key, and an ES256 acceptance by the key set is a signature that
/// swift-crypto confirms for the fixture key.
@main enum ClientJWTTarget: FuzzTarget {
    static let name = "client-jwt"
    static let key = try! P256.Signing.PrivateKey(rawRepresentation: Data(SHA256.hash(data: Data("kych-fuzz client".utf8))))
    static let jwk = P256PublicJWK(key.publicKey).jsonObject
    static let keySet: [String: JSONValue] = ["keys": .array([.object(jwk.merging(["kid": "client-1"]) { $1 })])]
    static let token = try! CompactJWS.sign(claims: ["iss": "client", "jti": "1"], header: ["typ": "dpop+jwt", "jwk": .object(jwk)], using: key)

    static func run(_ input: Data) -> Bool {
        guard let mode = input.first else { return false }
        if mode & 1 == 1 {
            guard let candidate = try? JSONText.parseObject(input.dropFirst()) else { return false }
            let accepted = runBlocking { (try? await ClientSignedJWT.verify(token, key: candidate)) != nil }
            if accepted {
                // Compared as bytes: base64url text may differ in the unused bits of its last character.
                FuzzCheck.require(coordinate(candidate["x"]) == coordinate(jwk["x"]) && coordinate(candidate["y"]) == coordinate(jwk["y"]),
                                  "a token verified with another key")
                FuzzCheck.require(!ClientSignedJWT.hasPrivateMembers(candidate), "a private JWK accepted")
            }
            _ = try? ClientSignedJWT.thumbprint(of: candidate)
            return accepted
        }
        let compact = String(decoding: input.dropFirst(), as: UTF8.self)
        let header = try? ClientSignedJWT.header(of: compact)
        let ownKey = header?["jwk"]?.objectValue
        let (byOwnKey, byKeySet) = runBlocking { () -> (VerifiedJWT?, VerifiedJWT?) in
            let own = if let ownKey { try? await ClientSignedJWT.verify(compact, key: ownKey) } else { VerifiedJWT?.none }
            return (own, try? await ClientSignedJWT.verify(compact, keySet: keySet))
        }
        for verified in [byOwnKey, byKeySet].compactMap({ $0 }) {
            let alg = verified.header["alg"]?.stringValue ?? ""
            FuzzCheck.require(ClientSignedJWT.algorithms.contains(alg), "a JWT accepted with alg \(alg)")
            FuzzCheck.require(verified.header["crit"] == nil, "a JWT with crit accepted")
        }
        if let ownKey, byOwnKey != nil { FuzzCheck.require(!ClientSignedJWT.hasPrivateMembers(ownKey), "a private header JWK accepted") }
        if byKeySet != nil, let jws = try? CompactJWS(parsing: compact), jws.algorithm == "ES256" {
            let signature = try? P256.Signing.ECDSASignature(rawRepresentation: jws.signature)
            FuzzCheck.require(signature.map { key.publicKey.isValidSignature($0, for: Data(jws.signingInput.utf8)) } == true,
                              "an ES256 signature swift-crypto refuses was accepted")
        }
        return byOwnKey != nil || byKeySet != nil
    }

    /// A coordinate's bytes, read leniently (padding added, the last character's unused bits ignored, as Foundation does).
    static func coordinate(_ value: JSONValue?) -> Data? {
        guard var text = value?.stringValue?.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/") else { return nil }
        while text.count % 4 != 0 { text += "=" }
        return Data(base64Encoded: text)
    }

    static func seeds() throws -> [String: Data] {
        ["dpop-proof": Data([0]) + Data(token.utf8), "fixture-jwk": Data([1]) + JSONText.serialize(.object(jwk)),
         "private-jwk": Data([1]) + JSONText.serialize(.object(jwk.merging(["d": .string(Base64URL.encode(key.rawRepresentation))]) { $1 }))]
    }
}
