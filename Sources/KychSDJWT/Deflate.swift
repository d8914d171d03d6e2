import Foundation

/// DEFLATE (RFC 1951) and its zlib wrapper (RFC 1950), as needed by token status lists
/// (`lst` is zlib) and JWE `zip: DEF` (raw DEFLATE).
///
/// The inflater handles stored, fixed-Huffman and dynamic-Huffman blocks. The deflater writes
/// stored blocks only: valid DEFLATE that any inflater reads, without compression.
package enum Deflate {
    /// Thrown for corrupt or oversized compressed data.
    package struct DataError: Error, Sendable, CustomStringConvertible {
        package let description: String
    }

    /// Decompresses raw DEFLATE data. Bytes after the final block are an error.
    package static func inflate(_ data: Data, maxOutputSize: Int = 16 << 20) throws(DataError) -> Data {
        var inflater = Inflater(input: [UInt8](data), maxOutputSize: maxOutputSize)
        try inflater.run()
        guard inflater.reader.position == data.count else { throw DataError(description: "trailing bytes after DEFLATE data") }
        return Data(inflater.output)
    }

    /// Decompresses a zlib stream (2-byte header, DEFLATE data, Adler-32), checking the checksum.
    package static func inflateZlib(_ data: Data, maxOutputSize: Int = 16 << 20) throws(DataError) -> Data {
        let bytes = [UInt8](data)
        guard bytes.count >= 6 else { throw DataError(description: "zlib stream too short") }
        let cmf = bytes[0], flg = bytes[1]
        guard cmf & 0x0F == 8, cmf >> 4 <= 7, (UInt16(cmf) << 8 | UInt16(flg)) % 31 == 0 else {
            throw DataError(description: "invalid zlib header")
        }
        guard flg & 0x20 == 0 else { throw DataError(description: "zlib preset dictionaries are not supported") }
        var inflater = Inflater(input: bytes, maxOutputSize: maxOutputSize)
        inflater.reader.position = 2
        try inflater.run()
        let end = inflater.reader.position
        guard bytes.count == end + 4 else { throw DataError(description: "zlib trailer missing or followed by extra bytes") }
        let expected = bytes[end..<end + 4].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        guard adler32(inflater.output) == expected else { throw DataError(description: "zlib checksum mismatch") }
        return Data(inflater.output)
    }

    /// Wraps `data` in stored DEFLATE blocks (no compression).
    package static func deflate(_ data: Data) -> Data {
        let bytes = [UInt8](data)
        var output: [UInt8] = []
        output.reserveCapacity(bytes.count + 5 * (bytes.count / 0xFFFF + 1))
        var start = 0
        repeat {
            let end = min(start + 0xFFFF, bytes.count)
            let length = UInt16(end - start)
            output.append(end == bytes.count ? 1 : 0)  // BFINAL, BTYPE 00 (stored); the rest pads the byte
            output += [UInt8(length & 0xFF), UInt8(length >> 8), UInt8(~length & 0xFF), UInt8(~length >> 8)]
            output += bytes[start..<end]
            start = end
        } while start < bytes.count
        return Data(output)
    }

    /// `deflate(_:)` in a zlib stream.
    package static func deflateZlib(_ data: Data) -> Data {
        let checksum = adler32([UInt8](data))
        return Data([0x78, 0x01]) + deflate(data)
            + Data([24, 16, 8, 0].map { UInt8(truncatingIfNeeded: checksum >> $0) })
    }

    static func adler32(_ bytes: [UInt8]) -> UInt32 {
        var a: UInt32 = 1, b: UInt32 = 0
        var index = 0
        while index < bytes.count {
            // 5552 is the largest run for which the sums cannot overflow 32 bits.
            let end = min(index + 5552, bytes.count)
            for byte in bytes[index..<end] {
                a += UInt32(byte)
                b += a
            }
            a %= 65521
            b %= 65521
            index = end
        }
        return b << 16 | a
    }
}

/// Reads bits least-significant first, as DEFLATE packs them.
private struct BitReader {
    let input: [UInt8]
    var position = 0
    private var buffer: UInt32 = 0
    private var count = 0

    init(input: [UInt8]) { self.input = input }

    mutating func bits(_ needed: Int) throws(Deflate.DataError) -> Int {
        while count < needed {
            guard position < input.count else { throw Deflate.DataError(description: "unexpected end of DEFLATE data") }
            buffer |= UInt32(input[position]) << count
            position += 1
            count += 8
        }
        let value = Int(buffer & ((1 << needed) - 1))
        buffer >>= needed
        count -= needed
        return value
    }

    /// Drops the bits left in the current byte.
    mutating func alignToByte() {
        buffer = 0
        count = 0
    }
}

/// A canonical Huffman code, decoded one bit at a time (RFC 1951 §3.2.2).
private struct Huffman {
    private var counts = [Int](repeating: 0, count: 16)
    private var symbols: [Int]

    init(lengths: [Int]) throws(Deflate.DataError) {
        for length in lengths { counts[length] += 1 }
        var left = 1
        for length in 1...15 {
            left = left * 2 - counts[length]
            guard left >= 0 else { throw Deflate.DataError(description: "over-subscribed Huffman code") }
        }
        var offsets = [Int](repeating: 0, count: 16)
        for length in 1..<15 { offsets[length + 1] = offsets[length] + counts[length] }
        symbols = [Int](repeating: 0, count: lengths.count)
        for (symbol, length) in lengths.enumerated() where length != 0 {
            symbols[offsets[length]] = symbol
            offsets[length] += 1
        }
    }

    func decode(_ reader: inout BitReader) throws(Deflate.DataError) -> Int {
        var code = 0, first = 0, index = 0
        for length in 1...15 {
            code |= try reader.bits(1)
            let count = counts[length]
            if code - first < count { return symbols[index + code - first] }
            index += count
            first = (first + count) << 1
            code <<= 1
        }
        throw Deflate.DataError(description: "invalid Huffman code")
    }
}

private struct Inflater {
    var reader: BitReader
    var output: [UInt8] = []
    let maxOutputSize: Int

    init(input: [UInt8], maxOutputSize: Int) {
        reader = BitReader(input: input)
        self.maxOutputSize = maxOutputSize
    }

    private static let lengthBase = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31,
                                     35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258]
    private static let lengthExtra = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2,
                                      3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0]
    private static let distanceBase = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193,
                                       257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145,
                                       8193, 12289, 16385, 24577]
    private static let distanceExtra = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6,
                                        7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13]
    private static let codeLengthOrder = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15]

    mutating func run() throws(Deflate.DataError) {
        var isFinal = false
        while !isFinal {
            isFinal = try reader.bits(1) == 1
            switch try reader.bits(2) {
            case 0: try storedBlock()
            case 1: try huffmanBlock(try Self.fixedCodes())
            case 2: try huffmanBlock(try dynamicCodes())
            default: throw Deflate.DataError(description: "invalid DEFLATE block type")
            }
        }
    }

    private mutating func append<S: Collection<UInt8>>(_ bytes: S) throws(Deflate.DataError) {
        guard output.count + bytes.count <= maxOutputSize else {
            throw Deflate.DataError(description: "decompressed data exceeds \(maxOutputSize) bytes")
        }
        output += bytes
    }

    private mutating func storedBlock() throws(Deflate.DataError) {
        reader.alignToByte()
        let length = try reader.bits(16)
        guard try reader.bits(16) == length ^ 0xFFFF else { throw Deflate.DataError(description: "stored block length check failed") }
        let start = reader.position
        guard start + length <= reader.input.count else { throw Deflate.DataError(description: "unexpected end of DEFLATE data") }
        try append(reader.input[start..<start + length])
        reader.position += length
    }

    private static func fixedCodes() throws(Deflate.DataError) -> (literals: Huffman, distances: Huffman) {
        let literalLengths = Array(repeating: 8, count: 144) + Array(repeating: 9, count: 112)
            + Array(repeating: 7, count: 24) + Array(repeating: 8, count: 8)
        return (try Huffman(lengths: literalLengths), try Huffman(lengths: Array(repeating: 5, count: 30)))
    }

    private mutating func dynamicCodes() throws(Deflate.DataError) -> (literals: Huffman, distances: Huffman) {
        let literalCount = try reader.bits(5) + 257
        let distanceCount = try reader.bits(5) + 1
        let codeLengthCount = try reader.bits(4) + 4
        guard literalCount <= 286, distanceCount <= 30 else { throw Deflate.DataError(description: "too many Huffman codes") }

        var codeLengthLengths = [Int](repeating: 0, count: 19)
        for index in 0..<codeLengthCount {
            codeLengthLengths[Self.codeLengthOrder[index]] = try reader.bits(3)
        }
        let codeLengthCode = try Huffman(lengths: codeLengthLengths)

        var lengths: [Int] = []
        while lengths.count < literalCount + distanceCount {
            let symbol = try codeLengthCode.decode(&reader)
            let (value, repeats): (Int, Int)
            switch symbol {
            case 0...15:
                (value, repeats) = (symbol, 1)
            case 16:
                guard let previous = lengths.last else { throw Deflate.DataError(description: "repeat with no previous length") }
                (value, repeats) = (previous, 3 + (try reader.bits(2)))
            case 17:
                (value, repeats) = (0, 3 + (try reader.bits(3)))
            default:
                (value, repeats) = (0, 11 + (try reader.bits(7)))
            }
            guard lengths.count + repeats <= literalCount + distanceCount else {
                throw Deflate.DataError(description: "code lengths overflow")
            }
            lengths += repeatElement(value, count: repeats)
        }
        guard lengths[256] != 0 else { throw Deflate.DataError(description: "missing end-of-block code") }
        return (try Huffman(lengths: Array(lengths[..<literalCount])),
                try Huffman(lengths: Array(lengths[literalCount...])))
    }

    private mutating func huffmanBlock(_ codes: (literals: Huffman, distances: Huffman)) throws(Deflate.DataError) {
        while true {
            let symbol = try codes.literals.decode(&reader)
            if symbol < 256 {
                try append(CollectionOfOne(UInt8(symbol)))
            } else if symbol == 256 {
                return
            } else {
                let lengthIndex = symbol - 257
                guard lengthIndex < Self.lengthBase.count else { throw Deflate.DataError(description: "invalid length symbol") }
                let length = Self.lengthBase[lengthIndex] + (try reader.bits(Self.lengthExtra[lengthIndex]))
                let distanceIndex = try codes.distances.decode(&reader)
                guard distanceIndex < Self.distanceBase.count else { throw Deflate.DataError(description: "invalid distance symbol") }
                let distance = Self.distanceBase[distanceIndex] + (try reader.bits(Self.distanceExtra[distanceIndex]))
                guard distance <= output.count else { throw Deflate.DataError(description: "distance beyond start of output") }
                guard output.count + length <= maxOutputSize else {
                    throw Deflate.DataError(description: "decompressed data exceeds \(maxOutputSize) bytes")
                }
                let start = output.count - distance
                for offset in 0..<length { output.append(output[start + offset]) }
            }
        }
    }
}
