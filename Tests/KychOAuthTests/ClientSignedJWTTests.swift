import Crypto
import _CryptoExtras
import Foundation
import KychCore
import KychOAuth
import KychSDJWT
import Testing

/// The checks of what clients sign. Test tokens are assembled here and signed by swift-crypto directly, so KyCH's
/// own signing code is not what checks itself; the end-to-end tests use PyPI joserfc.
@Suite struct ClientSignedJWTTests {
    static func b64(_ data: some DataProtocol) -> String {
        Data(data).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func json(_ object: [String: JSON]) -> String { b64(JSONText.serialize(.object(object))) }

    /// A compact JWS over `header` and `claims`, signed by `sign`.
    static func token(_ header: [String: JSON], _ claims: [String: JSON], sign: (Data) throws -> Data) rethrows -> String {
        let input = json(header) + "." + json(claims)
        return input + "." + b64(try sign(Data(input.utf8)))
    }

    static func ecJWK(_ key: P256.Signing.PublicKey, kid: String? = nil) -> [String: JSON] {
        let raw = key.rawRepresentation
        var jwk: [String: JSON] = ["kty": "EC", "crv": "P-256", "x": .string(b64(raw.prefix(32))), "y": .string(b64(raw.suffix(32)))]
        if let kid { jwk["kid"] = .string(kid) }
        return jwk
    }

    static func rsaJWK(_ key: _RSA.Signing.PublicKey) throws -> [String: JSON] {
        let p = try key.getKeyPrimitives()
        return ["kty": "RSA", "n": .string(b64(p.modulus)), "e": .string(b64(p.publicExponent))]
    }

    let claims: [String: JSON] = ["iss": "client-1", "aud": .array(["https://kych.example", "other"]), "exp": 2_000_000_000]

    @Test func anES256TokenVerifiesWithItsKeyAndNoOther() async throws {
        let key = P256.Signing.PrivateKey()
        let token = try Self.token(["alg": "ES256", "typ": "dpop+jwt"], claims) { try key.signature(for: $0).rawRepresentation }
        let verified = try await ClientSignedJWT.verify(token, key: Self.ecJWK(key.publicKey))
        #expect(verified.string("iss") == "client-1")
        #expect(verified.integer("exp") == 2_000_000_000)
        #expect(verified.audiences() == ["https://kych.example", "other"])
        #expect(verified.header["typ"] == "dpop+jwt")
        await #expect(throws: JWTRefusal("the signature does not verify")) {
            try await ClientSignedJWT.verify(token, key: Self.ecJWK(P256.Signing.PrivateKey().publicKey))
        }
        // A changed payload under the same signature.
        let parts = token.split(separator: ".")
        let tampered = parts[0] + "." + Self.json(["iss": "client-2"]) + "." + parts[2]
        await #expect(throws: JWTRefusal("the signature does not verify")) {
            try await ClientSignedJWT.verify(String(tampered), key: Self.ecJWK(key.publicKey))
        }
    }

    @Test func noneHMACAndMismatchedKeysAreRefused() async throws {
        let key = P256.Signing.PrivateKey()
        let jwk = Self.ecJWK(key.publicKey)
        let unsigned = Self.json(["alg": "none"]) + "." + Self.json(claims) + "."
        await #expect(throws: JWTRefusal.self) { try await ClientSignedJWT.verify(unsigned, key: jwk) }
        // HS256 keyed with the public key's bytes: the classic confusion attack.
        let secret = SymmetricKey(data: Data(JSONText.serialize(.object(jwk))))
        let hmac = Self.token(["alg": "HS256"], claims) { Data(HMAC<SHA256>.authenticationCode(for: $0, using: secret)) }
        do {
            _ = try await ClientSignedJWT.verify(hmac, key: jwk)
            Issue.record("HS256 accepted")
        } catch {
            #expect(error.reason.contains("HS256 is not accepted"))
        }
        let es256 = try Self.token(["alg": "ES256"], claims) { try key.signature(for: $0).rawRepresentation }
        var privateJWK = jwk
        privateJWK["d"] = .string(Self.b64(key.rawRepresentation))
        await #expect(throws: JWTRefusal("the JWK holds a private key")) { try await ClientSignedJWT.verify(es256, key: privateJWK) }
        var wrongCurve = jwk
        wrongCurve["crv"] = "P-384"
        await #expect(throws: JWTRefusal("the key's crv does not fit the alg ES256")) { try await ClientSignedJWT.verify(es256, key: wrongCurve) }
        var otherAlg = jwk
        otherAlg["alg"] = "ES384"
        await #expect(throws: JWTRefusal("the key is registered for ES384, not ES256")) { try await ClientSignedJWT.verify(es256, key: otherAlg) }
        let critical = try Self.token(["alg": "ES256", "crit": .array(["exp"])], claims) { try key.signature(for: $0).rawRepresentation }
        await #expect(throws: JWTRefusal("crit header parameters are not supported")) { try await ClientSignedJWT.verify(critical, key: jwk) }
    }

    @Test func rsaAndEdDSATokensVerifyAndShortRSAKeysAreRefused() async throws {
        let rsa = try _RSA.Signing.PrivateKey(keySize: .bits2048)
        let rs256 = try Self.token(["alg": "RS256"], claims) {
            try rsa.signature(for: SHA256.hash(data: $0), padding: .insecurePKCS1v1_5).rawRepresentation
        }
        #expect(try await ClientSignedJWT.verify(rs256, key: try Self.rsaJWK(rsa.publicKey)).string("iss") == "client-1")
        let ps256 = try Self.token(["alg": "PS256"], claims) { try rsa.signature(for: SHA256.hash(data: $0), padding: .PSS).rawRepresentation }
        #expect(try await ClientSignedJWT.verify(ps256, key: try Self.rsaJWK(rsa.publicKey)).string("iss") == "client-1")
        // The RS256 signature does not pass as PS256.
        let relabelled = Self.json(["alg": "PS256"]) + "." + Self.json(claims) + "." + rs256.split(separator: ".")[2]
        await #expect(throws: JWTRefusal.self) { try await ClientSignedJWT.verify(relabelled, key: try Self.rsaJWK(rsa.publicKey)) }

        let short = try _RSA.Signing.PrivateKey(unsafeKeySize: .init(bitCount: 1024))
        let weak = try Self.token(["alg": "RS256"], claims) {
            try short.signature(for: SHA256.hash(data: $0), padding: .insecurePKCS1v1_5).rawRepresentation
        }
        await #expect(throws: JWTRefusal("RSA keys must have at least 2048 bits")) {
            try await ClientSignedJWT.verify(weak, key: try Self.rsaJWK(short.publicKey))
        }

        let ed = Curve25519.Signing.PrivateKey()
        let eddsa = try Self.token(["alg": "EdDSA"], claims) { try ed.signature(for: $0) }
        let edJWK: [String: JSON] = ["kty": "OKP", "crv": "Ed25519", "x": .string(Self.b64(ed.publicKey.rawRepresentation))]
        #expect(try await ClientSignedJWT.verify(eddsa, key: edJWK).string("iss") == "client-1")
    }

    @Test func aKeySetIsSearchedByKidOrByAlgorithm() async throws {
        let first = P256.Signing.PrivateKey(), second = P256.Signing.PrivateKey()
        let set: [String: JSON] = ["keys": .array([.object(Self.ecJWK(first.publicKey, kid: "one")),
                                                   .object(Self.ecJWK(second.publicKey, kid: "two"))])]
        let byKid = try Self.token(["alg": "ES256", "kid": "two"], claims) { try second.signature(for: $0).rawRepresentation }
        #expect(try await ClientSignedJWT.verify(byKid, keySet: set).string("iss") == "client-1")
        let noKid = try Self.token(["alg": "ES256"], claims) { try second.signature(for: $0).rawRepresentation }
        #expect(try await ClientSignedJWT.verify(noKid, keySet: set).string("iss") == "client-1")
        let unknownKid = try Self.token(["alg": "ES256", "kid": "three"], claims) { try second.signature(for: $0).rawRepresentation }
        await #expect(throws: JWTRefusal("no registered key has the kid the JWT names")) {
            try await ClientSignedJWT.verify(unknownKid, keySet: set)
        }
        let stranger = try Self.token(["alg": "ES256"], claims) { try P256.Signing.PrivateKey().signature(for: $0).rawRepresentation }
        await #expect(throws: JWTRefusal("the signature does not verify with any registered key")) {
            try await ClientSignedJWT.verify(stranger, keySet: set)
        }
    }

    /// RFC 7638 §3.1's example key and thumbprint.
    @Test func thumbprintsFollowRFC7638() throws {
        let key: [String: JSON] = [
            "kty": "RSA", "e": "AQAB", "alg": "RS256", "kid": "2011-04-29",
            "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
        ]
        #expect(try ClientSignedJWT.thumbprint(of: key) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs")
        #expect(throws: JWTRefusal("the JWK's kty must be EC, RSA or OKP")) { try ClientSignedJWT.thumbprint(of: ["kty": "oct", "k": "c2VjcmV0"]) }
    }

    @Test func registeredKeySetsMustHoldUsablePublicKeys() {
        let jwk = Self.ecJWK(P256.Signing.PrivateKey().publicKey)
        #expect(JWKSetRules.problem(["keys": .array([.object(jwk)])]) == nil)
        #expect(JWKSetRules.problem(jsonText: "not json") != nil)
        #expect(JWKSetRules.problem(["keys": .array([])]) == "has no keys")
        var withPrivate = jwk
        withPrivate["d"] = "AAAA"
        #expect(JWKSetRules.problem(["keys": .array([.object(withPrivate)])]) == "holds a private key: register the public keys only")
        #expect(JWKSetRules.problem(["keys": .array([.object(["kty": "oct", "k": "AAAA"])])]) != nil)
        var incomplete = jwk
        incomplete["y"] = nil
        #expect(JWKSetRules.problem(["keys": .array([.object(incomplete)])]) == "has a key without its y member")
    }
}
