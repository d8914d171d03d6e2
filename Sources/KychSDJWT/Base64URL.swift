import Foundation

/// Base64url without padding (RFC 4648 §5, as used by JOSE, RFC 7515 §2).
package enum Base64URL {
    /// Encodes bytes as base64url with the `=` padding removed.
    package static func encode(_ bytes: some Sequence<UInt8>) -> String {
        Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// Encodes the UTF-8 bytes of a string.
    package static func encode(_ string: String) -> String {
        encode(Data(string.utf8))
    }

    /// Decodes unpadded base64url. Returns `nil` for padding, characters outside the
    /// base64url alphabet, or an impossible length.
    package static func decode(_ string: String) -> Data? {
        guard string.utf8.allSatisfy(isAlphabetByte), string.utf8.count % 4 != 1 else { return nil }
        var standard = string
            .replacingOccurrences(of: "-", with: "+")
            .replacingOccurrences(of: "_", with: "/")
        standard += String(repeating: "=", count: (4 - standard.utf8.count % 4) % 4)
        return Data(base64Encoded: standard)
    }

    private static func isAlphabetByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"):
            return true
        default:
            return false
        }
    }
}
