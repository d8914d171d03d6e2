import Foundation

/// A JSON value. Integers that fit in `Int64` stay `.integer`, so they round-trip unchanged;
/// other numbers are `.number`.
package enum JSONValue: Sendable, Hashable, Encodable {
    case null
    case bool(Bool)
    case integer(Int64)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

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

    /// Arrays and objects nest at most this deep, as in Foundation's `JSONDecoder`.
    package static let maximumDepth = 512

    /// Parses any JSON value from UTF-8 text (a leading byte order mark is skipped).
    ///
    /// One pass over the bytes, deciding each value by its first byte. It reads what Foundation's `JSONDecoder`
    /// with a `try?` per type read before: of repeated object keys the first counts (the value of a later one
    /// must be valid too, where `JSONDecoder` let a malformed number, escape, UTF-8 or control character through unread); a trailing comma before
    /// `]` or `}` is accepted; a number without fraction or exponent in the `Int64` range is `.integer`, as is
    /// any other number whose value is a whole number in that range (`1.0`, `1e2`, `1e-400`), otherwise
    /// `.number`; numbers beyond `Double` are refused; strings must be valid UTF-8 without raw control
    /// characters and with paired surrogate escapes; at most ``maximumDepth`` levels. Text in UTF-16 or UTF-32,
    /// which `JSONDecoder` guessed from zero bytes, is refused (RFC 8259 §8.1: JSON between systems is UTF-8).
    package static func parse(_ data: Data) throws(ParseError) -> JSONValue {
        let result: Result<JSONValue, ParseError> = data.withUnsafeBytes { raw in
            var parser = JSONParser(bytes: raw.bindMemory(to: UInt8.self))
            do throws(ParseError) { return .success(try parser.parseDocument()) } catch { return .failure(error) }
        }
        return try result.get()
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
        var output: [UInt8] = []
        output.reserveCapacity(256)
        write(value, to: &output)
        return Data(output)
    }

    private static func write(_ value: JSONValue, to output: inout [UInt8]) {
        switch value {
        case .null:
            output += "null".utf8
        case .bool(let bool):
            output += (bool ? "true" : "false").utf8
        case .integer(let integer):
            output += String(integer).utf8
        case .number(let number):
            output += (number.isFinite ? String(describing: number) : "null").utf8
        case .string(let string):
            writeString(string, to: &output)
        case .array(let elements):
            output.append(UInt8(ascii: "["))
            for (index, element) in elements.enumerated() {
                if index > 0 { output.append(UInt8(ascii: ",")) }
                write(element, to: &output)
            }
            output.append(UInt8(ascii: "]"))
        case .object(let members):
            output.append(UInt8(ascii: "{"))
            let sorted = members.sorted { $0.key.utf16.lexicographicallyPrecedes($1.key.utf16) }
            for (index, member) in sorted.enumerated() {
                if index > 0 { output.append(UInt8(ascii: ",")) }
                writeString(member.key, to: &output)
                output.append(UInt8(ascii: ":"))
                write(member.value, to: &output)
            }
            output.append(UInt8(ascii: "}"))
        }
    }

    /// Writes the string quoted; UTF-8 bytes from 0x20 on, other than `"` and `\`, are copied as they are.
    private static func writeString(_ string: String, to output: inout [UInt8]) {
        output.append(UInt8(ascii: "\""))
        for byte in string.utf8 {
            switch byte {
            case UInt8(ascii: "\""): output += #"\""#.utf8
            case UInt8(ascii: "\\"): output += #"\\"#.utf8
            case UInt8(ascii: "\n"): output += #"\n"#.utf8
            case UInt8(ascii: "\r"): output += #"\r"#.utf8
            case UInt8(ascii: "\t"): output += #"\t"#.utf8
            case 0x08: output += #"\b"#.utf8
            case 0x0C: output += #"\f"#.utf8
            case ..<0x20:
                output += #"\u00"#.utf8
                output.append(hexDigits[Int(byte >> 4)])
                output.append(hexDigits[Int(byte & 0x0F)])
            default:
                output.append(byte)
            }
        }
        output.append(UInt8(ascii: "\""))
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)
}

/// The parser behind ``JSONText/parse(_:)``: recursive descent over the bytes, one value per call.
private struct JSONParser {
    let bytes: UnsafeBufferPointer<UInt8>
    var position = 0
    var depth = 0

    init(bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
    }

    private func failure(_ what: String) -> JSONText.ParseError {
        JSONText.ParseError(description: "invalid JSON: \(what) at byte \(position)")
    }

    private var current: UInt8? {
        position < bytes.count ? bytes[position] : nil
    }

    mutating func parseDocument() throws(JSONText.ParseError) -> JSONValue {
        if bytes.count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF { position = 3 }
        skipWhitespace()
        let value = try parseValue()
        skipWhitespace()
        guard position == bytes.count else { throw failure("text after the value") }
        return value
    }

    private mutating func skipWhitespace() {
        while let byte = current, byte == 0x20 || byte == 0x0A || byte == 0x0D || byte == 0x09 { position += 1 }
    }

    private mutating func parseValue() throws(JSONText.ParseError) -> JSONValue {
        guard let byte = current else { throw failure("no value") }
        switch byte {
        case UInt8(ascii: "{"): return try parseObject()
        case UInt8(ascii: "["): return try parseArray()
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try expect("true"); return .bool(true)
        case UInt8(ascii: "f"): try expect("false"); return .bool(false)
        case UInt8(ascii: "n"): try expect("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
        default: throw failure("no value")
        }
    }

    private mutating func expect(_ literal: String) throws(JSONText.ParseError) {
        for byte in literal.utf8 {
            guard current == byte else { throw failure("unknown literal") }
            position += 1
        }
    }

    private mutating func enterContainer() throws(JSONText.ParseError) {
        depth += 1
        guard depth <= JSONText.maximumDepth else { throw failure("nesting deeper than \(JSONText.maximumDepth)") }
        position += 1
        skipWhitespace()
    }

    /// After a member or element: whether the container goes on (a comma not followed by its end).
    private mutating func continues(closingWith close: UInt8) throws(JSONText.ParseError) -> Bool {
        skipWhitespace()
        switch current {
        case UInt8(ascii: ","):
            position += 1
            skipWhitespace()
            guard current == close else { return true }
            position += 1
            return false
        case close:
            position += 1
            return false
        default:
            throw failure("expected , or \(Character(Unicode.Scalar(close)))")
        }
    }

    private mutating func parseArray() throws(JSONText.ParseError) -> JSONValue {
        try enterContainer()
        defer { depth -= 1 }
        var elements: [JSONValue] = []
        if current == UInt8(ascii: "]") {
            position += 1
            return .array(elements)
        }
        repeat {
            elements.append(try parseValue())
        } while try continues(closingWith: UInt8(ascii: "]"))
        return .array(elements)
    }

    private mutating func parseObject() throws(JSONText.ParseError) -> JSONValue {
        try enterContainer()
        defer { depth -= 1 }
        var members: [String: JSONValue] = [:]
        if current == UInt8(ascii: "}") {
            position += 1
            return .object(members)
        }
        repeat {
            guard current == UInt8(ascii: "\"") else { throw failure("expected a member name") }
            let key = try parseString()
            skipWhitespace()
            guard current == UInt8(ascii: ":") else { throw failure("expected :") }
            position += 1
            skipWhitespace()
            let value = try parseValue()
            if members[key] == nil { members[key] = value }
        } while try continues(closingWith: UInt8(ascii: "}"))
        return .object(members)
    }

    /// A string from its opening quote: runs without escapes are validated and taken as they are.
    private mutating func parseString() throws(JSONText.ParseError) -> String {
        position += 1
        let start = position
        while let byte = current, byte != UInt8(ascii: "\""), byte != UInt8(ascii: "\\"), byte >= 0x20 { position += 1 }
        if current == UInt8(ascii: "\"") {
            let run = UnsafeBufferPointer(rebasing: bytes[start..<position])
            position += 1
            guard let string = String(validating: run, as: UTF8.self) else { throw failure("invalid UTF-8") }
            return string
        }
        var decoded = Array(UnsafeBufferPointer(rebasing: bytes[start..<position]))
        while let byte = current {
            switch byte {
            case UInt8(ascii: "\""):
                position += 1
                guard let string = String(validating: decoded, as: UTF8.self) else { throw failure("invalid UTF-8") }
                return string
            case UInt8(ascii: "\\"):
                position += 1
                try appendEscape(to: &decoded)
            case ..<0x20:
                throw failure("control character in a string")
            default:
                decoded.append(byte)
                position += 1
            }
        }
        throw failure("unterminated string")
    }

    /// The escape after a backslash, as UTF-8; `\u` escapes of UTF-16 surrogates must come in pairs.
    private mutating func appendEscape(to decoded: inout [UInt8]) throws(JSONText.ParseError) {
        guard let byte = current else { throw failure("unterminated string") }
        position += 1
        let simple: UInt8? = switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): byte
        case UInt8(ascii: "b"): 0x08
        case UInt8(ascii: "f"): 0x0C
        case UInt8(ascii: "n"): 0x0A
        case UInt8(ascii: "r"): 0x0D
        case UInt8(ascii: "t"): 0x09
        default: nil
        }
        if let simple {
            decoded.append(simple)
            return
        }
        guard byte == UInt8(ascii: "u") else { throw failure("unknown escape") }
        var value = try hexQuad()
        if (0xD800..<0xDC00).contains(value) {
            guard bytes.count - position >= 2, bytes[position] == UInt8(ascii: "\\"), bytes[position + 1] == UInt8(ascii: "u")
            else { throw failure("unpaired surrogate") }
            position += 2
            let low = try hexQuad()
            guard (0xDC00..<0xE000).contains(low) else { throw failure("unpaired surrogate") }
            value = 0x10000 + (value - 0xD800) << 10 + (low - 0xDC00)
        } else if (0xDC00..<0xE000).contains(value) {
            throw failure("unpaired surrogate")
        }
        guard let scalar = Unicode.Scalar(value) else { throw failure("invalid escape") }
        UTF8.encode(scalar) { decoded.append($0) }
    }

    private mutating func hexQuad() throws(JSONText.ParseError) -> UInt32 {
        guard bytes.count - position >= 4 else { throw failure("short \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[position]
            let digit: UInt8 = switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
            default: throw failure("invalid \\u escape")
            }
            value = value << 4 | UInt32(digit)
            position += 1
        }
        return value
    }

    /// A number (RFC 8259 §6 grammar). Whole numbers without fraction or exponent are read into `Int64` directly.
    private mutating func parseNumber() throws(JSONText.ParseError) -> JSONValue {
        let start = position
        let negative = current == UInt8(ascii: "-")
        if negative { position += 1 }
        var integer: Int64? = 0
        let integerStart = position
        while let byte = current, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) {
            let digit = Int64(byte - UInt8(ascii: "0"))
            integer = integer.flatMap { value in
                let (shifted, overflow) = value.multipliedReportingOverflow(by: 10)
                guard !overflow else { return nil }
                let (next, overflowAgain) = negative ? shifted.subtractingReportingOverflow(digit)
                                                     : shifted.addingReportingOverflow(digit)
                return overflowAgain ? nil : next
            }
            position += 1
        }
        let digits = position - integerStart
        guard digits > 0 else { throw failure("a number without digits") }
        guard digits == 1 || bytes[integerStart] != UInt8(ascii: "0") else { throw failure("a number with a leading zero") }
        var whole = true
        if current == UInt8(ascii: ".") {
            whole = false
            position += 1
            try skipDigits()
        }
        if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
            whole = false
            position += 1
            if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { position += 1 }
            try skipDigits()
        }
        if let byte = current, Self.numberBytes.contains(byte) { throw failure("a malformed number") }
        if whole, let integer { return .integer(integer) }
        let text = UnsafeBufferPointer(rebasing: bytes[start..<position])
        guard let double = Double(String(decoding: text, as: UTF8.self)), double.isFinite else {
            throw failure("a number beyond Double")
        }
        guard !whole, let exact = Int64(exactly: double) else { return .number(double) }
        // Below 2^53 the Double is the number; above, `JSONDecoder` read the text again as a `Decimal`
        // (9007199254740993.0 is the integer 9007199254740993, 9223372036854775807.0 a `.number`): it still decides.
        if double.magnitude < 0x1p53 { return .integer(exact) }
        return (try? JSONDecoder().decode(Int64.self, from: Data(text))).map(JSONValue.integer) ?? .number(double)
    }

    /// The bytes `JSONDecoder`'s scanner took into a number token before checking its form.
    private static let numberBytes = Set("0123456789+-.eE".utf8)

    private mutating func skipDigits() throws(JSONText.ParseError) {
        let start = position
        while let byte = current, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) { position += 1 }
        guard position > start else { throw failure("a number without digits") }
    }
}
