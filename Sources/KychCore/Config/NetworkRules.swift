import Foundation

/// Host names that always mean this machine: `localhost`, `127.0.0.0/8` (four numeric octets, so
/// `127.evil.example` is not one) and `::1`, bracketed or not. The one rule for every "plain http only on
/// loopback" check: redirect URIs, public base URLs, the verifier's outbound requests.
package enum LoopbackHost {
    package static func contains(_ host: String?) -> Bool {
        guard var host = host?.lowercased() else { return false }
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        if host == "localhost" || host == "::1" { return true }
        let octets = host.split(separator: ".", omittingEmptySubsequences: false)
        return octets.count == 4 && octets[0] == "127" && octets.allSatisfy { UInt8($0) != nil }
    }
}

/// HTTP header names (RFC 9110 §5.1: a token). A configured name outside this rule could not be sent or
/// matched, so it is refused when it is set, not at the first webhook.
package enum HTTPHeaderName {
    private static let symbols = Set("!#$%&'*+-.^_`|~".unicodeScalars)

    package static func isValid(_ name: String) -> Bool {
        !name.isEmpty && name.unicodeScalars.allSatisfy {
            ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || symbols.contains($0)
        }
    }

    /// Why `name` is not a header name, or `nil`.
    package static func problem(_ name: String) -> String? {
        isValid(name) ? nil : "\"\(name)\" is not an HTTP header name (letters, digits and !#$%&'*+-.^_`|~ only)"
    }
}

extension Validator {
    /// A public base URL (`EXTERNAL_URL`, `BASE_URL`): https, plain http only on a loopback host, no query or
    /// fragment. Returned without trailing slashes, so paths can be appended.
    mutating func baseURL(_ section: IniFile.Section, _ entry: IniFile.Entry) -> String? {
        guard let url = Self.absoluteURL(entry.value), url.query == nil, url.fragment == nil,
              url.scheme?.lowercased() == "https" || LoopbackHost.contains(url.host) else {
            error(section, entry, "must be an https URL (plain http only for loopback hosts) without query or fragment")
            return nil
        }
        var value = entry.value
        while value.hasSuffix("/") { value.removeLast() }
        return value
    }
}

/// Where outbound fetches may go: `https`, or plain `http` to a loopback host (tests, development).
package enum FetchableURL {
    package static func allows(_ url: URL) -> Bool {
        switch url.scheme?.lowercased() {
        case "https": url.host?.isEmpty == false
        case "http": LoopbackHost.contains(url.host)
        default: false
        }
    }
}
