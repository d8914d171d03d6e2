import Crypto
import Foundation
import KychCore
import KychSDJWT

/// Makes a session's authorization code, the same each time it is asked for the same session, so that a browser that
/// reaches `/finalize` twice at once (the page's status script and a same-device wallet's redirect both navigate
/// there) is sent to the client with the one code issued, whichever navigation it ends on. The code is derived from
/// the session id under a key that never goes to the database, so a dump still holds no live code: a key derived
/// from `KEY_ENCRYPTION_SECRET`, which every instance shares; without it a random key of this process (then only the
/// instance that issued a code can repeat it).
package struct AuthorizationCodes: Sendable {
    private let key: SymmetricKey
    let bytes: Int

    package init(keyEncryptionSecret: String?, bytes: Int) {
        key = keyEncryptionSecret.map {
            HKDF<SHA256>.deriveKey(inputKeyMaterial: SymmetricKey(data: Data($0.utf8)), info: Data("KyCH authorization codes v1".utf8),
                                   outputByteCount: 32)
        } ?? SymmetricKey(size: .bits256)
        self.bytes = bytes
    }

    /// The code of `sessionID`: `bytes` pseudo-random bytes, base64url, as ``Secrets/randomToken(bytes:)`` makes them.
    package func code(sessionID: String) -> String {
        Base64URL.encode(HKDF<SHA256>.deriveKey(inputKeyMaterial: key, info: Data("code|\(sessionID)".utf8),
                                                outputByteCount: bytes).withUnsafeBytes { Data($0) })
    }
}
