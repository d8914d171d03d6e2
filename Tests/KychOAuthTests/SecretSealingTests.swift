import Crypto
import Foundation
import KychCore
import KychOAuth
import KychSDJWT
import Testing

/// Secrets at rest: the one sealing format (``SecretSealing``), the client repository that seals verifier bearer
/// tokens and webhook keys, and signing keys sealed by earlier releases.
@Suite struct SecretSealingTests {
    static let secret = "unit-test-key-encryption-secret-0123456789"
    static let sealing = SecretSealing(secret: secret)
    static let rowA = SealBinding(column: "clients.verifier_bearer_token", row: "client-a")
    static let rowB = SealBinding(column: "clients.verifier_bearer_token", row: "client-b")

    @Test func aSealedValueIsSelfDescribingAndOpensOnlyForItsRowAndSecret() throws {
        let value = "secret-token:verifier-bearer-0123456789"
        let sealed = try Self.sealing.seal(value, for: Self.rowA)
        #expect(sealed.hasPrefix("kych-sealed:v1:") && !sealed.contains(value))
        #expect(try Self.sealing.seal(value, for: Self.rowA) != sealed, "a fresh nonce each time")
        #expect(try Self.sealing.open(sealed, for: Self.rowA) == value)
        // Moved to another row, or another column of the same row, it does not open.
        #expect(throws: SecretSealingError.undecryptable(Self.rowB)) { try Self.sealing.open(sealed, for: Self.rowB) }
        let otherColumn = SealBinding(column: "clients.webhook_api_key_value", row: "client-a")
        #expect(throws: SecretSealingError.undecryptable(otherColumn)) { try Self.sealing.open(sealed, for: otherColumn) }
        // Another secret, no secret, an altered value: a clear error that holds neither value nor secret.
        let other = SecretSealing(secret: "another-secret-of-at-least-32-bytes-long")
        #expect(throws: SecretSealingError.undecryptable(Self.rowA)) { try other.open(sealed, for: Self.rowA) }
        #expect(throws: SecretSealingError.secretMissing(Self.rowA)) { try SecretSealing.unencrypted.open(sealed, for: Self.rowA) }
        #expect(throws: SecretSealingError.undecryptable(Self.rowA)) { try Self.sealing.open(sealed + "A", for: Self.rowA) }
        #expect(throws: SecretSealingError.undecryptable(Self.rowA)) { try Self.sealing.open("kych-sealed:v1:%%", for: Self.rowA) }
        let message = "\(SecretSealingError.undecryptable(Self.rowA))"
        #expect(message.contains("clients.verifier_bearer_token of client-a") && !message.contains(Self.secret) && !message.contains(value))
    }

    @Test func clearValuesPassThroughAndWithoutASecretNothingIsSealed() throws {
        #expect(try Self.sealing.open("secret-token:stored-in-clear", for: Self.rowA) == "secret-token:stored-in-clear")
        #expect(try Self.sealing.open(nil as String?, for: Self.rowA) == nil)
        #expect(try SecretSealing.unencrypted.seal("plain", for: Self.rowA) == "plain")
        #expect(!SecretSealing.unencrypted.encrypts && Self.sealing.encrypts)
    }

    @Test func aDetachedSealKeepsTheWidthAndOpensOnlyWithItsEnvelopeAndRow() throws {
        let scalar = P256.KeyAgreement.PrivateKey().rawRepresentation
        let (ciphertext, envelope) = try Self.sealing.sealDetached(scalar, for: Self.rowA)
        #expect(ciphertext.count == scalar.count && ciphertext != scalar)
        let sealedEnvelope = try #require(envelope)
        #expect(sealedEnvelope.hasPrefix("kych-sealed:v1:"))
        #expect(try Self.sealing.openDetached(ciphertext, envelope: sealedEnvelope, for: Self.rowA) == scalar)
        #expect(throws: SecretSealingError.undecryptable(Self.rowB)) {
            try Self.sealing.openDetached(ciphertext, envelope: sealedEnvelope, for: Self.rowB)
        }
        #expect(throws: SecretSealingError.secretMissing(Self.rowA)) {
            try SecretSealing.unencrypted.openDetached(ciphertext, envelope: sealedEnvelope, for: Self.rowA)
        }
        #expect(try Self.sealing.openDetached(scalar, envelope: nil, for: Self.rowA) == scalar)
        #expect(try SecretSealing.unencrypted.sealDetached(scalar, for: Self.rowA) == (scalar, nil))
    }

    static func client(_ id: String, token: String? = "secret-token:bearer-\(UUID())", webhookKey: String? = "secret-token:hook") -> Client {
        Client(clientID: id, secretHash: nil, verifierURL: "https://verifier.example", verifierBearerToken: token,
               redirectURI: "https://client.example/cb", webhookAPIKeyHeader: webhookKey.map { _ in "X-Api-Key" },
               webhookAPIKeyValue: webhookKey)
    }

    @Test func theClientRepositoryStoresSealedAndReadsClear() async throws {
        let store = InMemoryStore()
        let clients = SealedClientRepository(store, sealing: Self.sealing)
        let a = Self.client("client-a"), b = Self.client("client-b", webhookKey: nil)
        try await clients.createClient(a)
        _ = try await clients.syncClients([b], prune: false)

        let rawA = try #require(await store.client(id: "client-a"))
        #expect(rawA.verifierBearerToken?.hasPrefix("kych-sealed:v1:") == true && rawA.webhookAPIKeyValue?.hasPrefix("kych-sealed:v1:") == true)
        #expect(rawA.verifierBearerToken != a.verifierBearerToken && rawA.webhookAPIKeyValue != a.webhookAPIKeyValue)
        #expect(await store.client(id: "client-b")?.webhookAPIKeyValue == nil)
        #expect(try await clients.client(id: "client-a") == a)
        #expect(try await clients.listClients() == [a, b])

        // A's sealed token copied into B's row does not open there.
        var swapped = try #require(await store.client(id: "client-b"))
        swapped.verifierBearerToken = rawA.verifierBearerToken
        try await store.updateClient(swapped)
        await #expect(throws: SecretSealingError.undecryptable(SealBinding(column: "clients.verifier_bearer_token", row: "client-b"))) {
            _ = try await clients.client(id: "client-b")
        }
        // Without the secret a sealed client is a clear error, not a clear-text read of the sealed text.
        await #expect(throws: SecretSealingError.secretMissing(SealBinding(column: "clients.verifier_bearer_token", row: "client-a"))) {
            _ = try await SealedClientRepository(store, sealing: .unencrypted).client(id: "client-a")
        }
    }

    @Test func clientsStoredInClearStillReadAndAreSealedOnTheNextWrite() async throws {
        let store = InMemoryStore()
        let old = Self.client("client-a")
        try await store.createClient(old)   // as an earlier release (or one without a secret) stored it
        let clients = SealedClientRepository(store, sealing: Self.sealing)
        #expect(try await clients.client(id: "client-a") == old)

        var updated = try #require(try await clients.client(id: "client-a"))
        updated.clientName = "Exchange"
        try await clients.updateClient(updated)
        let raw = try #require(await store.client(id: "client-a"))
        #expect(raw.verifierBearerToken?.hasPrefix("kych-sealed:v1:") == true && raw.webhookAPIKeyValue?.hasPrefix("kych-sealed:v1:") == true)
        #expect(try await clients.client(id: "client-a") == updated)

        // Without a secret, clients are written in clear as before.
        let clear = SealedClientRepository(InMemoryStore(), sealing: .unencrypted)
        try await clear.createClient(old)
        #expect(await (clear.stored as? InMemoryStore)?.client(id: "client-a") == old)
    }

    /// A signing key sealed as releases before ``SecretSealing`` did (the bare AES-GCM box under the key HKDF derived
    /// with "KyCH signing-key encryption v1", its kid as associated data) still opens and signs.
    @Test func signingKeysSealedByEarlierReleasesStillOpen() async throws {
        let key = P256.Signing.PrivateKey()
        let jwk = P256PublicJWK(key.publicKey).jsonObject
        let kid = JWKThumbprint.of(jwk)
        let legacyKey = HKDF<SHA256>.deriveKey(inputKeyMaterial: SymmetricKey(data: Data(Self.secret.utf8)),
                                               info: Data("KyCH signing-key encryption v1".utf8), outputByteCount: 32)
        let box = try #require(try AES.GCM.seal(key.rawRepresentation, using: legacyKey, authenticating: Data(kid.utf8)).combined)
        let store = InMemoryStore()
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        _ = await store.insertFirstSigningKeys([StoredSigningKey(kid: kid, algorithm: .es256, publicJWK: jwk, privateKey: box, sealed: true,
                                                                 createdAt: now, activatesAt: now, retiresAt: nil)])
        let keys = SigningKeys(store: store, encryptionSecret: Self.secret, now: { now })
        try await keys.checkStoredKeys()
        let jws = try CompactJWS(parsing: try await keys.sign(payload: Data("{}".utf8), algorithm: .es256))
        #expect(jws.keyID == kid)
        await #expect(throws: SigningKeyError.undecryptable(kid: kid)) {
            try await SigningKeys(store: store, encryptionSecret: "another-secret-of-at-least-32-bytes-long").checkStoredKeys()
        }

        // New keys are sealed in the one format, bound to their kid.
        let fresh = InMemoryStore()
        _ = try await SigningKeys(store: fresh, encryptionSecret: Self.secret).jwks()
        for stored in await fresh.signingKeys() {
            #expect(stored.sealed && String(decoding: stored.privateKey, as: UTF8.self).hasPrefix("kych-sealed:v1:"))
        }
    }
}
