import Crypto
import Foundation
import KychCore
import KychSDJWT

/// The nonces of `POST /nonce` that an organisation's wallet signs into the key binding of a `vp_token-bearer`
/// presentation. They are stateless (an expiry and random bytes under an HMAC with a key every instance shares), so
/// handing one out writes nothing and any instance accepts it; single use is enforced when one is spent, with
/// ``FlowStore/recordOnce(_:expiresAt:now:)`` across all instances.
package struct PresentationNonces: Sendable {
    /// How long a nonce may be used after it was handed out.
    package static let lifetime: TimeInterval = 60
    let key: SharedKey
    let store: any FlowStore

    package init(store: any FlowStore) {
        key = SharedKey(name: "vp-token-bearer-nonce-v1", store: store)
        self.store = store
    }

    /// A fresh nonce: `<expiry>.<random>.<mac>`, all base64url.
    package func issue(now: Date) async throws -> String {
        let expiry = Int64(now.addingTimeInterval(Self.lifetime).timeIntervalSince1970)
        let body = String(expiry) + "." + Secrets.randomToken(bytes: 16)
        return body + "." + Base64URL.encode(try await mac(body, now: now))
    }

    /// When `nonce` expires, if KyCH issued it and it has not expired yet; nil otherwise.
    package func expiry(of nonce: String, now: Date) async throws -> Date? {
        let parts = nonce.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let seconds = Int64(parts[0]), let presented = Base64URL.decode(parts[2]) else { return nil }
        let expected = try await mac(parts[0] + "." + parts[1], now: now)
        guard presented.count == expected.count, zip(presented, expected).reduce(0, { $0 | ($1.0 ^ $1.1) }) == 0 else { return nil }
        let expiry = Date(timeIntervalSince1970: TimeInterval(seconds))
        return expiry > now ? expiry : nil
    }

    /// Spends `nonce`: true the first time, false when it was spent before, on any instance.
    package func spend(_ nonce: String, until expiry: Date, now: Date) async throws -> Bool {
        try await store.recordOnce(Secrets.sha256("vp-token-bearer-nonce\u{0}" + nonce), expiresAt: expiry, now: now)
    }

    private func mac(_ body: String, now: Date) async throws -> Data {
        Data(HMAC<SHA256>.authenticationCode(for: Data(body.utf8), using: try await key.key(now: now)))
    }
}
