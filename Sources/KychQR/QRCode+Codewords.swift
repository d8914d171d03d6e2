extension QRCode {
    /// The `count` Reed-Solomon error-correction codewords for one block of data codewords.
    package static func errorCorrectionCodewords(for data: [UInt8], count: Int) -> [UInt8] {
        ReedSolomon.remainder(data, generator: ReedSolomon.generator(degree: count))
    }

    /// The 15-bit format information: level indicator and mask, BCH(15,5)-coded and XORed with 0x5412.
    package static func formatInformation(errorCorrection: QRErrorCorrection, mask: Int) -> Int {
        bchCode(errorCorrection.formatIndicator << 3 | mask, generator: 0b101_0011_0111) ^ 0b101_0100_0001_0010
    }

    /// The 18-bit version information (versions 7 and up): the version number, BCH(18,6)-coded.
    package static func versionInformation(version: Int) -> Int {
        bchCode(version, generator: 0b1_1111_0010_0101)
    }

    /// `data` followed by the remainder of `data · x^degree` divided by `generator` over GF(2).
    private static func bchCode(_ data: Int, generator: Int) -> Int {
        func degree(_ polynomial: Int) -> Int { Int.bitWidth - 1 - polynomial.leadingZeroBitCount }
        let generatorDegree = degree(generator)
        var remainder = data << generatorDegree
        while degree(remainder) >= generatorDegree {
            remainder ^= generator << (degree(remainder) - generatorDegree)
        }
        return data << generatorDegree | remainder
    }

    /// The final codeword sequence: byte-mode data bits padded to capacity, split into blocks,
    /// each followed by its error-correction codewords, and interleaved.
    static func codewords(for bytes: [UInt8], version: Int, _ level: QRErrorCorrection) -> [UInt8] {
        let dataCount = QRSymbolSpec.dataCodewords(version: version, level)
        var bits = BitBuffer()
        bits.append(0b0100, width: 4)
        bits.append(bytes.count, width: QRSymbolSpec.characterCountBits(version: version))
        for byte in bytes { bits.append(Int(byte), width: 8) }
        bits.append(0, width: min(4, 8 * dataCount - bits.count))
        bits.append(0, width: (8 - bits.count % 8) % 8)
        let padding: [UInt8] = (0..<(dataCount - bits.bytes.count)).map { $0.isMultiple(of: 2) ? 0xEC : 0x11 }
        return interleave(bits.bytes + padding, version: version, level)
    }

    /// Splits `data` into the version's blocks (shorter ones first, longer ones one codeword longer),
    /// then emits the data codewords column by column followed by the ECC codewords column by column.
    private static func interleave(_ data: [UInt8], version: Int, _ level: QRErrorCorrection) -> [UInt8] {
        let blockCount = QRSymbolSpec.blockCount(version: version, level)
        let eccCount = QRSymbolSpec.eccCodewordsPerBlock(version: version, level)
        let totalCount = QRSymbolSpec.totalCodewords(version: version)
        let longBlockCount = totalCount % blockCount
        let shortDataCount = totalCount / blockCount - eccCount

        var dataBlocks: [ArraySlice<UInt8>] = []
        var start = data.startIndex
        for block in 0..<blockCount {
            let end = start + shortDataCount + (block >= blockCount - longBlockCount ? 1 : 0)
            dataBlocks.append(data[start..<end])
            start = end
        }
        let eccBlocks = dataBlocks.map { errorCorrectionCodewords(for: Array($0), count: eccCount) }

        var result: [UInt8] = []
        result.reserveCapacity(totalCount)
        for column in 0...shortDataCount {
            for block in dataBlocks where column < block.count {
                result.append(block[block.startIndex + column])
            }
        }
        for column in 0..<eccCount {
            result.append(contentsOf: eccBlocks.map { $0[column] })
        }
        return result
    }
}

/// Big-endian bit accumulator.
private struct BitBuffer {
    private(set) var bytes: [UInt8] = []
    private(set) var count = 0

    /// Appends the low `width` bits of `value`, most significant first.
    mutating func append(_ value: Int, width: Int) {
        for shift in stride(from: width - 1, through: 0, by: -1) {
            if count.isMultiple(of: 8) { bytes.append(0) }
            if (value >> shift) & 1 == 1 { bytes[count / 8] |= 0x80 >> (count % 8) }
            count += 1
        }
    }
}
