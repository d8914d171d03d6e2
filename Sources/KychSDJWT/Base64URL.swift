import Foundation

/// Base64url without padding (RFC 4648 §5, as used by JOSE, RFC 7515 §2): the one implementation in KyCH.
/// Table-driven over bytes, because every JWS, JWE, disclosure, code and token passes through it (through
/// Foundation's base64 and `replacingOccurrences` it was a tenth of the gateway's CPU).
package enum Base64URL {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    /// The 6-bit value of each byte of the alphabet; 0xFF for every other byte.
    private static let values: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (value, byte) in alphabet.enumerated() { table[Int(byte)] = UInt8(value) }
        return table
    }()

    /// Encodes bytes as base64url with the `=` padding removed.
    package static func encode(_ bytes: some Sequence<UInt8>) -> String {
        if let encoded = bytes.withContiguousStorageIfAvailable(encodeBytes) { return encoded }
        return Array(bytes).withUnsafeBufferPointer(encodeBytes)
    }

    /// Encodes the bytes of `data`.
    package static func encode(_ data: Data) -> String {
        data.withUnsafeBytes { encodeBytes($0.bindMemory(to: UInt8.self)) }
    }

    /// Encodes the UTF-8 bytes of a string.
    package static func encode(_ string: String) -> String {
        var string = string
        return string.withUTF8(encodeBytes)
    }

    private static func encodeBytes(_ input: UnsafeBufferPointer<UInt8>) -> String {
        let count = input.count / 3 * 4 + [0, 2, 3][input.count % 3]
        return alphabet.withUnsafeBufferPointer { alphabet in
            String(unsafeUninitializedCapacity: count) { output in
                var read = 0, written = 0
                while read + 3 <= input.count {
                    let group = UInt32(input[read]) << 16 | UInt32(input[read + 1]) << 8 | UInt32(input[read + 2])
                    output[written] = alphabet[Int(group >> 18)]
                    output[written + 1] = alphabet[Int(group >> 12 & 0x3F)]
                    output[written + 2] = alphabet[Int(group >> 6 & 0x3F)]
                    output[written + 3] = alphabet[Int(group & 0x3F)]
                    read += 3
                    written += 4
                }
                switch input.count - read {
                case 1:
                    let group = UInt32(input[read]) << 16
                    output[written] = alphabet[Int(group >> 18)]
                    output[written + 1] = alphabet[Int(group >> 12 & 0x3F)]
                case 2:
                    let group = UInt32(input[read]) << 16 | UInt32(input[read + 1]) << 8
                    output[written] = alphabet[Int(group >> 18)]
                    output[written + 1] = alphabet[Int(group >> 12 & 0x3F)]
                    output[written + 2] = alphabet[Int(group >> 6 & 0x3F)]
                default:
                    break
                }
                return count
            }
        }
    }

    /// Decodes unpadded base64url. Returns `nil` for padding, characters outside the
    /// base64url alphabet, or an impossible length (a remainder of one character). Bits left over in the last
    /// character are ignored, as Foundation's decoder, which this replaces, ignored them.
    package static func decode(_ string: some StringProtocol) -> Data? {
        if let decoded = string.utf8.withContiguousStorageIfAvailable(decodeBytes) { return decoded }
        return Array(string.utf8).withUnsafeBufferPointer(decodeBytes)
    }

    private static func decodeBytes(_ input: UnsafeBufferPointer<UInt8>) -> Data? {
        let remainder = input.count % 4
        guard remainder != 1 else { return nil }
        let count = input.count / 4 * 3 + [0, 0, 1, 2][remainder]
        var output = Data(count: count)
        let complete = output.withUnsafeMutableBytes { (output: UnsafeMutableRawBufferPointer) -> Bool in
            values.withUnsafeBufferPointer { values in
                var read = 0, written = 0
                while read < input.count {
                    let available = min(4, input.count - read)
                    var group: UInt32 = 0
                    for offset in 0..<4 {
                        let value = offset < available ? values[Int(input[read + offset])] : 0
                        guard value != 0xFF else { return false }
                        group = group << 6 | UInt32(value)
                    }
                    for offset in 0..<(available - 1) {
                        output[written + offset] = UInt8(truncatingIfNeeded: group >> (16 - 8 * offset))
                    }
                    read += available
                    written += available - 1
                }
                return true
            }
        }
        return complete ? output : nil
    }
}
