import Crypto
import Foundation

/// Errors raised while building or splitting SD-JWTs (issuer and holder side).
package struct SDJWTError: Error, Sendable, CustomStringConvertible {
    package let description: String
    package init(_ description: String) { self.description = description }
}

/// A compact SD-JWT split at `~` (RFC 9901 §4): the issuer-signed JWT, the disclosures, and the
/// Key Binding JWT if the string does not end in `~`.
package struct SDJWT: Sendable, Hashable {
    package let issuerSignedJWT: String
    package let disclosures: [String]
    package let keyBindingJWT: String?

    /// Splits a presentation or issuance. It must contain `~` and no empty segment (`~~`).
    package init(parsing compact: String) throws(SDJWTError) {
        guard compact.contains("~"), !compact.contains("~~") else {
            throw SDJWTError("an SD-JWT contains '~' and no empty disclosure")
        }
        let parts = compact.split(separator: "~", omittingEmptySubsequences: false).map(String.init)
        guard let first = parts.first, !first.isEmpty else { throw SDJWTError("the issuer-signed JWT is missing") }
        issuerSignedJWT = first
        disclosures = Array(parts.dropFirst().dropLast())
        let last = parts[parts.count - 1]
        keyBindingJWT = last.isEmpty ? nil : last
    }

    package init(issuerSignedJWT: String, disclosures: [String], keyBindingJWT: String? = nil) {
        self.issuerSignedJWT = issuerSignedJWT
        self.disclosures = disclosures
        self.keyBindingJWT = keyBindingJWT
    }

    /// `<issuer-jwt>~<disclosure>~…~`: the SD-JWT without Key Binding, the input of `sd_hash`.
    package var withoutKeyBinding: String {
        ([issuerSignedJWT] + disclosures).map { $0 + "~" }.joined()
    }

    /// The compact form, with the Key Binding JWT appended if there is one.
    package var serialized: String {
        withoutKeyBinding + (keyBindingJWT ?? "")
    }
}

/// A disclosure (RFC 9901 §4.2): `[salt, name, value]` for an object property or `[salt, value]`
/// for an array element, carried as base64url JSON.
package struct Disclosure: Sendable, Hashable {
    package let salt: String
    /// The claim name; `nil` for an array element.
    package let name: String?
    package let value: JSONValue
    /// The base64url form exactly as issued; the digest is computed over it.
    package let encoded: String

    /// Creates a disclosure with a fresh 128-bit salt.
    package init(name: String?, value: JSONValue) {
        let salt = Base64URL.encode(SymmetricKey(size: .bits128).withUnsafeBytes { Data($0) })
        let array: [JSONValue] = [.string(salt)] + (name.map { [.string($0)] } ?? []) + [value]
        self.salt = salt
        self.name = name
        self.value = value
        encoded = Base64URL.encode(JSONText.serialize(.array(array)))
    }

    /// Decodes a disclosure; it must be a JSON array of 3 (salt, name, value) or 2 (salt, value)
    /// elements with string salt and name.
    package init(parsing encoded: String) throws(SDJWTError) {
        guard let json = Base64URL.decode(encoded), let array = try? JSONText.parse(json).arrayValue,
              let salt = array.first?.stringValue
        else { throw SDJWTError("a disclosure is a base64url JSON array starting with a string salt") }
        switch array.count {
        case 2:
            name = nil
        case 3:
            guard let name = array[1].stringValue else { throw SDJWTError("a disclosure claim name must be a string") }
            self.name = name
        default:
            throw SDJWTError("a disclosure has 2 or 3 elements")
        }
        self.salt = salt
        value = array[array.count - 1]
        self.encoded = encoded
    }

    /// base64url(SHA-256(ASCII(encoded))), the value listed in `_sd` or `{"...": digest}`.
    package var digest: String {
        sdHash(encoded)
    }
}

/// base64url(SHA-256(ASCII(text))), the hash SD-JWT uses for digests and `sd_hash`.
func sdHash(_ text: String) -> String {
    Base64URL.encode(SHA256.hash(data: Data(text.utf8)))
}

/// A DCQL claims path (OpenID4VP §7): member names, array indices, and `nil` for every element
/// of an array. Issuance uses the same paths to mark what is selectively disclosable.
package struct ClaimPath: Sendable, Hashable, ExpressibleByArrayLiteral, ExpressibleByStringLiteral,
    CustomStringConvertible {
    package enum Component: Sendable, Hashable, ExpressibleByStringLiteral, ExpressibleByIntegerLiteral,
        ExpressibleByNilLiteral {
        case key(String)
        case index(Int)
        case allElements

        package init(stringLiteral value: String) { self = .key(value) }
        package init(integerLiteral value: Int) { self = .index(value) }
        package init(nilLiteral: ()) { self = .allElements }

        /// Whether this pattern component selects the concrete component `other`.
        func matches(_ other: Component) -> Bool {
            switch (self, other) {
            case (.allElements, .index): true
            default: self == other
            }
        }
    }

    package let components: [Component]

    package init(_ components: [Component]) { self.components = components }
    package init(arrayLiteral elements: Component...) { components = elements }
    /// A path to one top-level claim.
    package init(stringLiteral value: String) { components = [.key(value)] }

    /// Reads a DCQL `path` array: non-empty, of strings, non-negative integers and nulls.
    package init?(json: [JSONValue]) {
        var components: [Component] = []
        for element in json {
            switch element {
            case .string(let key): components.append(.key(key))
            case .null: components.append(.allElements)
            default:
                guard let index = element.int64Value, index >= 0, let small = Int(exactly: index) else { return nil }
                components.append(.index(small))
            }
        }
        guard !components.isEmpty else { return nil }
        self.components = components
    }

    package var description: String {
        "[" + components.map {
            switch $0 {
            case .key(let key): "\"\(key)\""
            case .index(let index): String(index)
            case .allElements: "null"
            }
        }.joined(separator: ", ") + "]"
    }

    /// Whether this path, as a pattern, names exactly the concrete location `path`.
    func matches(_ path: [Component]) -> Bool {
        components.count == path.count && zip(components, path).allSatisfy { $0.matches($1) }
    }

    /// The values the path selects in `root` (DCQL claims path processing).
    package func select(in root: JSONValue) -> [JSONValue] {
        components.reduce([root]) { selection, component in
            selection.flatMap { element -> [JSONValue] in
                switch (component, element) {
                case (.key(let key), .object(let members)):
                    members[key].map { [$0] } ?? []
                case (.index(let index), .array(let elements)):
                    elements.indices.contains(index) ? [elements[index]] : []
                case (.allElements, .array(let elements)):
                    elements
                default:
                    []
                }
            }
        }
    }
}
