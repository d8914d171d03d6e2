/// The module grid of a symbol under construction, tracking which modules belong to function patterns.
struct QRMatrix {
    let version: Int
    let size: Int
    /// Dark modules, row-major.
    private(set) var modules: [Bool]
    /// Function-pattern modules (finders, separators, timing, alignment, format and version information).
    private var isFunction: [Bool]

    /// A grid with all function patterns drawn and the format information area reserved.
    init(version: Int) {
        self.version = version
        size = QRSymbolSpec.size(version: version)
        modules = Array(repeating: false, count: size * size)
        isFunction = modules
        drawFunctionPatterns()
    }

    subscript(x: Int, y: Int) -> Bool { modules[y * size + x] }

    private mutating func setFunction(_ x: Int, _ y: Int, dark: Bool) {
        modules[y * size + x] = dark
        isFunction[y * size + x] = true
    }

    private mutating func drawFunctionPatterns() {
        for index in 0..<size {
            setFunction(6, index, dark: index.isMultiple(of: 2))
            setFunction(index, 6, dark: index.isMultiple(of: 2))
        }
        // Finder patterns (7×7 with a 3×3 core) and their light separators.
        for (centerX, centerY) in [(3, 3), (size - 4, 3), (3, size - 4)] {
            for dy in -4...4 {
                for dx in -4...4 where (0..<size).contains(centerX + dx) && (0..<size).contains(centerY + dy) {
                    let ring = max(abs(dx), abs(dy))
                    setFunction(centerX + dx, centerY + dy, dark: ring != 2 && ring != 4)
                }
            }
        }
        // Alignment patterns on every pair of centre coordinates except the three finder corners.
        let centers = QRSymbolSpec.alignmentCenters(version: version)
        let last = centers.count - 1
        func overlapsFinder(_ row: Int, _ column: Int) -> Bool {
            (row == 0 && (column == 0 || column == last)) || (row == last && column == 0)
        }
        for (row, centerY) in centers.enumerated() {
            for (column, centerX) in centers.enumerated() where !overlapsFinder(row, column) {
                for dy in -2...2 {
                    for dx in -2...2 {
                        setFunction(centerX + dx, centerY + dy, dark: max(abs(dx), abs(dy)) != 1)
                    }
                }
            }
        }
        drawFormatInformation(0)  // Reserves the area; `masked(_:formatInformation:)` draws the real bits.
        drawVersionInformation()
    }

    /// Draws both copies of the 15 format bits (bit 0 = least significant) and the always-dark module.
    private mutating func drawFormatInformation(_ bits: Int) {
        func bit(_ index: Int) -> Bool { (bits >> index) & 1 == 1 }
        // Around the top-left finder: bits 0-7 down column 8, bits 8-14 leftwards along row 8, skipping timing.
        for (index, y) in [0, 1, 2, 3, 4, 5, 7, 8].enumerated() {
            setFunction(8, y, dark: bit(index))
        }
        for (index, x) in [7, 5, 4, 3, 2, 1, 0].enumerated() {
            setFunction(x, 8, dark: bit(index + 8))
        }
        // Bits 0-7 leftwards along row 8 from the right edge, bits 8-14 down column 8 to the bottom edge.
        for index in 0..<8 {
            setFunction(size - 1 - index, 8, dark: bit(index))
        }
        for index in 8..<15 {
            setFunction(8, size - 15 + index, dark: bit(index))
        }
        setFunction(8, size - 8, dark: true)
    }

    /// Draws the two 6×3 version information blocks (versions 7 and up) next to the top-right and bottom-left finders.
    private mutating func drawVersionInformation() {
        guard version >= 7 else { return }
        let bits = QRCode.versionInformation(version: version)
        for index in 0..<18 {
            let dark = (bits >> index) & 1 == 1
            let (near, far) = (index / 3, size - 11 + index % 3)
            setFunction(far, near, dark: dark)
            setFunction(near, far, dark: dark)
        }
    }

    /// Places the codeword bits (most significant first) in two-module-wide columns, right to left,
    /// alternately upwards and downwards, skipping function modules and the vertical timing column.
    /// Remainder modules stay light.
    mutating func placeCodewords(_ codewords: [UInt8]) {
        let bitCount = codewords.count * 8
        var bitIndex = 0
        var upward = true
        var right = size - 1
        while right > 0 {
            if right == 6 { right = 5 }
            for step in 0..<size {
                let y = upward ? size - 1 - step : step
                for x in [right, right - 1] where !isFunction[y * size + x] && bitIndex < bitCount {
                    modules[y * size + x] = (codewords[bitIndex / 8] >> (7 - bitIndex % 8)) & 1 == 1
                    bitIndex += 1
                }
            }
            upward.toggle()
            right -= 2
        }
    }

    /// A copy with data mask `mask` (0...7) applied to the non-function modules and the format information drawn.
    func masked(_ mask: Int, formatInformation: Int) -> QRMatrix {
        var result = self
        for y in 0..<size {
            for x in 0..<size where !isFunction[y * size + x] && Self.maskInverts(mask, x: x, y: y) {
                result.modules[y * size + x].toggle()
            }
        }
        result.drawFormatInformation(formatInformation)
        return result
    }

    /// The mask condition of ISO/IEC 18004 table 10 (x = column, y = row).
    private static func maskInverts(_ mask: Int, x: Int, y: Int) -> Bool {
        switch mask {
        case 0: (x + y) % 2 == 0
        case 1: y % 2 == 0
        case 2: x % 3 == 0
        case 3: (x + y) % 3 == 0
        case 4: (y / 2 + x / 3) % 2 == 0
        case 5: (x * y) % 2 + (x * y) % 3 == 0
        case 6: ((x * y) % 2 + (x * y) % 3) % 2 == 0
        default: ((x + y) % 2 + (x * y) % 3) % 2 == 0
        }
    }

    /// Mask penalty score (ISO/IEC 18004 §7.8.3): same-colour runs of 5+ (N1 = 3), 2×2 same-colour blocks (N2 = 3),
    /// 1:1:3:1:1 finder-like patterns with 4 light modules on either side (N3 = 40; beyond the edge counts as light;
    /// counted left to right without overlap), and each full 5 % deviation of the dark share from 50 % (N4 = 10).
    func penalty() -> Int {
        var score = 0
        for index in 0..<size {
            score += Self.linePenalty((0..<size).map { self[$0, index] })
            score += Self.linePenalty((0..<size).map { self[index, $0] })
        }
        for y in 0..<(size - 1) {
            for x in 0..<(size - 1) {
                let color = self[x, y]
                if self[x + 1, y] == color && self[x, y + 1] == color && self[x + 1, y + 1] == color { score += 3 }
            }
        }
        let darkCount = modules.count(where: \.self)
        score += 10 * (abs(100 * darkCount - 50 * modules.count) / (5 * modules.count))
        return score
    }

    private static let finderLike: [Bool] = [true, false, true, true, true, false, true]

    /// N1 and N3 penalties of one row or column.
    private static func linePenalty(_ line: [Bool]) -> Int {
        var score = 0
        var runStart = 0
        for index in 1...line.count where index == line.count || line[index] != line[runStart] {
            let runLength = index - runStart
            if runLength >= 5 { score += runLength - 2 }
            runStart = index
        }
        func isLight(_ range: Range<Int>) -> Bool { !line[range.clamped(to: line.indices)].contains(true) }
        var start = 0
        while start + finderLike.count <= line.count {
            let end = start + finderLike.count
            let isFinderLike = line[start..<end].elementsEqual(finderLike)
            if isFinderLike && (isLight((start - 4)..<start) || isLight(end..<(end + 4))) {
                score += 40
                start = end
            } else {
                start += 1
            }
        }
        return score
    }
}
