import Crypto
import Foundation
import KychCore
import KychSDJWT

/// RFC 7636 proof key for code exchange, S256 only.
package enum PKCE {
    private static let unreserved = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")

    /// A `code_verifier` (and an S256 challenge's alphabet and length): 43 to 128 unreserved characters.
    package static func isWellFormed(_ value: String) -> Bool {
        (43...128).contains(value.count) && value.allSatisfy(unreserved.contains)
    }

    /// BASE64URL(SHA256(ASCII(code_verifier))).
    package static func challenge(for verifier: String) -> String {
        Base64URL.encode(SHA256.hash(data: Data(verifier.utf8)))
    }

    /// Whether `verifier` proves `challenge`, compared in constant time.
    package static func verifies(_ verifier: String, challenge: String) -> Bool {
        isWellFormed(verifier) && Secrets.constantTimeEqual(Self.challenge(for: verifier), challenge)
    }
}
