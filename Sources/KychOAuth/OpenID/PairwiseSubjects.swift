import Crypto
import Foundation
import KychCore
import KychSDJWT

/// OpenID Connect pairwise subject identifiers (Core §8.1): `sub` is a keyed hash, per client, of the most
/// stable identifier the presentation carried, so two clients cannot correlate a person by `sub` and no
/// claim value appears in clear.
///
/// The identifier is the `personal_administrative_number` (the Swiss AHV number) when the client was granted
/// it: then `sub` is the same for every verification of that person at that client. Otherwise it is the
/// verification's own id, and `sub` is new for each verification. The key is a random secret created once
/// and shared by every instance through the store.
package final class PairwiseSubjects: Sendable {
    package static let stableClaim = "personal_administrative_number"
    static let secretName = "pairwise-subject-v1"
    private let key: SharedKey

    package init(store: any FlowStore) {
        key = SharedKey(name: Self.secretName, store: store)
    }

    /// The `sub` of the person behind `token` for `client`.
    package func subject(for token: StoredAccessToken, client: Client, now: Date) async throws -> String {
        try await subject(claims: token.claims, sessionID: token.sessionID, client: client, now: now)
    }

    /// The `sub` of the person whose verified `claims` came with the session `sessionID`, for `client`.
    package func subject(claims: [String: JSON], sessionID: String, client: Client, now: Date) async throws -> String {
        let key = try await self.key.key(now: now)
        let (kind, identifier): (String, String) = if let stable = claims[Self.stableClaim]?.stringValue, !stable.isEmpty {
            ("ahv", stable)
        } else {
            ("session", sessionID)
        }
        let message = Data(["v1", client.clientID, kind, identifier].joined(separator: "\u{0}").utf8)
        return Base64URL.encode(HMAC<SHA256>.authenticationCode(for: message, using: key))
    }
}
