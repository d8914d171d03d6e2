import Crypto
import Foundation

/// Secrets at rest (verifier bearer tokens, webhook keys, private keys): AES-GCM under a key derived with
/// HKDF-SHA256 from `KEY_ENCRYPTION_SECRET`. A sealed value is text, `kych-sealed:v1:` + base64 of the GCM box,
/// so a column tells sealed from clear by its prefix (values written in clear by earlier releases still read) and a
/// later scheme can take `v2:`. The associated data is the value's ``SealBinding`` (column and row), so a sealed
/// value copied into another row or column does not open. Without a secret, values are kept in clear.
package struct SecretSealing: Sendable {
    package static let prefix = "kych-sealed:v1:"
    /// Fixed, so the same secret always derives the same key; versioned with the prefix.
    static let info = Data("KyCH secret sealing v1".utf8)
    private let key: SymmetricKey?

    /// `secret` is `KEY_ENCRYPTION_SECRET` (the gateway's, or the standalone verifier's); `nil` keeps values in clear.
    package init(secret: String?) {
        key = secret.map { HKDF<SHA256>.deriveKey(inputKeyMaterial: SymmetricKey(data: Data($0.utf8)), info: Self.info, outputByteCount: 32) }
    }

    /// No secret: every value is written in clear, and a sealed one cannot be opened.
    package static let unencrypted = SecretSealing(secret: nil)

    /// Whether new values are stored sealed.
    package var encrypts: Bool { key != nil }

    /// Whether `stored` is a sealed value (of any version this format names).
    package static func isSealed(_ stored: String) -> Bool { stored.hasPrefix(prefix) }

    /// `value` sealed for `binding`, or `value` itself without a secret.
    package func seal(_ value: String, for binding: SealBinding) throws -> String {
        guard let key else { return value }
        let box = try AES.GCM.seal(Data(value.utf8), using: key, authenticating: binding.associatedData)
        // The combined form (nonce, ciphertext, tag), built here as it is never nil for the default 12-byte nonce.
        return Self.prefix + (Data(box.nonce) + box.ciphertext + box.tag).base64EncodedString()
    }

    /// The clear value of `stored`: opened if sealed, as it is if not.
    package func open(_ stored: String, for binding: SealBinding) throws(SecretSealingError) -> String {
        guard let combined = try sealedBytes(stored, for: binding) else { return stored }
        guard let text = String(data: try openBox(combined, for: binding), encoding: .utf8) else { throw .undecryptable(binding) }
        return text
    }

    /// For a column of a fixed width (a 32-byte private scalar): the ciphertext, as long as `value`, and apart the
    /// sealed text of what AES-GCM adds (nonce and tag) for a text column beside it. Without a secret, `value` and `nil`.
    package func sealDetached(_ value: Data, for binding: SealBinding) throws -> (ciphertext: Data, envelope: String?) {
        guard let key else { return (value, nil) }
        let box = try AES.GCM.seal(value, using: key, authenticating: binding.associatedData)
        return (box.ciphertext, Self.prefix + (Data(box.nonce) + box.tag).base64EncodedString())
    }

    /// The clear bytes of a ``sealDetached(_:for:)`` pair; without an envelope, `ciphertext` was stored in clear.
    package func openDetached(_ ciphertext: Data, envelope: String?, for binding: SealBinding) throws(SecretSealingError) -> Data {
        guard let envelope else { return ciphertext }
        guard let nonceAndTag = try sealedBytes(envelope, for: binding), nonceAndTag.count == 12 + 16 else {
            throw .undecryptable(binding)
        }
        return try openBox(nonceAndTag.prefix(12) + ciphertext + nonceAndTag.suffix(16), for: binding)
    }

    /// The bytes after the prefix of a sealed `stored`; `nil` when it is clear.
    private func sealedBytes(_ stored: String, for binding: SealBinding) throws(SecretSealingError) -> Data? {
        guard Self.isSealed(stored) else { return nil }
        guard key != nil else { throw .secretMissing(binding) }
        guard let bytes = Data(base64Encoded: String(stored.dropFirst(Self.prefix.count))) else { throw .undecryptable(binding) }
        return bytes
    }

    /// Opens a combined box (nonce, ciphertext, tag).
    private func openBox(_ combined: Data, for binding: SealBinding) throws(SecretSealingError) -> Data {
        guard let key else { throw .secretMissing(binding) }
        do {
            return try AES.GCM.open(AES.GCM.SealedBox(combined: combined), using: key, authenticating: binding.associatedData)
        } catch {
            throw .undecryptable(binding)
        }
    }

    /// Optional columns: `nil` stays `nil`.
    package func seal(_ value: String?, for binding: SealBinding) throws -> String? {
        try value.map { try seal($0, for: binding) }
    }

    package func open(_ stored: String?, for binding: SealBinding) throws(SecretSealingError) -> String? {
        guard let stored else { return nil }
        let value: String = try open(stored, for: binding)
        return value
    }
}

/// Where a sealed value belongs: its column and the key of its row. Sealed values are bound to it.
package struct SealBinding: Sendable, Equatable, CustomStringConvertible {
    /// `table.column`, e.g. `clients.verifier_bearer_token`.
    package var column: String
    /// The row's key (a client id, a kid, a verification id): not a secret, it appears in errors.
    package var row: String

    package init(column: String, row: String) {
        self.column = column
        self.row = row
    }

    /// NUL separates the two: neither holds one, so no other column and row give the same bytes.
    var associatedData: Data { Data("\(column)\u{0}\(row)".utf8) }

    package var description: String { "\(column) of \(row)" }
}

/// Why a sealed value does not open. No text holds the value or the secret.
package enum SecretSealingError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A sealed value, and no `KEY_ENCRYPTION_SECRET` to open it.
    case secretMissing(SealBinding)
    /// A sealed value that `KEY_ENCRYPTION_SECRET` does not open: another secret sealed it, it was sealed for another
    /// row or column, or it was altered.
    case undecryptable(SealBinding)

    package var description: String {
        switch self {
        case .secretMissing(let binding):
            "\(binding) is stored encrypted but KEY_ENCRYPTION_SECRET is not set"
        case .undecryptable(let binding):
            "\(binding) cannot be decrypted with KEY_ENCRYPTION_SECRET (it was stored under another secret or for another row, or altered)"
        }
    }
}
