import Foundation
import KychSDJWT
import Testing

/// `Base64URL` and `JSONText` answer every input as the Foundation-based versions they replaced did (the
/// expected answers below were read from those: `Data(base64Encoded:)` after `replacingOccurrences`, and
/// `JSONDecoder` with a `try?` per type); the `json` fuzz target checks the parser against `JSONDecoder` too.
@Suite("Base64url and JSON text: the answers of the Foundation versions they replaced")
struct JOSETextTests {
    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")

    @Test func base64URLRoundTripsEveryLengthUpTo64() {
        var generator = SystemRandomNumberGenerator()
        for length in 0...64 {
            let bytes = (0..<length).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
            let encoded = Base64URL.encode(bytes)
            #expect(encoded.utf8.count == (length * 4 + 2) / 3, "no padding, length \(length)")
            #expect(encoded.allSatisfy(Self.alphabet.contains))
            #expect(Base64URL.encode(Data(bytes)) == encoded)
            #expect(Base64URL.decode(encoded) == Data(bytes), "length \(length)")
            #expect(Base64URL.decode(encoded[...]) == Data(bytes), "a Substring, length \(length)")
        }
        #expect(Base64URL.encode("héllo") == "aMOpbGxv")
        #expect(Base64URL.encode(Data((0...255).map { UInt8($0) })).hasSuffix("-_w"))
    }

    @Test func base64URLRefusesWhatTheFoundationVersionRefused() {
        let cases: [(String, [UInt8]?)] = [
            ("", []), ("A", nil), ("AA", [0]), ("AAA", [0, 0]), ("AAAA", [0, 0, 0]), ("AAAAA", nil), ("AAAAAA", [0, 0, 0, 0]),
            ("-_-_", [0xFB, 0xFF, 0xBF]), ("Zg", [0x66]),
            // Bits left over in the last character are ignored, as Foundation's decoder ignored them.
            ("AB", [0]), ("QQ", [65]), ("QR", [65]), ("AAB", [0, 0]),
            ("AA==", nil), ("AA=", nil), ("Zg==", nil), ("+/+/", nil), ("A A", nil), ("AA\n", nil), ("é", nil), ("AAé", nil),
            ("AA.A", nil), ("\0AAA", nil),
        ]
        for (text, expected) in cases {
            #expect(Base64URL.decode(text) == expected.map { Data($0) }, "\(text.debugDescription)")
        }
        // Every character outside the alphabet, anywhere in a valid text of each length up to 64, refuses it.
        for length in [2, 3, 4, 6, 7, 8, 43, 63, 64] {
            let valid = String((0..<length).map { Self.alphabet[$0 * 7 % 64] })
            #expect(Base64URL.decode(valid) != nil)
            for position in [0, length / 2, length - 1] {
                for bad: Character in ["=", "+", "/", " ", "%", "\u{7F}", "ü"] {
                    var text = Array(valid)
                    text[position] = bad
                    #expect(Base64URL.decode(String(text)) == nil, "\(String(text).debugDescription)")
                }
            }
        }
        for length in 0...64 {
            let text = String(repeating: "w", count: length)
            #expect((Base64URL.decode(text) == nil) == (length % 4 == 1), "length \(length)")
        }
    }

    /// Inputs and what the replaced parser made of them, written as compact serializations; nil: refused.
    static let jsonCases: [(String, String?)] = [
        ("1", "1"), ("-0", "0"), ("-0.0", "0"), ("1.0", "1"), ("1e2", "100"), ("1E2", "100"), ("1e+2", "100"), ("1.5", "1.5"),
        ("1.5e1", "15"), ("2.0e0", "2"), ("1e-400", "0"), ("1e-2", "0.01"), ("0.1", "0.1"), ("1e18", "1000000000000000000"),
        ("1.0000000000000000001", "1"), ("9223372036854775807", "9223372036854775807"),
        ("9223372036854775808", "9.223372036854776e+18"), ("-9223372036854775808", "-9223372036854775808"),
        ("-9223372036854775809", "-9.223372036854776e+18"), ("123456789012345678901234567890", "1.2345678901234568e+29"),
        ("9007199254740993", "9007199254740993"), ("9007199254740993.0", "9007199254740993"),
        ("9223372036854775807.0", "9.223372036854776e+18"), ("-9223372036854775808.0", "-9.223372036854776e+18"),
        ("100000000000000000000.0", "1e+20"), ("4.9e-324", "5e-324"), ("1.7976931348623158e308", "1.7976931348623157e+308"),
        ("1e400", nil), ("-1e400", nil), ("1.8e308", nil), (String(repeating: "9", count: 400), nil),
        ("01", nil), ("-01", nil), ("00", nil), ("-", nil), ("1.", nil), (".5", nil), ("1.e5", nil), ("-.5", nil), ("+1", nil),
        ("1e", nil), ("1e+", nil), ("0x10", nil), ("NaN", nil), ("Infinity", nil),
        ("true", "true"), ("null", "null"), ("True", nil), ("nul", nil), ("'a'", nil),
        (#""a""#, #""a""#), (#""\u0000""#, #""\u0000""#), (#""\u00e9\u00E9""#, #""éé""#), (#""\ud83d\ude00""#, #""😀""#),
        (#""\/""#, #""/""#), ("\"\u{7F}\"", "\"\u{7F}\""), (#""\ud800""#, nil), (#""\udc00""#, nil), (#""\ud83d""#, nil),
        (#""\ud83dA""#, nil), (#""\ud83d\u0041""#, nil), (#""\x""#, nil), (#""\U0041""#, nil), (#""\u12""#, nil),
        ("\"\t\"", nil), ("\"\n\"", nil), (#""a"#, nil),
        ("", nil), (" ", nil), (" 1 ", "1"), ("\t[ 1 ,\n2 ]\r", "[1,2]"), ("\u{0C}1", nil), ("\u{0B}1", nil), ("1 2", nil),
        ("[]", "[]"), ("{}", "{}"), ("[ ]", "[]"), ("{ }", "{}"), ("[1", nil), ("[1]x", nil), (#"{"a":1}}"#, nil),
        // Of repeated keys the first counts; one trailing comma is accepted, as JSONDecoder accepted it.
        (#"{"a":1,"a":2}"#, #"{"a":1}"#), (#"{"a":{"x":1},"a":[2]}"#, #"{"a":{"x":1}}"#),
        (#"{"a":1,"a":"x","b":2}"#, #"{"a":1,"b":2}"#),
        // JSONDecoder never read the value of a repeated key and let it be malformed; refused now.
        (#"{"a":1,"a":2e}"#, nil), (#"{"a":1,"a":-}"#, nil), (#"{"a":1,"a":"\x"}"#, nil), (#"{"a":1,"a":"\ud800"}"#, nil),
        ("{\"a\":1,\"a\":\"\u{1}\"}", nil),
        ("[1,]", "[1]"), ("[1,2, ]", "[1,2]"), (#"{"a":1,}"#, #"{"a":1}"#), ("[,]", nil), ("[1,,2]", nil), ("{,}", nil),
        ("[,1]", nil), (#"{"a":1,,}"#, nil), (#"{"a"}"#, nil), (#"{"a" 1}"#, nil), (#"{"a":}"#, nil), ("{1:2}", nil),
        (#"{"":0}"#, #"{"":0}"#),
    ]

    @Test func jsonParsesAsTheReplacedParserDid() {
        for (text, expected) in Self.jsonCases {
            let parsed = (try? JSONText.parse(Data(text.utf8))).map { String(decoding: JSONText.serialize($0), as: UTF8.self) }
            #expect(parsed == expected, "\(text.debugDescription)")
        }
    }

    @Test func jsonRefusesInvalidUTF8AndOtherEncodings() {
        let cases: [([UInt8], String?)] = [
            ([0x22, 0xFF, 0x22], nil), ([0x22, 0xC3, 0x22], nil), ([0x22, 0xED, 0xA0, 0x80, 0x22], nil),
            ([0x22, 0xC0, 0xAF, 0x22], nil), ([0x22, 0xF4, 0x90, 0x80, 0x80, 0x22], nil), ([0x22, 0x00, 0x22], nil),
            ([0x22, 0xC3, 0xA9, 0x22], "\"é\""), ([0xEF, 0xBB, 0xBF, 0x31], "1"), ([0xEF, 0xBB, 0xBF], nil),
            // UTF-16 and UTF-32, which JSONDecoder detected by their zero bytes, are refused (RFC 8259 §8.1).
            // Invalid UTF-8 in the value of a repeated key (kych-fuzz-json found it; JSONDecoder never read it).
            (Array(#"{"x":"a","x":""#.utf8) + [0x8C, 0x22, 0x7D], nil),
            ([0x31, 0x00], nil), ([0x00, 0x31], nil), ([0xFE, 0xFF, 0x00, 0x31], nil), ([0xFF, 0xFE, 0x31, 0x00], nil),
        ]
        for (bytes, expected) in cases {
            let parsed = (try? JSONText.parse(Data(bytes))).map { String(decoding: JSONText.serialize($0), as: UTF8.self) }
            #expect(parsed == expected, "\(bytes)")
        }
    }

    @Test func jsonNestsAtMost512Deep() throws {
        for (open, close) in [("[", "]"), (#"{"a":"#, "}")] {
            let deepest = String(repeating: open, count: 512) + "1" + String(repeating: close, count: 512)
            #expect(throws: Never.self) { try JSONText.parse(Data(deepest.utf8)) }
            let deeper = String(repeating: open, count: 513) + "1" + String(repeating: close, count: 513)
            #expect(throws: JSONText.ParseError.self) { try JSONText.parse(Data(deeper.utf8)) }
        }
        // 100,000 nested arrays are refused at level 513, not by running out of stack.
        #expect(throws: JSONText.ParseError.self) { try JSONText.parse(Data(String(repeating: "[", count: 100_000).utf8)) }
    }

    @Test func jsonSerializesEscapesAsBefore() throws {
        let value: JSONValue = ["s": "a\"b\\c\n\r\t\u{8}\u{C}\u{1}\u{1F}\u{7F}/é😀", "k\u{0}": [1, 2.5, nil, true]]
        let text = String(decoding: JSONText.serialize(value), as: UTF8.self)
        #expect(text == #"{"k\u0000":[1,2.5,null,true],"s":"a\"b\\c\n\r\t\b\f\u0001\u001f"# + "\u{7F}/é😀\"}")
        #expect(try JSONText.parse(Data(text.utf8)) == value)
        #expect(String(decoding: JSONText.serialize(.number(.infinity)), as: UTF8.self) == "null")
    }
}
