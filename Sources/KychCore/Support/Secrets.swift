import Crypto
import Foundation
import HummingbirdBcrypt
import KychSDJWT

/// Random values, hashes and secret comparison used across KyCH.
package enum Secrets {
    /// `count` cryptographically random bytes, base64url without padding (URL-path safe).
    package static func randomToken(bytes count: Int) -> String {
        // Eight bytes per draw of the system's generator (one `getrandom` call each), not one: a flow draws some
        // fifteen tokens and request ids.
        var generator = SystemRandomNumberGenerator()
        var bytes: [UInt8] = []
        bytes.reserveCapacity(count + 7)
        while bytes.count < count { withUnsafeBytes(of: generator.next() as UInt64) { bytes += $0 } }
        return Base64URL.encode(bytes.prefix(count))
    }

    /// SHA-256 of the UTF-8 bytes of `value`: how codes and tokens are stored.
    package static func sha256(_ value: String) -> Data {
        Data(SHA256.hash(data: Data(value.utf8)))
    }

    /// The bcrypt cost for client secrets; `KYCH_BCRYPT_COST` overrides it (tests use 4).
    package static var bcryptCost: UInt8 {
        if let s = ProcessInfo.processInfo.environment["KYCH_BCRYPT_COST"], let n = UInt8(s), (4...31).contains(n) { return n }
        return 10
    }

    /// bcrypt reads at most this many bytes: a longer secret would match on its first 72 bytes alone.
    package static let bcryptMaximumBytes = 72

    /// bcrypt hash of a client secret.
    package static func hashSecret(_ secret: String) -> String {
        Bcrypt.hash(secret, cost: bcryptCost)
    }

    /// The hash of a random secret at ``bcryptCost``, made once per process: a secret presented for an unknown
    /// client is checked against it, so that an unknown client id costs what a known one does.
    package static let unknownClientHash = hashSecret(randomToken(bytes: 32))

    /// Whether `secret` matches the bcrypt `hash`.
    package static func verifySecret(_ secret: String, hash: String) -> Bool {
        Bcrypt.verify(secret, hash: hash)
    }

    /// Redacts an RFC 8959 `secret-token:` value or any credential for logging.
    package static func redact(_ value: String) -> String {
        value.isEmpty ? "" : "<redacted>"
    }
}
