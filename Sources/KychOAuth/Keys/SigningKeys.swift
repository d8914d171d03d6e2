import Foundation
import KychCore
import KychSDJWT
import Synchronization

/// The gateway's keys for signing ID tokens and JWT access tokens, and every rule about them.
///
/// The first use creates one key per ``SigningAlgorithm``, active at once. A rotation adds a new key per algorithm
/// that is published at once but signs only `publishAhead` later, so relying parties that cached the JWKS have
/// fetched it before a token signed with it arrives; the keys it replaces stay published `retainAfterRetirement`
/// after that, so tokens they signed still verify until they expire. All times come from one clock.
package struct SigningKeys: Sendable {
    package let store: any SigningKeyStore
    let sealing: PrivateKeySealing
    /// The one clock every rule reads.
    package let now: @Sendable () -> Date
    /// The private keys this process opened, so that a token costs one signature, not an unsealing and a key parse too.
    let opened = OpenedSigningKeys()
    /// The kids of the private keys held open, and how many times a private key was unsealed and parsed.
    package var openedKeys: (kids: Set<String>, opens: Int) { opened.counts }

    /// `encryptionSecret` is `KEY_ENCRYPTION_SECRET`: new private keys are sealed under it, or stored in clear without it.
    package init(store: any SigningKeyStore, encryptionSecret: String?, now: @escaping @Sendable () -> Date = Date.init) {
        self.store = store
        sealing = PrivateKeySealing(secret: encryptionSecret)
        self.now = now
    }

    /// Whether new private keys are stored encrypted.
    package var encryptsPrivateKeys: Bool { sealing.encrypts }

    /// Opens every stored private key, so a missing or wrong `KEY_ENCRYPTION_SECRET` stops a process at its start
    /// rather than at its first token.
    package func checkStoredKeys() async throws {
        let keys = try await store.signingKeys()
        for stored in keys { _ = try open(stored, among: keys) }
    }

    /// A compact JWS of `payload` signed with the current key of `algorithm`; the header has `alg`, the key's `kid`
    /// and, when given, `typ` (e.g. `JWT` for an ID token, `at+jwt` for an RFC 9068 access token).
    package func sign(payload: Data, algorithm: SigningAlgorithm, type: String? = nil) async throws -> String {
        let now = now()
        let keys = try await storedKeys(now: now)
        guard let current = Self.published(keys, at: now).filter({ $0.algorithm == algorithm && $0.activatesAt <= now })
            .max(by: { $0.activatesAt < $1.activatesAt }) else { throw SigningKeyError.noCurrentKey(algorithm) }
        let key = try open(current, among: keys)
        var header: [String: JSON] = ["alg": .string(algorithm.rawValue), "kid": .string(current.kid)]
        header["typ"] = type.map(JSON.string)
        return try CompactJWS.sign(payload: payload, header: header, signature: key.signature(for:))
    }

    /// The JWK Set of every published key (RFC 7517 §5), for `/jwks`.
    package func jwks() async throws -> [String: JSON] {
        let now = now()
        let keys = Self.published(try await storedKeys(now: now), at: now).map { key -> JSON in
            var jwk = key.publicJWK
            jwk["kid"] = .string(key.kid)
            jwk["alg"] = .string(key.algorithm.rawValue)
            jwk["use"] = "sig"
            return .object(jwk)
        }
        return ["keys": .array(keys)]
    }

    /// Adds a key per algorithm that signs from `publishAhead` on, and retires the keys it replaces
    /// `retainAfterRetirement` (the longest lifetime of a token they signed) after that. Returns the new keys.
    package func rotate(publishAhead: TimeInterval, retainAfterRetirement: TimeInterval) async throws -> [StoredSigningKey] {
        let now = now()
        let replaced = try await storedKeys(now: now).filter { $0.retiresAt == nil }.map(\.kid)
        let created = Self.wholeSeconds(now), takeover = Self.wholeSeconds(now.addingTimeInterval(publishAhead))
        let new = try SigningAlgorithm.allCases.map { try newKey($0, createdAt: created, activatesAt: takeover) }
        try await store.insertSigningKeys(new, retiring: replaced, at: takeover.addingTimeInterval(retainAfterRetirement))
        return new
    }

    /// Deletes the keys past their retirement (no longer published); returns how many.
    package func deleteRetiredKeys() async throws -> Int {
        try await store.deleteSigningKeys(retiredBy: now())
    }

    /// The stored keys, after creating the first ones if there are none.
    private func storedKeys(now: Date) async throws -> [StoredSigningKey] {
        let keys = try await store.signingKeys()
        guard keys.isEmpty else { return keys }
        let created = Self.wholeSeconds(now)
        _ = try await store.insertFirstSigningKeys(try SigningAlgorithm.allCases.map { try newKey($0, createdAt: created, activatesAt: created) })
        return try await store.signingKeys()
    }

    /// Key times are whole seconds, which every store keeps exactly (SQLite's Unix-second REAL, PostgreSQL's
    /// microseconds): a key created active now is still active now after the round trip.
    private static func wholeSeconds(_ date: Date) -> Date {
        Date(timeIntervalSince1970: date.timeIntervalSince1970.rounded(.down))
    }

    private func newKey(_ algorithm: SigningAlgorithm, createdAt: Date, activatesAt: Date) throws -> StoredSigningKey {
        let key = try PrivateSigningKey.generate(algorithm)
        let jwk = try key.publicJWK()
        let kid = JWKThumbprint.of(jwk)
        let (bytes, sealed) = try sealing.seal(key.encoding, kid: kid)
        return StoredSigningKey(kid: kid, algorithm: algorithm, publicJWK: jwk, privateKey: bytes, sealed: sealed,
                                createdAt: createdAt, activatesAt: activatesAt, retiresAt: nil)
    }

    /// The private key of `stored`, one of the stored `keys` just read: opened once per process (``opened``).
    private func open(_ stored: StoredSigningKey, among keys: [StoredSigningKey]) throws -> PrivateSigningKey {
        try opened.key(stored, keeping: keys) {
            let encoding = try sealing.open(stored)
            do {
                return try PrivateSigningKey(stored.algorithm, encoding: encoding)
            } catch {
                throw SigningKeyError.malformed(kid: stored.kid)
            }
        }
    }

    /// The keys relying parties may see at `now`: every key not yet retired.
    private static func published(_ keys: [StoredSigningKey], at now: Date) -> [StoredSigningKey] {
        keys.filter { $0.retiresAt.map { $0 > now } ?? true }
    }
}

/// The private keys one ``SigningKeys`` opened, by kid, each with the stored bytes it was opened from. Exact without any
/// invalidation message: which key signs is still decided from the keys read at every signature, so another process's
/// rotation takes effect at once; an entry serves only stored bytes equal to those it was opened from, and entries of
/// keys no longer stored are dropped.
final class OpenedSigningKeys: Sendable {
    private struct Entry {
        var algorithm: SigningAlgorithm
        var privateKey: Data
        var sealed: Bool
        var key: PrivateSigningKey

        func opens(_ stored: StoredSigningKey) -> Bool {
            algorithm == stored.algorithm && sealed == stored.sealed && privateKey == stored.privateKey
        }
    }

    private let state = Mutex<(entries: [String: Entry], opens: Int)>(([:], 0))

    /// The key opened from `stored` (by `open` if not yet); forgets the keys not among `current`.
    func key(_ stored: StoredSigningKey, keeping current: [StoredSigningKey],
             open: () throws -> PrivateSigningKey) throws -> PrivateSigningKey {
        let held = state.withLock { state -> Entry? in
            if state.entries.keys.contains(where: { kid in !current.contains { $0.kid == kid } }) {
                state.entries = state.entries.filter { kid, _ in current.contains { $0.kid == kid } }
            }
            return state.entries[stored.kid]
        }
        if let held, held.opens(stored) { return held.key }
        let key = try open()
        state.withLock { state in
            state.entries[stored.kid] = Entry(algorithm: stored.algorithm, privateKey: stored.privateKey, sealed: stored.sealed, key: key)
            state.opens += 1
        }
        return key
    }

    /// The kids held open, and how many times a key was opened (for tests).
    var counts: (kids: Set<String>, opens: Int) { state.withLock { (Set($0.entries.keys), $0.opens) } }
}
