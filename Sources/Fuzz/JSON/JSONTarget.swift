import Foundation
import KychFuzzSupport
import KychSDJWT

/// `JSONText`, the JSON parser and serializer of JOSE headers, claims, disclosures and verifier bodies. Checks:
/// what parses serializes to text that parses to the same value (numbers compare by value), and serializing
/// that again gives the same text.
enum JSONTarget: FuzzTarget {
    static let name = "json"

    static func run(_ input: Data) -> Bool {
        guard let value = try? JSONText.parse(input) else { return false }
        let text = JSONText.serialize(value)
        guard let again = try? JSONText.parse(text) else {
            fatalError("invariant broken: serialized JSON does not parse: \(String(decoding: text, as: UTF8.self))")
        }
        FuzzCheck.require(sameValue(value, again), "the value changes through serialization")
        FuzzCheck.require(JSONText.serialize(again) == text, "serialization is not stable")
        return true
    }

    static func sameValue(_ lhs: JSONValue, _ rhs: JSONValue) -> Bool {
        switch (lhs, rhs) {
        case (.array(let left), .array(let right)):
            left.count == right.count && zip(left, right).allSatisfy(sameValue)
        case (.object(let left), .object(let right)):
            left.count == right.count && left.allSatisfy { key, value in right[key].map { sameValue(value, $0) } ?? false }
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

@_cdecl("LLVMFuzzerTestOneInput")
func testOneInput(_ bytes: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    _ = JSONTarget.run(FuzzDriver.input(bytes, count))
    return 0
}

@main enum Main {
    static func main() { FuzzDriver.main(JSONTarget.self, testOneInput: testOneInput) }
}
