import Foundation
import KychCore

/// Where a client's public keys come from: its inline `JWKS`, or its `JWKS_URI`, which the gateway fetches.
package protocol ClientKeySource: Sendable {
    /// The client's JWK Set (a JSON object with `keys`); throws ``JWTRefusal`` when it has none or it cannot be had.
    /// `refresh`: fetch again even if cached (a key the JWT names was not found).
    func keySet(for client: Client, refresh: Bool) async throws -> [String: JSON]
}

/// A client's inline `JWKS` only: a client with just a `JWKS_URI` is refused (the gateway's source fetches those).
package struct InlineClientKeys: ClientKeySource {
    package init() {}

    package func keySet(for client: Client, refresh: Bool) throws -> [String: JSON] {
        guard let text = client.security.jwks else { throw JWTRefusal("the client has registered no keys (JWKS)") }
        guard let keySet = try? JSON.parse(Data(text.utf8)).objectValue, JWKSetRules.problem(keySet) == nil else {
            throw JWTRefusal("the client's registered JWKS is not a usable JWK Set")
        }
        return keySet
    }
}
