import Foundation
import KychFuzzSupport
import KychSDJWT

/// `Deflate`: the inflater behind status lists (zlib) and JWE `zip: DEF` (raw). Checks: output stays within the
/// limit; what inflates, deflated and inflated again, is unchanged; the input itself survives deflate and inflate.
@main enum DeflateTarget: FuzzTarget {
    static let name = "deflate"
    /// Small, so that a decompression bomb shows as a refusal and not as slowness.
    static let limit = 1 << 20

    static func run(_ input: Data) -> Bool {
        var accepted = false
        if let raw = try? Deflate.inflate(input, maxOutputSize: limit) {
            FuzzCheck.require(raw.count <= limit, "raw output over the limit")
            FuzzCheck.require((try? Deflate.inflate(Deflate.deflate(raw))) == raw, "raw round trip of the output")
            accepted = true
        }
        if let zlib = try? Deflate.inflateZlib(input, maxOutputSize: limit) {
            FuzzCheck.require(zlib.count <= limit, "zlib output over the limit")
            FuzzCheck.require((try? Deflate.inflateZlib(Deflate.deflateZlib(zlib))) == zlib, "zlib round trip of the output")
            accepted = true
        }
        FuzzCheck.require((try? Deflate.inflate(Deflate.deflate(input))) == input, "raw round trip of the input")
        FuzzCheck.require((try? Deflate.inflateZlib(Deflate.deflateZlib(input))) == input, "zlib round trip of the input")
        return accepted
    }
}
