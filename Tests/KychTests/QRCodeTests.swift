import KychQR
import Testing

@Suite("QR code encoder")
struct QRCodeTests {
    @Test("Symbols match an independent encoder module for module", arguments: QRReferenceVector.all)
    func referenceSymbol(_ vector: QRReferenceVector) throws {
        let code = try QRCode(text: vector.text, errorCorrection: vector.errorCorrection)
        #expect(code.version == vector.version)
        #expect(code.size == 17 + 4 * vector.version)
        #expect(code.mask == vector.mask)
        let rows = (0..<code.size).map { y in String((0..<code.size).map { code[$0, y] ? "#" : "." }) }
        try #require(rows.count == vector.rows.count)
        for (y, (actual, expected)) in zip(rows, vector.rows).enumerated() {
            #expect(actual == expected, "row \(y)")
        }
    }

    @Test("Version, mask choice and whole symbol match the references for generated payloads",
          arguments: QRFingerprintCase.all)
    func fingerprint(_ testCase: QRFingerprintCase) throws {
        let code = try QRCode(bytes: testCase.payload, errorCorrection: testCase.errorCorrection)
        #expect(code.version == testCase.version)
        #expect(code.mask == testCase.mask)
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for y in 0..<code.size {
            for x in 0..<code.size {
                hash = (hash ^ UInt64(code[x, y] ? UInt8(ascii: "#") : UInt8(ascii: "."))) &* 0x0000_0100_0000_01B3
            }
        }
        #expect(hash == testCase.fingerprint)
    }

    @Test("Modules outside the symbol read as light quiet zone")
    func quietZoneSubscript() throws {
        let code = try QRCode(text: "KyCH")
        #expect(code[0, 0])
        #expect(![-1, code.size].contains { code[$0, 0] || code[0, $0] })
    }

    @Test("Reed-Solomon codewords of the ISO/IEC 18004 annex example (\"01234567\", 1-M)")
    func reedSolomonISOExample() {
        let data: [UInt8] = [0x10, 0x20, 0x0C, 0x56, 0x61, 0x80, 0xEC, 0x11,
                             0xEC, 0x11, 0xEC, 0x11, 0xEC, 0x11, 0xEC, 0x11]
        #expect(QRCode.errorCorrectionCodewords(for: data, count: 10)
            == [0xA5, 0x24, 0xD4, 0xC1, 0xED, 0x36, 0xC7, 0x87, 0x2C, 0x55])
    }

    @Test("Reed-Solomon codewords of \"HELLO WORLD\" in alphanumeric mode, 1-Q")
    func reedSolomonHelloWorld() {
        let data: [UInt8] = [32, 91, 11, 120, 209, 114, 220, 77, 67, 64, 236, 17, 236]
        #expect(QRCode.errorCorrectionCodewords(for: data, count: 13)
            == [168, 72, 22, 82, 217, 54, 156, 0, 46, 15, 180, 122, 16])
    }

    /// Format information for masks 0...7 (ISO/IEC 18004 annex C).
    static let formatInformationTable: [QRErrorCorrection: [Int]] = [
        .low: [0x77C4, 0x72F3, 0x7DAA, 0x789D, 0x662F, 0x6318, 0x6C41, 0x6976],
        .medium: [0x5412, 0x5125, 0x5E7C, 0x5B4B, 0x45F9, 0x40CE, 0x4F97, 0x4AA0],
        .quartile: [0x355F, 0x3068, 0x3F31, 0x3A06, 0x24B4, 0x2183, 0x2EDA, 0x2BED],
        .high: [0x1689, 0x13BE, 0x1CE7, 0x19D0, 0x0762, 0x0255, 0x0D0C, 0x083B],
    ]

    /// Version information for versions 7...40 (ISO/IEC 18004 annex D).
    static let versionInformationTable: [Int] = [
        0x07C94, 0x085BC, 0x09A99, 0x0A4D3, 0x0BBF6, 0x0C762,
        0x0D847, 0x0E60D, 0x0F928, 0x10B78, 0x1145D, 0x12A17,
        0x13532, 0x149A6, 0x15683, 0x168C9, 0x177EC, 0x18EC4,
        0x191E1, 0x1AFAB, 0x1B08E, 0x1CC1A, 0x1D33F, 0x1ED75,
        0x1F250, 0x209D5, 0x216F0, 0x228BA, 0x2379F, 0x24B0B,
        0x2542E, 0x26A64, 0x27541, 0x28C69,
    ]

    /// Reads the bits at `positions` (most significant first) as an integer.
    private static func bits(of code: QRCode, at positions: [(x: Int, y: Int)]) -> Int {
        positions.reduce(0) { $0 << 1 | (code[$1.x, $1.y] ? 1 : 0) }
    }

    @Test("Format information bits match the ISO table", arguments: QRErrorCorrection.allCases)
    func formatInformation(level: QRErrorCorrection) {
        let computed = (0..<8).map { QRCode.formatInformation(errorCorrection: level, mask: $0) }
        #expect(computed == Self.formatInformationTable[level])
    }

    @Test("Both format information copies and the dark module are placed per ISO figure 25",
          arguments: QRErrorCorrection.allCases)
    func formatInformationPlacement(level: QRErrorCorrection) throws {
        let code = try QRCode(text: "https://kych.example/", errorCorrection: level)
        let size = code.size
        let expected = try #require(Self.formatInformationTable[level]?[code.mask])
        // Bits 14...0: along row 8 left of the top-left finder, then up column 8 (both skip the timing pattern).
        let topLeft = [0, 1, 2, 3, 4, 5, 7, 8].map { (x: $0, y: 8) } + [7, 5, 4, 3, 2, 1, 0].map { (x: 8, y: $0) }
        // Bits 14...8 up column 8 from the bottom edge, then bits 7...0 along row 8 to the right edge.
        let split = (0..<7).map { (x: 8, y: size - 1 - $0) } + (0..<8).map { (x: size - 8 + $0, y: 8) }
        #expect(Self.bits(of: code, at: topLeft) == expected)
        #expect(Self.bits(of: code, at: split) == expected)
        #expect(code[8, size - 8])
    }

    @Test("Version information bits match the ISO table")
    func versionInformation() {
        #expect((7...40).map { QRCode.versionInformation(version: $0) } == Self.versionInformationTable)
    }

    @Test("Both version information blocks are placed per ISO figure 27", arguments: [(150, 7), (1000, 22), (2953, 40)])
    func versionInformationPlacement(byteCount: Int, version: Int) throws {
        let code = try QRCode(bytes: Array(repeating: 0x5A, count: byteCount), errorCorrection: .low)
        try #require(code.version == version)
        let edge = code.size - 11
        // Bit 17 first; bit i sits at (i / 3, edge + i % 3) bottom left and transposed top right.
        let bottomLeft = (0..<18).reversed().map { (x: $0 / 3, y: edge + $0 % 3) }
        let topRight = bottomLeft.map { (x: $0.y, y: $0.x) }
        #expect(Self.bits(of: code, at: bottomLeft) == Self.versionInformationTable[version - 7])
        #expect(Self.bits(of: code, at: topRight) == Self.versionInformationTable[version - 7])
    }

    @Test("Largest byte payload fits the version, one more byte needs the next version",
          arguments: [
              (QRErrorCorrection.low, 1, 17), (.low, 9, 230), (.low, 10, 271), (.low, 40, 2953),
              (.medium, 1, 14), (.medium, 9, 180), (.medium, 10, 213), (.medium, 40, 2331),
              (.quartile, 1, 11), (.quartile, 9, 130), (.quartile, 10, 151), (.quartile, 40, 1663),
              (.high, 1, 7), (.high, 9, 98), (.high, 10, 119), (.high, 40, 1273),
          ])
    func capacityBoundary(level: QRErrorCorrection, version: Int, maxBytes: Int) throws {
        let largest = try QRCode(bytes: Array(repeating: 0xA5, count: maxBytes), errorCorrection: level)
        #expect(largest.version == version)
        let oneMore = Array(repeating: UInt8(0xA5), count: maxBytes + 1)
        if version < 40 {
            #expect(try QRCode(bytes: oneMore, errorCorrection: level).version == version + 1)
        } else {
            #expect(throws: QRCodeError.dataTooLong) { try QRCode(bytes: oneMore, errorCorrection: level) }
        }
    }

    @Test("Default level is medium: 2331 bytes fit version 40, 2332 bytes throw dataTooLong")
    func defaultLevelCapacity() throws {
        #expect(try QRCode(bytes: Array(repeating: 0x41, count: 2331)).version == 40)
        #expect(throws: QRCodeError.dataTooLong) { try QRCode(bytes: Array(repeating: 0x41, count: 2332)) }
        #expect(throws: QRCodeError.dataTooLong) { try QRCode(text: String(repeating: "ä", count: 1166)) }
    }

    @Test("An empty payload encodes as version 1")
    func emptyPayload() throws {
        #expect(try QRCode(bytes: []).version == 1)
    }

    @Test("SVG markup: quiet zone, sizing, accessibility, one path covering exactly the dark modules")
    func svgMarkup() throws {
        let code = try QRCode(text: "KyCH")
        let svg = code.svg(moduleSize: 5, label: #"Scan <this> & "go" 'now'"#)
        #expect(svg.hasPrefix("<svg xmlns=\"http://www.w3.org/2000/svg\" "))
        #expect(svg.hasSuffix("</svg>"))
        #expect(!svg.contains("<?xml"))
        #expect(svg.contains(#"viewBox="0 0 29 29""#))
        #expect(svg.contains(#"width="145" height="145""#))
        #expect(svg.contains(#"shape-rendering="crispEdges""#))
        #expect(svg.contains(#"role="img" aria-label="Scan &lt;this&gt; &amp; &quot;go&quot; &apos;now&apos;""#))
        #expect(svg.components(separatedBy: "<path").count == 2)

        let pathData = try #require(svg.firstMatch(of: #/<path[^>]* d="([^"]*)"/>/#)?.output.1)
        try #require(pathData.wholeMatch(of: #/(M\d+ \d+h\d+v1h-\d+z)+/#) != nil)
        var painted: [Int] = []
        for run in pathData.matches(of: #/M(\d+) (\d+)h(\d+)v1h-(\d+)z/#) {
            let (x, y, width) = (Int(run.output.1)! - 4, Int(run.output.2)! - 4, Int(run.output.3)!)
            #expect(run.output.4 == run.output.3)
            painted += (x..<(x + width)).map { y * code.size + $0 }
        }
        let dark = (0..<(code.size * code.size)).filter { code[$0 % code.size, $0 / code.size] }
        #expect(painted.sorted() == dark)
    }

    @Test("SVG defaults: 4 pixels per module and a generic accessible name")
    func svgDefaults() throws {
        let svg = try QRCode(text: "KyCH").svg()
        #expect(svg.contains(#"width="116" height="116""#))
        #expect(svg.contains(#"role="img" aria-label="QR code""#))
    }
}
