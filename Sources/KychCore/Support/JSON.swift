import Foundation
import KychSDJWT

/// A JSON value, for claims and verifier payloads whose shape is not fixed: the same type the JOSE and
/// SD-JWT code uses (`JSONValue`), so values pass between them unchanged.
package typealias JSON = JSONValue

extension JSONValue {
    /// The member `key` of an object; nil for other values.
    package subscript(key: String) -> JSONValue? {
        objectValue?[key]
    }

    /// Parses UTF-8 JSON text.
    package static func parse(_ data: Data) throws -> JSONValue {
        try JSONText.parse(data)
    }

    /// Compact JSON text with sorted keys.
    package func serialized() -> String {
        String(decoding: JSONText.serialize(self), as: UTF8.self)
    }
}
