import Crypto
import Foundation
import KychSDJWT
import Testing

@Suite("JOSE building blocks: base64url, JSON, JWK, JWS, did:jwk, JWE")
struct SDJWTJOSETests {
    // MARK: - Base64url and JSON

    @Test func base64URLUsesTheURLAlphabetWithoutPadding() throws {
        #expect(Base64URL.encode(Data([0xFB, 0xFF, 0xBF])) == "-_-_")
        #expect(Base64URL.encode(Data([0x66])) == "Zg")
        #expect(Base64URL.decode("-_-_") == Data([0xFB, 0xFF, 0xBF]))
        #expect(Base64URL.decode("Zg") == Data([0x66]))
        #expect(Base64URL.decode("Zg==") == nil)
        #expect(Base64URL.decode("+/+/") == nil)
        #expect(Base64URL.decode("Z") == nil)
        #expect(Base64URL.decode("") == Data())
    }

    @Test func jsonKeepsIntegersAsIntegersAndSortsKeys() throws {
        let text = #"{"b":[1,2.5,-9007199254740993,true,null],"a":"x/\"y\"\n","c":{"z":1e3}}"#
        let parsed = try JSONText.parseObject(Data(text.utf8))
        #expect(parsed["b"] == [.integer(1), .number(2.5), .integer(-9_007_199_254_740_993), true, nil])
        #expect(parsed["c"]?.objectValue?["z"]?.int64Value == 1000)
        let serialized = String(decoding: JSONText.serialize(parsed), as: UTF8.self)
        #expect(serialized.hasPrefix(#"{"a":"x/\"y\"\n","b":[1,2.5,-9007199254740993,true,null],"c":{"z":"#))
        #expect(try JSONText.parseObject(JSONText.serialize(parsed)) == parsed)
        let viaEncodable = try JSONText.parse(JSONEncoder().encode(JSONValue.object(parsed)))
        #expect(viaEncodable == .object(parsed))
    }

    @Test func jsonRejectsNonObjects() {
        #expect(throws: JSONText.ParseError.self) { try JSONText.parseObject(Data("[1]".utf8)) }
        #expect(throws: JSONText.ParseError.self) { try JSONText.parseObject(Data("{".utf8)) }
    }

    // MARK: - JWK

    @Test func jwkRoundTripsAndValidatesThePoint() throws {
        let key = P256.Signing.PrivateKey().publicKey
        let jwk = P256PublicJWK(key)
        let parsed = try P256PublicJWK(jwk: jwk.jsonObject.merging(["kid": "k1", "use": "sig"]) { old, _ in old })
        #expect(try parsed.signingKey().rawRepresentation == key.rawRepresentation)
        #expect(try parsed.keyAgreementKey().rawRepresentation == key.rawRepresentation)

        var offCurve = jwk.jsonObject
        offCurve["y"] = offCurve["x"]
        #expect(throws: JOSEError.self) { try P256PublicJWK(jwk: offCurve) }
        #expect(throws: JOSEError.unsupported("JWK crv must be P-256")) {
            try P256PublicJWK(jwk: jwk.jsonObject.merging(["crv": "P-384"]) { _, new in new })
        }
    }

    @Test func thumbprintMatchesJoserfc() async throws {
        let jwk = P256PublicJWK(P256.Signing.PrivateKey().publicKey)
        let python = try await PythonHelper.run("jose_crosscheck.py", "thumbprint", ["jwk": .object(jwk.jsonObject)])
        #expect(jwk.thumbprint == python)
    }

    // MARK: - JWS

    @Test func jwsSignsAndVerifiesES256() throws {
        let key = P256.Signing.PrivateKey()
        let compact = try CompactJWS.sign(claims: ["sub": "alice", "n": 7], header: ["typ": "JWT"], using: key)
        let jws = try CompactJWS(parsing: compact)

        #expect(jws.algorithm == "ES256")
        #expect(jws.type == "JWT")
        #expect(jws.signature.count == 64)
        #expect(try jws.claims() == ["sub": "alice", "n": 7])
        try jws.verify(using: key.publicKey)
        #expect(throws: JOSEError.invalidSignature) { try jws.verify(using: P256.Signing.PrivateKey().publicKey) }
    }

    @Test func jwsRejectsOtherAlgorithms() throws {
        let key = P256.Signing.PrivateKey()
        #expect(throws: JOSEError.unsupported("JWS alg must be ES256")) {
            try CompactJWS.sign(claims: [:], header: ["alg": "none"], using: key)
        }
        let signed = try CompactJWS.sign(claims: ["a": 1], header: [:], using: key)
        let relabelled = try CompactJWS(parsing: replacingHeader(of: signed, with: ["alg": "HS256"]))
        #expect(throws: JOSEError.unsupported("JWS alg must be ES256")) { try relabelled.verify(using: key.publicKey) }
        #expect(throws: JOSEError.self) { try CompactJWS(parsing: "a.b") }
    }

    // MARK: - did:jwk

    @Test func didJWKResolvesTheSpecificationExample() throws {
        // The P-256 example of the did:jwk specification (members in the order kty, crv, x, y).
        let did = "did:jwk:eyJrdHkiOiJFQyIsImNydiI6IlAtMjU2IiwieCI6ImFjYklRaXVNczNpOF91c3pFakoydHBUdFJNNEVVM3l6OTFQSDZDZEgyVjAiLCJ5IjoiX0tjeUxqOXZXTXB0bm1LdG00NkdxRHo4d2Y3NEk1TEtncmwyR3pIM25TRSJ9"
        let jwk = try DIDJWK.jwk(forKeyID: did + "#0")
        #expect(jwk.jsonObject["x"] == "acbIQiuMs3i8_uszEjJ2tpTtRM4EU3yz91PH6CdH2V0")
        #expect(jwk.jsonObject["y"] == "_KcyLj9vWMptnmKtm46GqDz8wf74I5LKgrl2GzH3nSE")

        let regenerated = DIDJWK.did(for: try jwk.signingKey())
        let json = try #require(Base64URL.decode(String(regenerated.dropFirst("did:jwk:".count))))
        #expect(String(decoding: json, as: UTF8.self)
            == #"{"crv":"P-256","kty":"EC","x":"acbIQiuMs3i8_uszEjJ2tpTtRM4EU3yz91PH6CdH2V0","y":"_KcyLj9vWMptnmKtm46GqDz8wf74I5LKgrl2GzH3nSE"}"#)
    }

    @Test func didJWKResolverRoundTripsAndRejectsOtherKeyIDs() async throws {
        let key = P256.Signing.PrivateKey().publicKey
        let did = DIDJWK.did(for: key)
        let resolver: any DIDResolver = DIDJWKResolver()
        #expect(try await resolver.publicKey(forKeyID: did).rawRepresentation == key.rawRepresentation)
        #expect(try await resolver.publicKey(forKeyID: did + "#0").rawRepresentation == key.rawRepresentation)
        await #expect(throws: JOSEError.self) { try await resolver.publicKey(forKeyID: did + "#1") }
        await #expect(throws: JOSEError.self) { try await resolver.publicKey(forKeyID: "did:web:example.com#0") }
        await #expect(throws: JOSEError.self) { try await resolver.publicKey(forKeyID: "did:jwk:e30") }
    }

    // MARK: - JWE

    @Test func jweRoundTripsAndCarriesTheRequiredHeader() throws {
        let recipient = P256.KeyAgreement.PrivateKey()
        let plaintext = Data(#"{"vp_token":{"betaid":["x~y~"]},"state":"s"}"#.utf8)
        let compact = try CompactJWE.encrypt(plaintext, to: recipient.publicKey, keyID: "verification-key")
        let jwe = try CompactJWE(parsing: compact)

        #expect(jwe.keyID == "verification-key")
        #expect(jwe.header["alg"] == "ECDH-ES")
        #expect(jwe.header["enc"] == "A256GCM")
        #expect(try P256PublicJWK(jwk: try #require(jwe.header["epk"]?.objectValue)).jsonObject["kty"] == "EC")
        #expect(compact.split(separator: ".", omittingEmptySubsequences: false)[1].isEmpty)
        #expect(try jwe.decrypt(using: recipient) == plaintext)
        #expect(throws: JOSEError.decryptionFailed) { try jwe.decrypt(using: P256.KeyAgreement.PrivateKey()) }
    }

    @Test func jweRejectsTamperingAndOtherAlgorithms() throws {
        let recipient = P256.KeyAgreement.PrivateKey()
        let compact = try CompactJWE.encrypt(Data("secret".utf8), to: recipient.publicKey, keyID: "k")
        var parts = compact.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        var ciphertext = try #require(Base64URL.decode(parts[3]))
        ciphertext[0] ^= 1
        parts[3] = Base64URL.encode(ciphertext)
        #expect(throws: JOSEError.decryptionFailed) {
            try CompactJWE(parsing: parts.joined(separator: ".")).decrypt(using: recipient)
        }

        var header = try CompactJWE(parsing: compact).header
        header["enc"] = "A128GCM"
        let relabelled = replacingHeader(of: compact, with: header)
        #expect(throws: JOSEError.unsupported("JWE enc must be A256GCM")) {
            try CompactJWE(parsing: relabelled).decrypt(using: recipient)
        }
    }

    @Test(arguments: [[:], ["apu": "QWxpY2U", "apv": "Qm9i"], ["zip": "DEF"]] as [[String: JSONValue]])
    func jweDecryptsWhatJoserfcEncrypts(extraHeader: [String: JSONValue]) async throws {
        let recipient = P256.KeyAgreement.PrivateKey()
        let plaintext = Data(String(repeating: "swiyu presentation ", count: 50).utf8)
        let compact = try await PythonHelper.run("jose_crosscheck.py", "encrypt", [
            "jwk": .object(P256PublicJWK(recipient.publicKey).jsonObject),
            "kid": "verification-key",
            "plaintext": .string(Base64URL.encode(plaintext)),
            "header": .object(extraHeader),
        ])
        let jwe = try CompactJWE(parsing: compact)
        #expect(jwe.keyID == "verification-key")
        #expect(try jwe.decrypt(using: recipient) == plaintext)
    }

    /// A compressed plaintext may not inflate beyond what a presentation needs (issue 12, finding 7: 3 MiB of zeros
    /// deflate to a few KiB, and anyone can encrypt to a verification's key).
    @Test func jweRefusesAnInflationBomb() async throws {
        let recipient = P256.KeyAgreement.PrivateKey()
        let compact = try await PythonHelper.run("jose_crosscheck.py", "encrypt", [
            "jwk": .object(P256PublicJWK(recipient.publicKey).jsonObject),
            "kid": "verification-key",
            "plaintext": .string(Base64URL.encode(Data(count: 3 << 20))),
            "header": .object(["zip": "DEF"]),
        ])
        #expect(compact.utf8.count < 64 * 1024)
        #expect(throws: JOSEError.malformed("JWE zip content does not inflate")) {
            try CompactJWE(parsing: compact).decrypt(using: recipient)
        }
    }

    @Test(arguments: [[:], ["apu": "QWxpY2U", "apv": "Qm9i"]] as [[String: JSONValue]])
    func joserfcDecryptsWhatWeEncrypt(extraHeader: [String: JSONValue]) async throws {
        let recipient = P256.KeyAgreement.PrivateKey()
        let plaintext = Data(#"{"state":"äöü ✓"}"#.utf8)
        let compact = try CompactJWE.encrypt(
            plaintext, to: recipient.publicKey, keyID: "verification-key", additionalHeader: extraHeader)
        let decrypted = try await PythonHelper.run("jose_crosscheck.py", "decrypt", [
            "jwk": privateJWK(P256PublicJWK(recipient.publicKey), d: recipient.rawRepresentation),
            "jwe": .string(compact),
        ])
        #expect(Base64URL.decode(decrypted) == plaintext)
    }
}
