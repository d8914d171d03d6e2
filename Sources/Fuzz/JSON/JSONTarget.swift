import Foundation
import KychFuzzSupport
import KychSDJWT

/// `JSONText`, the JSON parser and serializer of JOSE headers, claims, disclosures and verifier bodies. Checks:
/// the parser answers as Foundation's `JSONDecoder` (which it replaced) does; what parses serializes to text that
/// parses to the same value (numbers compare by value), and serialization reaches a fixed point.
@main enum JSONTarget: FuzzTarget {
    static let name = "json"

    static func run(_ input: Data) -> Bool {
        let result = Result { () throws(JSONText.ParseError) in try JSONText.parse(input) }
        let parsed = try? result.get()
        if let expected = FoundationReading.of(input) {
            // Refused beyond JSONDecoder: UTF-16 and UTF-32, and the value of a repeated key, which it never read,
            // holding a malformed number, escape, UTF-8 or control character ({"a":1,"a":2e}).
            let refusedOnPurpose = expected.otherEncoding
                || ["number", "escape", "surrogate", "UTF-8", "control character"].contains(where: "\(result)".contains)
            FuzzCheck.require(parsed == expected.value || (parsed == nil && refusedOnPurpose),
                              "JSONDecoder read \(String(describing: expected.value)), JSONText \(result)")
        }
        guard let value = parsed else { return false }
        let text = JSONText.serialize(value)
        guard let again = try? JSONText.parse(text) else {
            fatalError("invariant broken: serialized JSON does not parse: \(String(decoding: text, as: UTF8.self))")
        }
        FuzzCheck.require(sameValue(value, again), "the value changes through serialization")
        // Stable from the second serialization on: a fraction that rounds to a whole Double (9007199254740993.5)
        // is written as 9.007199254740994e+15 and read back as an `.integer`.
        let second = JSONText.serialize(again)
        FuzzCheck.require((try? JSONText.parse(second)).map(JSONText.serialize) == second, "serialization is not stable")
        return true
    }

    static func sameValue(_ lhs: JSONValue, _ rhs: JSONValue) -> Bool {
        switch (lhs, rhs) {
        case (.array(let left), .array(let right)):
            left.count == right.count && zip(left, right).allSatisfy(sameValue)
        case (.object(let left), .object(let right)):
            left.count == right.count && left.allSatisfy { key, value in right[key].map { sameValue(value, $0) } ?? false }
        case (.number(let left), _):
            // A Double written in its shortest form may read back as the exact integer it names (9.223372036854772e+18).
            rhs.doubleValue == left
        default:
            lhs.numericallyEquals(rhs)
        }
    }

    static func seeds() throws -> [String: Data] {
        let value: JSONValue = [
            "s": "a\"b\\c\n\u{1}é😀", "i": .integer(Int64.max), "n": -1.5e-7, "t": true, "z": nil, "a": [1, [], [:]],
        ]
        return ["generated.json": JSONText.serialize(value)]
    }
}

/// How `JSONDecoder`, trying each type in turn, reads the input: the answers `JSONText.parse` keeps. Nil for
/// inputs nesting more than 64 levels, which it reads in time cubic in the depth (512 levels: seconds).
private struct FoundationReading: Decodable {
    let value: JSONValue?
    /// Whether `JSONDecoder` may have read the input as UTF-16 or UTF-32 (zero bytes or a byte order mark
    /// first), which `JSONText` refuses.
    var otherEncoding = false

    static func of(_ input: Data) -> FoundationReading? {
        guard input.count(where: { $0 == UInt8(ascii: "[") || $0 == UInt8(ascii: "{") }) <= 64 else { return nil }
        let first = Array(input.prefix(4))
        let reading = (try? JSONDecoder().decode(FoundationReading.self, from: input)) ?? FoundationReading(value: nil)
        return FoundationReading(value: reading.value, otherEncoding: first.contains(0) || first.first.map { $0 >= 0xFE } == true)
    }

    init(value: JSONValue?, otherEncoding: Bool = false) {
        self.value = value
        self.otherEncoding = otherEncoding
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            value = .null
        } else if let bool = try? container.decode(Bool.self) {
            value = .bool(bool)
        } else if let integer = try? container.decode(Int64.self) {
            value = .integer(integer)
        } else if let number = try? container.decode(Double.self) {
            value = .number(number)
        } else if let string = try? container.decode(String.self) {
            value = .string(string)
        } else if let elements = try? container.decode([FoundationReading].self) {
            value = .array(elements.compactMap(\.value))
        } else {
            value = .object(try container.decode([String: FoundationReading].self).compactMapValues(\.value))
        }
    }
}
