import Foundation
import KychCore
import KychFuzzSupport

/// `FormURLEncoding`: token requests and wallets' answers. Checks: every decoded name is among `names`; encoding
/// the decoded fields and decoding again gives the same fields, in the order encoded.
@main enum FormTarget: FuzzTarget {
    static let name = "form"

    static func run(_ input: Data) -> Bool {
        let body = String(decoding: input, as: UTF8.self)
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
