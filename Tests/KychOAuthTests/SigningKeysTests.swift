import Foundation
import KychCore
import KychOAuth
import KychSDJWT
import Testing

/// The signing keys' rules on the in-memory store with a hand-moved clock: first keys, signing, the JWKS, the
/// rotation timeline and private keys at rest.
@Suite struct SigningKeysTests {
    static let secret = "unit-test-key-encryption-secret-0123456789"
    let clock = TestClock()
    let store = InMemoryStore()

    func keys(secret: String? = SigningKeysTests.secret) -> SigningKeys {
        let clock = clock
        return SigningKeys(store: store, encryptionSecret: secret, now: { clock.now })
    }

    func jwks(_ keys: SigningKeys) async throws -> [[String: JSONValue]] {
        try #require(try await keys.jwks()["keys"]?.arrayValue).compactMap(\.objectValue)
    }

    /// The `kid` a token signed now with `algorithm` names.
    func signingKID(_ keys: SigningKeys, _ algorithm: SigningAlgorithm) async throws -> String? {
        try CompactJWS(parsing: try await keys.sign(payload: Data("{}".utf8), algorithm: algorithm)).keyID
    }

    @Test func firstUseCreatesOneKeyPerAlgorithmAndSignsWithIt() async throws {
        let keys = keys()
        let token = try await keys.sign(payload: Data(#"{"sub":"s1"}"#.utf8), algorithm: .es256, type: "at+jwt")
        let published = try await jwks(keys)
        #expect(published.map { $0["alg"] } == ["ES256", "RS256"])
        #expect(published.allSatisfy { $0["use"] == "sig" })
        let ec = try #require(published.first), rsa = try #require(published.last)
        #expect(ec["kty"] == "EC" && ec["crv"] == "P-256" && ec["x"] != nil && ec["y"] != nil)
        #expect(rsa["kty"] == "RSA" && rsa["e"] == "AQAB" && rsa["n"]?.stringValue.flatMap(Base64URL.decode)?.count == 256)
        // The kid is the RFC 7638 thumbprint of the required members.
        #expect(ec["kid"]?.stringValue == JWKThumbprint.of(ec.filter { ["crv", "kty", "x", "y"].contains($0.key) }))
        #expect(rsa["kid"]?.stringValue == JWKThumbprint.of(rsa.filter { ["e", "kty", "n"].contains($0.key) }))

        let jws = try CompactJWS(parsing: token)
        #expect(jws.algorithm == "ES256" && jws.type == "at+jwt" && jws.keyID == ec["kid"]?.stringValue)
        #expect(jws.signature.count == 64)
        try jws.verify(using: try P256PublicJWK(jwk: ec).signingKey())
        #expect(jws.payload == Data(#"{"sub":"s1"}"#.utf8))

        let rs256 = try CompactJWS(parsing: try await keys.sign(payload: Data("{}".utf8), algorithm: .rs256))
        #expect(rs256.algorithm == "RS256" && rs256.keyID == rsa["kid"]?.stringValue && rs256.type == nil)
        #expect(rs256.signature.count == 256)

        // Later uses keep the same keys.
        #expect(try await jwks(keys) == published)
        #expect(await store.signingKeys().count == 2)
    }

    @Test func concurrentFirstUsesCreateOneSetOfKeys() async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<4 { group.addTask { _ = try await keys().jwks() } }
            try await group.waitForAll()
        }
        #expect(await store.signingKeys().map(\.algorithm) == [.es256, .rs256])
    }

    @Test func rotationPublishesAheadSwitchesThenDropsTheOldKeys() async throws {
        let keys = keys()
        let oldES = try await signingKID(keys, .es256), oldRS = try await signingKID(keys, .rs256)
        clock.advance(100)
        let new = try await keys.rotate(publishAhead: 3600, retainAfterRetirement: 86_400)
        #expect(new.map(\.algorithm) == [.es256, .rs256])
        let newES = new[0].kid, newRS = new[1].kid
        #expect(Set([newES, newRS]).isDisjoint(with: [oldES, oldRS].compactMap { $0 }))

        // Published at once, but the old keys still sign.
        #expect(try await jwks(keys).compactMap { $0["kid"]?.stringValue } == [oldES, oldRS, newES, newRS].compactMap { $0 })
        clock.advance(3599)
        #expect(try await signingKID(keys, .es256) == oldES)
        #expect(try await signingKID(keys, .rs256) == oldRS)

        // After publishAhead the new ones sign; the old ones stay published for tokens they signed.
        clock.advance(1)
        #expect(try await signingKID(keys, .es256) == newES)
        #expect(try await signingKID(keys, .rs256) == newRS)
        clock.advance(86_399)
        #expect(try await jwks(keys).count == 4)
        #expect(try await keys.deleteRetiredKeys() == 0)

        // retainAfterRetirement after the takeover they are gone, and the cleanup deletes them.
        clock.advance(1)
        #expect(try await jwks(keys).compactMap { $0["kid"]?.stringValue } == [newES, newRS])
        #expect(try await keys.deleteRetiredKeys() == 2)
        #expect(await store.signingKeys().map(\.kid) == [newES, newRS])
        #expect(try await signingKID(keys, .es256) == newES)
    }

    @Test func aSecondRotationBeforeTheFirstTakesOverRetiresItsKeysToo() async throws {
        let keys = keys()
        _ = try await keys.jwks()
        let first = try await keys.rotate(publishAhead: 3600, retainAfterRetirement: 600)
        clock.advance(60)
        let second = try await keys.rotate(publishAhead: 3600, retainAfterRetirement: 600)
        clock.advance(3599)
        // The first rotation's keys sign from their takeover until the second's, a minute later.
        #expect(try await signingKID(keys, .es256) == first[0].kid)
        clock.advance(1)
        #expect(try await signingKID(keys, .es256) == second[0].kid)
        clock.advance(599)
        #expect(try await jwks(keys).count == 4)
        clock.advance(1)
        #expect(try await jwks(keys).compactMap { $0["kid"]?.stringValue } == second.map(\.kid))
    }

    /// A private key is unsealed and parsed once per process, not per token; a rotation (here by another process,
    /// with its own ``SigningKeys``, and taking over at once) signs from the next token on, and keys gone from the
    /// store are no longer held.
    @Test func aKeyIsOpenedOncePerProcessAndARotatedKeySignsAtOnce() async throws {
        let keys = keys()
        let first = try await signingKID(keys, .es256)
        for _ in 0..<5 { #expect(try await signingKID(keys, .es256) == first) }
        #expect(keys.openedKeys.opens == 1)
        #expect(keys.openedKeys.kids == Set([first].compactMap { $0 }))

        clock.advance(1)
        let rotated = try await self.keys().rotate(publishAhead: 0, retainAfterRetirement: 60)
        #expect(try await signingKID(keys, .es256) == rotated[0].kid)
        #expect(try await signingKID(keys, .es256) == rotated[0].kid)
        #expect(try await signingKID(keys, .rs256) == rotated[1].kid)
        #expect(keys.openedKeys.opens == 3)

        clock.advance(60)
        #expect(try await self.keys().deleteRetiredKeys() == 2)
        #expect(try await signingKID(keys, .es256) == rotated[0].kid)
        #expect(keys.openedKeys.kids == Set(rotated.map(\.kid)))
        #expect(keys.openedKeys.opens == 3)
    }

    @Test func privateKeysAreSealedUnderTheSecretAndOnlyItOpensThem() async throws {
        _ = try await keys().jwks()
        let stored = await store.signingKeys()
        #expect(stored.allSatisfy { $0.sealed })
        try await keys().checkStoredKeys()
        let kid = try #require(stored.first?.kid)

        await #expect(throws: SigningKeyError.undecryptable(kid: kid)) {
            try await keys(secret: "another-secret-of-at-least-32-bytes-long").checkStoredKeys()
        }
        await #expect(throws: SigningKeyError.undecryptable(kid: kid)) {
            _ = try await keys(secret: "another-secret-of-at-least-32-bytes-long").sign(payload: Data(), algorithm: .es256)
        }
        await #expect(throws: SigningKeyError.secretMissing(kid: kid)) { try await keys(secret: nil).checkStoredKeys() }
        #expect(!"\(SigningKeyError.undecryptable(kid: kid))".contains(Self.secret))
    }

    @Test func withoutASecretPrivateKeysAreStoredInClear() async throws {
        let keys = keys(secret: nil)
        #expect(!keys.encryptsPrivateKeys)
        let published = try await jwks(keys)
        let es256 = try #require(await store.signingKeys().first)
        #expect(!es256.sealed && es256.privateKey.count == 32)
        // A secret set later still reads the keys stored before it.
        try await self.keys().checkStoredKeys()
        #expect(try await jwks(self.keys()) == published)
    }
}
