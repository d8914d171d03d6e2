/// Error-correction level of a QR code: roughly 7 %, 15 %, 25 % or 30 % of the codewords can be restored.
package enum QRErrorCorrection: Sendable, CaseIterable {
    case low, medium, quartile, high

    /// Row of this level in the `QRSymbolSpec` tables.
    var tableIndex: Int {
        switch self {
        case .low: 0
        case .medium: 1
        case .quartile: 2
        case .high: 3
        }
    }

    /// Two-bit error-correction indicator used in the format information.
    var formatIndicator: Int {
        switch self {
        case .low: 0b01
        case .medium: 0b00
        case .quartile: 0b11
        case .high: 0b10
        }
    }
}

/// Errors thrown when encoding a QR code.
package enum QRCodeError: Error, Sendable, Equatable {
    /// The data does not fit in a version 40 symbol at the requested error-correction level.
    case dataTooLong
}

/// A QR code symbol (ISO/IEC 18004, model 2) holding its data in byte mode.
package struct QRCode: Sendable {
    /// Symbol version (1...40): the smallest one that holds the data.
    package let version: Int
    /// Modules per side: 17 + 4 × `version`.
    package let size: Int
    /// Data mask pattern (0...7) with the lowest penalty score.
    package let mask: Int
    /// Dark modules, row-major.
    private let modules: [Bool]

    /// Whether the module at column `x`, row `y` (origin top left) is dark.
    /// Coordinates outside the symbol belong to the light quiet zone.
    package subscript(x: Int, y: Int) -> Bool {
        (0..<size).contains(x) && (0..<size).contains(y) && modules[y * size + x]
    }

    /// Encodes the UTF-8 bytes of `text`; see ``init(bytes:errorCorrection:)``.
    package init(text: String, errorCorrection: QRErrorCorrection = .medium) throws(QRCodeError) {
        try self.init(bytes: Array(text.utf8), errorCorrection: errorCorrection)
    }

    /// Encodes `bytes` in byte mode in the smallest version that fits, choosing the mask with the lowest penalty.
    /// - Throws: ``QRCodeError/dataTooLong`` if the data exceeds the version 40 capacity.
    package init(bytes: [UInt8], errorCorrection: QRErrorCorrection = .medium) throws(QRCodeError) {
        let fitting = (1...40).first { version in
            4 + QRSymbolSpec.characterCountBits(version: version) + 8 * bytes.count
                <= 8 * QRSymbolSpec.dataCodewords(version: version, errorCorrection)
        }
        guard let version = fitting else { throw .dataTooLong }

        var unmasked = QRMatrix(version: version)
        unmasked.placeCodewords(Self.codewords(for: bytes, version: version, errorCorrection))
        let candidates = (0..<8).map { mask in
            let format = Self.formatInformation(errorCorrection: errorCorrection, mask: mask)
            let matrix = unmasked.masked(mask, formatInformation: format)
            return (mask: mask, matrix: matrix, penalty: matrix.penalty())
        }
        let best = candidates.dropFirst().reduce(candidates[0]) { $1.penalty < $0.penalty ? $1 : $0 }

        self.version = version
        self.size = best.matrix.size
        self.mask = best.mask
        self.modules = best.matrix.modules
    }
}
