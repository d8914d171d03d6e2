import CZlib
import Foundation

/// DEFLATE (RFC 1951) and its zlib wrapper (RFC 1950) through the system's zlib, as needed by token status lists
/// (`lst` is zlib) and JWE `zip: DEF` (raw DEFLATE). zlib checks the stream (block structure, distances, the zlib
/// header and its Adler-32); here only the bounds: the inflated size and nothing after the stream's end.
package enum Deflate {
    /// Thrown for corrupt or oversized compressed data.
    package struct DataError: Error, Sendable, CustomStringConvertible {
        package let description: String
    }

    /// Decompresses raw DEFLATE data. Bytes after the final block are an error.
    package static func inflate(_ data: Data, maxOutputSize: Int = 16 << 20) throws(DataError) -> Data {
        try inflate(data, format: .raw, maxOutputSize: maxOutputSize)
    }

    /// Decompresses a zlib stream (2-byte header, DEFLATE data, Adler-32), checking the checksum. Streams that need a
    /// preset dictionary are refused.
    package static func inflateZlib(_ data: Data, maxOutputSize: Int = 16 << 20) throws(DataError) -> Data {
        try inflate(data, format: .zlib, maxOutputSize: maxOutputSize)
    }

    /// Compresses `data` as raw DEFLATE.
    package static func deflate(_ data: Data) -> Data { deflate(data, format: .raw) }

    /// Compresses `data` as a zlib stream.
    package static func deflateZlib(_ data: Data) -> Data { deflate(data, format: .zlib) }

    /// zlib's `windowBits`: negative for raw DEFLATE, 15 (the largest window) for the zlib wrapper.
    private enum Format: Int32 {
        case raw = -15
        case zlib = 15
    }

    private static func inflate(_ data: Data, format: Format, maxOutputSize: Int) throws(DataError) -> Data {
        guard data.count <= Int(UInt32.max) else { throw DataError(description: "compressed data too large") }
        var stream = z_stream()
        guard inflateInit2_(&stream, format.rawValue, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw DataError(description: "zlib could not start inflating")
        }
        defer { inflateEnd(&stream) }
        var input = [UInt8](data)
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 14)
        let failure: String? = input.withUnsafeMutableBufferPointer { input in
            stream.next_in = input.baseAddress
            stream.avail_in = UInt32(input.count)
            while true {
                let result = chunk.withUnsafeMutableBufferPointer { chunk in
                    stream.next_out = chunk.baseAddress
                    stream.avail_out = UInt32(chunk.count)
                    return CZlib.inflate(&stream, Z_NO_FLUSH)
                }
                let produced = chunk.count - Int(stream.avail_out)
                guard output.count + produced <= maxOutputSize else { return "decompressed data exceeds \(maxOutputSize) bytes" }
                output += chunk[..<produced]
                switch result {
                case Z_OK: continue
                case Z_STREAM_END: return stream.avail_in == 0 ? nil : "trailing bytes after the compressed data"
                case Z_BUF_ERROR: return "unexpected end of compressed data"
                case Z_NEED_DICT: return "zlib preset dictionaries are not supported"
                default: return "invalid compressed data" + (stream.msg.map { ": " + String(cString: $0) } ?? "")
                }
            }
        }
        if let failure { throw DataError(description: failure) }
        return Data(output)
    }

    private static func deflate(_ data: Data, format: Format) -> Data {
        var stream = z_stream()
        // With valid parameters zlib fails only when out of memory.
        guard deflateInit2_(&stream, Z_DEFAULT_COMPRESSION, Z_DEFLATED, format.rawValue, 8, Z_DEFAULT_STRATEGY, zlibVersion(),
                            Int32(MemoryLayout<z_stream>.size)) == Z_OK else { fatalError("zlib could not start deflating") }
        defer { deflateEnd(&stream) }
        var input = [UInt8](data)
        var output = [UInt8](repeating: 0, count: Int(deflateBound(&stream, uLong(input.count))))
        let result = input.withUnsafeMutableBufferPointer { input in
            output.withUnsafeMutableBufferPointer { output in
                stream.next_in = input.baseAddress
                stream.avail_in = UInt32(input.count)
                stream.next_out = output.baseAddress
                stream.avail_out = UInt32(output.count)
                return CZlib.deflate(&stream, Z_FINISH)
            }
        }
        // deflateBound leaves room for the whole stream, so one call finishes it.
        guard result == Z_STREAM_END else { fatalError("zlib deflate ended with \(result)") }
        return Data(output[..<Int(stream.total_out)])
    }
}
