/// Version-dependent symbol parameters from ISO/IEC 18004 (model 2 QR codes).
enum QRSymbolSpec {
    /// Error-correction codewords per block, indexed by level then `version - 1` (ISO/IEC 18004 table 9).
    private static let eccCodewordsPerBlock: [[Int]] = [
        // low
        [7, 10, 15, 20, 26, 18, 20, 24, 30, 18, 20, 24, 26, 30, 22, 24, 28, 30, 28, 28,
         28, 28, 30, 30, 26, 28, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30],
        // medium
        [10, 16, 26, 18, 24, 16, 18, 22, 22, 26, 30, 22, 22, 24, 24, 28, 28, 26, 26, 26,
         26, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28],
        // quartile
        [13, 22, 18, 26, 18, 24, 18, 22, 20, 24, 28, 26, 24, 20, 30, 24, 28, 28, 26, 30,
         28, 30, 30, 30, 30, 28, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30],
        // high
        [17, 28, 22, 16, 22, 28, 26, 26, 24, 28, 24, 28, 22, 24, 24, 30, 28, 28, 26, 28,
         30, 24, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30],
    ]

    /// Number of error-correction blocks, indexed by level then `version - 1` (ISO/IEC 18004 table 9).
    private static let blockCounts: [[Int]] = [
        // low
        [1, 1, 1, 1, 1, 2, 2, 2, 2, 4, 4, 4, 4, 4, 6, 6, 6, 6, 7, 8,
         8, 9, 9, 10, 12, 12, 12, 13, 14, 15, 16, 17, 18, 19, 19, 20, 21, 22, 24, 25],
        // medium
        [1, 1, 1, 2, 2, 4, 4, 4, 5, 5, 5, 8, 9, 9, 10, 10, 11, 13, 14, 16,
         17, 17, 18, 20, 21, 23, 25, 26, 28, 29, 31, 33, 35, 37, 38, 40, 43, 45, 47, 49],
        // quartile
        [1, 1, 2, 2, 4, 4, 6, 6, 8, 8, 8, 10, 12, 16, 12, 17, 16, 18, 21, 20,
         23, 23, 25, 27, 29, 34, 34, 35, 38, 40, 43, 45, 48, 51, 53, 56, 59, 62, 65, 68],
        // high
        [1, 1, 2, 4, 4, 4, 5, 6, 8, 8, 11, 11, 16, 16, 18, 16, 19, 21, 25, 25,
         25, 34, 30, 32, 35, 37, 40, 42, 45, 48, 51, 54, 57, 60, 63, 66, 70, 74, 77, 81],
    ]

    static func size(version: Int) -> Int { 17 + 4 * version }

    static func eccCodewordsPerBlock(version: Int, _ level: QRErrorCorrection) -> Int {
        eccCodewordsPerBlock[level.tableIndex][version - 1]
    }

    static func blockCount(version: Int, _ level: QRErrorCorrection) -> Int {
        blockCounts[level.tableIndex][version - 1]
    }

    /// Row/column coordinates of alignment pattern centres: from 6 to `size - 7`, evenly spaced
    /// with an even step (version 32 deviates from the rounding rule and uses 26).
    static func alignmentCenters(version: Int) -> [Int] {
        guard version >= 2 else { return [] }
        let count = version / 7 + 2
        let last = size(version: version) - 7
        let span = last - 6
        let roundedStep = (span + count - 2) / (count - 1)
        let step = version == 32 ? 26 : roundedStep + roundedStep % 2
        return [6] + (0..<(count - 1)).reversed().map { last - $0 * step }
    }

    /// Codewords (data + error correction) that fit in the modules left after all function patterns.
    static func totalCodewords(version: Int) -> Int {
        let size = size(version: version)
        let alignmentsPerAxis = alignmentCenters(version: version).count
        let finderAndSeparators = 3 * 64
        let formatAndDarkModule = 2 * 15 + 1
        let timing = 2 * (size - 16)
        // Alignment patterns on the timing row/column share 5 modules with it.
        let alignment = alignmentsPerAxis == 0
            ? 0 : 25 * (alignmentsPerAxis * alignmentsPerAxis - 3) - 10 * (alignmentsPerAxis - 2)
        let versionInfo = version >= 7 ? 2 * 18 : 0
        let dataModules = size * size - finderAndSeparators - formatAndDarkModule - timing - alignment - versionInfo
        return dataModules / 8
    }

    static func dataCodewords(version: Int, _ level: QRErrorCorrection) -> Int {
        totalCodewords(version: version)
            - eccCodewordsPerBlock(version: version, level) * blockCount(version: version, level)
    }

    /// Width of the byte-mode character count indicator.
    static func characterCountBits(version: Int) -> Int { version <= 9 ? 8 : 16 }
}
