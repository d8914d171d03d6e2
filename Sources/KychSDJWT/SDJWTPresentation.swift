import Crypto
import Foundation

/// Holder side: selects disclosures and adds a Key Binding JWT (RFC 9901 §4.3).
package enum SDJWTPresentation {
    /// Presents `sdJWT` (an issuance, `…~`) with only the disclosures for claims named in
    /// `names`, plus a KB-JWT signed by `holderKey`.
    ///
    /// A disclosure is kept when its claim name is in `names` and it is reachable from the
    /// issuer-signed payload through claims that are kept too; array-element disclosures inside a
    /// kept claim are always kept.
    package static func make(
        sdJWT: String,
        disclosing names: Set<String>,
        holderKey: P256.Signing.PrivateKey,
        audience: String,
        nonce: String,
        iat: Date = Date()
    ) throws -> String {
        let issued = try SDJWT(parsing: sdJWT)
        let payload = try CompactJWS(parsing: issued.issuerSignedJWT).claims()
        var byDigest: [String: Disclosure] = [:]
        for encoded in issued.disclosures {
            let disclosure = try Disclosure(parsing: encoded)
            byDigest[disclosure.digest] = disclosure
        }
        var kept = Set<String>()
        func visit(_ value: JSONValue) {
            switch value {
            case .object(let members):
                for (key, member) in members where key != "_sd" { visit(member) }
                for digest in members["_sd"]?.arrayValue?.compactMap(\.stringValue) ?? [] {
                    guard let disclosure = byDigest[digest], let name = disclosure.name, names.contains(name) else { continue }
                    kept.insert(digest)
                    visit(disclosure.value)
                }
            case .array(let elements):
                for element in elements {
                    if let digest = arrayElementDigest(element) {
                        guard let disclosure = byDigest[digest], disclosure.name == nil else { continue }
                        kept.insert(digest)
                        visit(disclosure.value)
                    } else {
                        visit(element)
                    }
                }
            default:
                break
            }
        }
        visit(.object(payload))
        let presented = SDJWT(
            issuerSignedJWT: issued.issuerSignedJWT,
            disclosures: issued.disclosures.filter { kept.contains(sdHash($0)) })
        return presented.withoutKeyBinding + (try keyBindingJWT(
            for: presented.withoutKeyBinding, holderKey: holderKey, audience: audience, nonce: nonce, iat: iat))
    }

    /// A KB-JWT (`typ: kb+jwt`, ES256) with `iat`, `aud`, `nonce` and the `sd_hash` of
    /// `presentation`, which must be the SD-JWT up to and including its last `~`.
    package static func keyBindingJWT(
        for presentation: String,
        holderKey: P256.Signing.PrivateKey,
        audience: String,
        nonce: String,
        iat: Date = Date()
    ) throws -> String {
        guard presentation.hasSuffix("~") else { throw SDJWTError("sd_hash covers the SD-JWT up to its last '~'") }
        return try CompactJWS.sign(
            claims: [
                "iat": .integer(epochSeconds(iat)),
                "aud": .string(audience),
                "nonce": .string(nonce),
                "sd_hash": .string(sdHash(presentation)),
            ],
            header: ["typ": "kb+jwt"],
            using: holderKey)
    }
}

/// The digest of an array element of the form `{"...": digest}`, or `nil` for other elements.
func arrayElementDigest(_ element: JSONValue) -> String? {
    guard let members = element.objectValue, members.count == 1 else { return nil }
    return members["..."]?.stringValue
}
