import Foundation

extension String {
    /// Text safe inside HTML element content and double-quoted attributes.
    package var htmlEscaped: String {
        var out = ""
        for character in self {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(character)
            }
        }
        return out
    }

    /// Percent-encoded for a URL query or form value (RFC 3986 unreserved characters kept).
    package var urlEscaped: String { addingPercentEncoding(withAllowedCharacters: .urlUnreserved) ?? self }
}

extension CharacterSet {
    /// RFC 3986 unreserved characters.
    package static let urlUnreserved = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
}
