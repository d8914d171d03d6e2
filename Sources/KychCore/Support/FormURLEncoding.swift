import Foundation

/// `application/x-www-form-urlencoded` (WHATWG URL §5): OAuth token requests, wallets' answers.
package enum FormURLEncoding {
    /// The fields of a form body; `nil` if a name or value is not valid percent-encoded UTF-8.
    /// A repeated name keeps its first value.
    package static func decode(_ body: String) -> [String: String]? {
        var fields: [String: String] = [:]
        for pair in body.split(separator: "&") where !pair.isEmpty {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = unescape(parts[0]), let value = parts.count > 1 ? unescape(parts[1]) : "" else { return nil }
            if fields[name] == nil { fields[name] = value }
        }
        return fields
    }

    /// The field names in order, repeats included (undecodable names as written).
    package static func names(_ body: String) -> [String] {
        body.split(separator: "&").filter { !$0.isEmpty }.map { pair in
            let name = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)[0]
            return unescape(name) ?? String(name)
        }
    }

    /// A form body of `fields`, in the given order.
    package static func encode(_ fields: [(String, String)]) -> String {
        fields.map { escape($0.0) + "=" + escape($0.1) }.joined(separator: "&")
    }

    private static let unescaped = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789*-._")

    private static func escape(_ text: String) -> String {
        (text.addingPercentEncoding(withAllowedCharacters: unescaped.union([" "])) ?? "")
            .replacingOccurrences(of: " ", with: "+")
    }

    /// One form-encoded name or value (`+` is a space); nil if it is not valid percent-encoded UTF-8.
    package static func unescape(_ text: some StringProtocol) -> String? {
        text.replacingOccurrences(of: "+", with: " ").removingPercentEncoding
    }
}
