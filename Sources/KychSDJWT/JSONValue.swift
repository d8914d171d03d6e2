import Foundation

/// A JSON value. Integers that fit in `Int64` stay `.integer`, so they round-trip unchanged;
/// other numbers are `.number`.
package enum JSONValue: Sendable, Hashable, Codable {
    case null
    case bool(Bool)
    case integer(Int64)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    package init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int64.self) {
            self = .integer(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    package func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .integer(let value): try container.encode(value)
        case .number(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }

    /// The string, if this is `.string`.
    package var stringValue: String? {
        if case .string(let value) = self { value } else { nil }
    }

    /// The members, if this is `.object`.
    package var objectValue: [String: JSONValue]? {
        if case .object(let value) = self { value } else { nil }
    }

    /// The elements, if this is `.array`.
    package var arrayValue: [JSONValue]? {
        if case .array(let value) = self { value } else { nil }
    }

    /// The value, if this is `.bool`.
    package var boolValue: Bool? {
        if case .bool(let value) = self { value } else { nil }
    }

    /// The value of an `.integer`, or of a `.number` that is a whole number in range.
    package var int64Value: Int64? {
        switch self {
        case .integer(let value): value
        case .number(let value): Int64(exactly: value)
        default: nil
        }
    }

    /// The value of any number as a `Double`.
    package var doubleValue: Double? {
        switch self {
        case .integer(let value): Double(value)
        case .number(let value): value
        default: nil
        }
    }

    /// Whether two values are equal, treating `.integer(5)` and `.number(5.0)` as equal.
    package func numericallyEquals(_ other: JSONValue) -> Bool {
        if let lhs = doubleValue, let rhs = other.doubleValue {
            if let lhsInt = int64Value, let rhsInt = other.int64Value { return lhsInt == rhsInt }
            return lhs == rhs
        }
        return self == other
    }
}

extension JSONValue: ExpressibleByNilLiteral, ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByFloatLiteral, ExpressibleByStringLiteral, ExpressibleByArrayLiteral,
    ExpressibleByDictionaryLiteral {
    package init(nilLiteral: ()) { self = .null }
    package init(booleanLiteral value: Bool) { self = .bool(value) }
    package init(integerLiteral value: Int64) { self = .integer(value) }
    package init(floatLiteral value: Double) { self = .number(value) }
    package init(stringLiteral value: String) { self = .string(value) }
    package init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    package init(dictionaryLiteral elements: (String, JSONValue)...) {
        self = .object(Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }
}

/// JSON text conversion for JOSE: parsing into `JSONValue` and compact serialization with
/// sorted keys, no insignificant whitespace and no escaped `/` (the form RFC 7638 needs).
package enum JSONText {
    /// Thrown when bytes are not the expected JSON.
    package struct ParseError: Error, Sendable, CustomStringConvertible {
        package let description: String
    }

    /// Parses any JSON value.
    package static func parse(_ data: Data) throws(ParseError) -> JSONValue {
        do {
            return try JSONDecoder().decode(JSONValue.self, from: data)
        } catch {
            throw ParseError(description: "invalid JSON")
        }
    }

    /// Parses JSON text that must be an object.
    package static func parseObject(_ data: Data) throws(ParseError) -> [String: JSONValue] {
        guard let object = try parse(data).objectValue else {
            throw ParseError(description: "JSON is not an object")
        }
        return object
    }

    /// Serializes an object in the same form as any other value.
    package static func serialize(_ object: [String: JSONValue]) -> Data {
        serialize(.object(object))
    }

    /// Serializes compactly with keys sorted by their UTF-16 code units. Non-finite numbers,
    /// which JSON cannot express, are written as `null`.
    package static func serialize(_ value: JSONValue) -> Data {
        var output = ""
        write(value, to: &output)
        return Data(output.utf8)
    }

    private static func write(_ value: JSONValue, to output: inout String) {
        switch value {
        case .null:
            output += "null"
        case .bool(let bool):
            output += bool ? "true" : "false"
        case .integer(let integer):
            output += String(integer)
        case .number(let number):
            output += number.isFinite ? String(describing: number) : "null"
        case .string(let string):
            writeString(string, to: &output)
        case .array(let elements):
            output += "["
            for (index, element) in elements.enumerated() {
                if index > 0 { output += "," }
                write(element, to: &output)
            }
            output += "]"
        case .object(let members):
            output += "{"
            let sorted = members.sorted { $0.key.utf16.lexicographicallyPrecedes($1.key.utf16) }
            for (index, member) in sorted.enumerated() {
                if index > 0 { output += "," }
                writeString(member.key, to: &output)
                output += ":"
                write(member.value, to: &output)
            }
            output += "}"
        }
    }

    private static func writeString(_ string: String, to output: inout String) {
        output += "\""
        for scalar in string.unicodeScalars {
            switch scalar {
            case "\"": output += "\\\""
            case "\\": output += "\\\\"
            case "\n": output += "\\n"
            case "\r": output += "\\r"
            case "\t": output += "\\t"
            case "\u{08}": output += "\\b"
            case "\u{0C}": output += "\\f"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                output += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default:
                output.unicodeScalars.append(scalar)
            }
        }
        output += "\""
    }
}
