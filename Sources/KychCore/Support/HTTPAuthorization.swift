import Crypto
import Foundation

/// The `Authorization` header's schemes KyCH reads, parsed in one place for every server.
package enum HTTPAuthorization {
    /// The credential after `Bearer ` (any visible characters, e.g. RFC 8959 `secret-token:` values).
    package static func bearer(_ header: String?) -> String? { credential(header, scheme: "bearer ") }

    /// The access token after `DPoP ` (RFC 9449 §7.1).
    package static func dpop(_ header: String?) -> String? { credential(header, scheme: "dpop ") }

    /// The credential after `scheme` (lower case, with its space), the scheme compared case-insensitively.
    private static func credential(_ header: String?, scheme: String) -> String? {
        guard let header, header.count > scheme.count, header.prefix(scheme.count).lowercased() == scheme else { return nil }
        let credential = header.dropFirst(scheme.count).trimmingCharacters(in: .whitespaces)
        return credential.isEmpty ? nil : credential
    }

    /// HTTP Basic credentials, form-decoded as RFC 6749 §2.3.1 asks.
    package static func basic(_ header: String?) -> (user: String, password: String)? {
        guard let header, header.count > 6, header.prefix(6).lowercased() == "basic ",
              let data = Data(base64Encoded: String(header.dropFirst(6)).trimmingCharacters(in: .whitespaces)),
              let text = String(data: data, encoding: .utf8), let colon = text.firstIndex(of: ":"),
              let user = FormURLEncoding.unescape(text[..<colon]),
              let password = FormURLEncoding.unescape(text[text.index(after: colon)...]) else { return nil }
        return (user, password)
    }
}

extension Secrets {
    /// Compares two secrets in time independent of where they differ (their digests, so the length leaks nothing either).
    package static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(SHA256.hash(data: Data(a.utf8))), y = Array(SHA256.hash(data: Data(b.utf8)))
        return zip(x, y).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
    }
}
