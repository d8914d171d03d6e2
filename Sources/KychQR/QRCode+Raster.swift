extension QRCode {
    /// The light quiet zone around the symbol, in modules (ISO/IEC 18004 §5.3.8).
    static let quietZone = 4

    /// A PNG image (1-bit greyscale, `moduleSize` pixels per module, with the quiet zone), for printing or mailing an offer.
    /// The image data is stored uncompressed (zlib stored blocks), so the encoder needs no compression library.
    package func png(moduleSize: Int = 8) -> [UInt8] {
        precondition(moduleSize > 0, "moduleSize must be positive")
        let pixels = (size + 2 * Self.quietZone) * moduleSize
        let rowBytes = (pixels + 7) / 8
        var raw: [UInt8] = []
        raw.reserveCapacity(pixels * (rowBytes + 1))
        for py in 0..<pixels {
            raw.append(0)  // filter: none
            var row = [UInt8](repeating: 0, count: rowBytes)
            for px in 0..<pixels where !self[px / moduleSize - Self.quietZone, py / moduleSize - Self.quietZone] {
                row[px / 8] |= 0x80 >> UInt8(px % 8)  // 1 = white
            }
            raw += row
        }
        var header: [UInt8] = []
        header += Self.bigEndian(UInt32(pixels)) + Self.bigEndian(UInt32(pixels))
        header += [1, 0, 0, 0, 0]  // bit depth 1, greyscale, deflate, filter 0, no interlace
        return [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
            + Self.chunk("IHDR", header) + Self.chunk("IDAT", Self.zlibStored(raw)) + Self.chunk("IEND", [])
    }

    /// The symbol as text for a terminal: two module rows per line in Unicode half blocks, light modules drawn (as
    /// `qrencode -t UTF8` does), so it scans on a dark terminal background; with a 2-module quiet zone.
    package func text() -> String {
        let zone = 2, range = -zone..<(size + zone)
        var lines: [String] = []
        for y in stride(from: -zone, to: size + zone, by: 2) {
            lines.append(String(range.map { x -> Character in
                switch (!self[x, y], y + 1 < size + zone && !self[x, y + 1]) {
                case (true, true): "█"
                case (true, false): "▀"
                case (false, true): "▄"
                case (false, false): " "
                }
            }))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    private static func chunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
        let body = Array(type.utf8) + data
        return bigEndian(UInt32(data.count)) + body + bigEndian(crc32(body))
    }

    /// A zlib stream (RFC 1950) of stored DEFLATE blocks (RFC 1951 §3.2.4).
    private static func zlibStored(_ data: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [0x78, 0x01]
        var offset = 0
        repeat {
            let count = min(65_535, data.count - offset)
            let last: UInt8 = offset + count == data.count ? 1 : 0
            out += [last, UInt8(count & 0xFF), UInt8(count >> 8), UInt8(~count & 0xFF), UInt8((~count >> 8) & 0xFF)]
            out += data[offset..<offset + count]
            offset += count
        } while offset < data.count
        var a: UInt32 = 1, b: UInt32 = 0
        for byte in data {
            a = (a + UInt32(byte)) % 65_521
            b = (b + a) % 65_521
        }
        return out + bigEndian(b << 16 | a)
    }

    private static func crc32(_ data: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in data {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 == 1 ? 0xEDB8_8320 ^ (crc >> 1) : crc >> 1 }
        }
        return ~crc
    }

    private static func bigEndian(_ value: UInt32) -> [UInt8] {
        [UInt8(value >> 24), UInt8((value >> 16) & 0xFF), UInt8((value >> 8) & 0xFF), UInt8(value & 0xFF)]
    }
}
