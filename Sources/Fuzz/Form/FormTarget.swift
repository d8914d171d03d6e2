import Foundation
import KychCore
import KychFuzzSupport

/// `FormURLEncoding`: token requests and wallets' answers. Checks: each name and value unescapes as Foundation's
/// `removingPercentEncoding` did (the implementation before issue 13; its `replacingOccurrences` of `+` missed a `+`
/// followed by a combining mark), except that a lone UTF-8 continuation byte,
/// which Foundation replaced by U+FFFD (while it refused every other invalid sequence), is refused too; every decoded name is among `names`; encoding
/// the decoded fields and decoding again gives the same fields, in the order encoded.
@main enum FormTarget: FuzzTarget {
    static let name = "form"

    static func run(_ input: Data) -> Bool {
        let body = String(decoding: input, as: UTF8.self)
        for part in body.split(whereSeparator: { $0 == "&" || $0 == "=" }) {
            // `+` replaced byte by byte: Foundation's `replacingOccurrences` missed a `+` that a combining mark follows.
            let foundation = String(decoding: part.utf8.map { $0 == UInt8(ascii: "+") ? UInt8(ascii: " ") : $0 }, as: UTF8.self)
                .removingPercentEncoding
            let ours = FormURLEncoding.unescape(part)
            let replaced = { (text: Substring) in text.unicodeScalars.count { $0 == "\u{FFFD}" } }
            FuzzCheck.require(ours == foundation || (ours == nil && foundation.map { replaced($0[...]) > replaced(part) } == true),
                              "unescape differs from Foundation for \(part)")
        }
        let names = FormURLEncoding.names(body)
        guard let fields = FormURLEncoding.decode(body) else { return false }
        FuzzCheck.require(Set(fields.keys).isSubset(of: names), "a decoded name is not among names()")
        let pairs = fields.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        let encoded = FormURLEncoding.encode(pairs)
        FuzzCheck.require(FormURLEncoding.decode(encoded) == fields, "decode(encode(fields)) differs for \(encoded)")
        FuzzCheck.require(FormURLEncoding.names(encoded) == pairs.map(\.0), "names(encode(fields)) differs for \(encoded)")
        return true
    }
}
