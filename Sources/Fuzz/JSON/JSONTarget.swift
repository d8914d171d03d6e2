import Foundation
import KychFuzzSupport
import KychSDJWT

/// `JSONText`, the JSON parser and serializer of JOSE headers, claims, disclosures and verifier bodies. Checks:
/// what parses serializes to text that parses to the same value (numbers compare by value), and serialization
/// reaches a fixed point.
@main enum JSONTarget: FuzzTarget {
    static let name = "json"

    static func run(_ input: Data) -> Bool {
        guard let value = try? JSONText.parse(input) else { return false }
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
