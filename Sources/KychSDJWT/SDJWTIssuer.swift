import Crypto
import Foundation

/// A credential's entry in a token status list: `status: {status_list: {idx, uri}}`.
package struct StatusReference: Sendable, Hashable {
    package let uri: String
    package let index: Int

    package init(uri: String, index: Int) {
        self.uri = uri
        self.index = index
    }
}

/// Issues SD-JWT VCs (IETF SD-JWT VC on RFC 9901) signed with ES256.
package enum SDJWTIssuer {
    /// Claims the issuer sets itself; `claims` must not contain them.
    package static let registeredClaims: Set<String> = ["iss", "vct", "iat", "exp", "cnf", "status", "_sd_alg"]

    /// Issues `<issuer-jwt>~<disclosure>~…~`.
    ///
    /// - Parameters:
    ///   - claims: the credential's own claims, nested as needed.
    ///   - selectivelyDisclosable: paths into `claims` to put into disclosures, e.g. `"given_name"`,
    ///     `["address", "street"]`, or `["nationalities", nil]` for every array element. A path
    ///     inside a disclosed value gives a recursive disclosure. Every path must exist.
    ///   - issuerDID: becomes `iss`; the header `kid` is `<issuerDID>#0`.
    ///   - holderKey: becomes `cnf.jwk` when given.
    ///   - status: becomes `status.status_list` when given.
    ///   - typ: the header `typ`, `dc+sd-jwt` or the legacy `vc+sd-jwt`.
    ///   - decoyDigests: the number of decoy digests to add to the top-level `_sd`.
    package static func issue(
        claims: [String: JSONValue],
        selectivelyDisclosable: [ClaimPath],
        vct: String,
        issuerDID: String,
        issuerKey: P256.Signing.PrivateKey,
        holderKey: P256.Signing.PublicKey?,
        status: StatusReference? = nil,
        iat: Date = Date(),
        exp: Date? = nil,
        typ: String = "dc+sd-jwt",
        decoyDigests: Int = 0
    ) throws -> String {
        let unsigned = try payload(claims: claims, selectivelyDisclosable: selectivelyDisclosable, vct: vct, issuer: issuerDID,
                                   holderJWK: holderKey.map { P256PublicJWK($0).jsonObject }, status: status, iat: iat, exp: exp,
                                   decoyDigests: decoyDigests)
        let jwt = try CompactJWS.sign(
            claims: unsigned.payload, header: ["typ": .string(typ), "kid": .string(issuerDID + "#0")], using: issuerKey)
        return SDJWT(issuerSignedJWT: jwt, disclosures: unsigned.disclosures).withoutKeyBinding
    }

    /// The issuer-signed JWT's payload and the disclosures, unsigned: for an issuer that signs with keys of its own
    /// (the gateway's rotating signing keys). The parameters are those of ``issue(claims:selectivelyDisclosable:vct:issuerDID:issuerKey:holderKey:status:iat:exp:typ:decoyDigests:)``;
    /// `issuer` becomes `iss` and `holderJWK` (a public JWK) `cnf.jwk`.
    package static func payload(
        claims: [String: JSONValue],
        selectivelyDisclosable: [ClaimPath],
        vct: String,
        issuer: String,
        holderJWK: [String: JSONValue]?,
        status: StatusReference? = nil,
        iat: Date,
        exp: Date?,
        decoyDigests: Int = 0
    ) throws -> (payload: [String: JSONValue], disclosures: [String]) {
        if let reserved = claims.keys.first(where: registeredClaims.contains) {
            throw SDJWTError("claim \(reserved) is set by the issuer")
        }
        var concealer = Concealer(paths: selectivelyDisclosable)
        var payload = try concealer.concealObject(claims, at: [])
        if let missing = concealer.unusedPaths.first {
            throw SDJWTError("selectively disclosable path \(missing) is not in the claims")
        }
        let decoys = (0..<max(decoyDigests, 0)).map { _ in JSONValue.string(Disclosure(name: nil, value: .null).digest) }
        let digests = (payload["_sd"]?.arrayValue ?? []) + decoys
        if !digests.isEmpty {
            payload["_sd"] = .array(digests.sorted { ($0.stringValue ?? "") < ($1.stringValue ?? "") })
        }
        payload["iss"] = .string(issuer)
        payload["vct"] = .string(vct)
        payload["iat"] = .integer(epochSeconds(iat))
        payload["_sd_alg"] = "sha-256"
        if let exp { payload["exp"] = .integer(epochSeconds(exp)) }
        if let holderJWK { payload["cnf"] = ["jwk": .object(holderJWK)] }
        if let status {
            payload["status"] = ["status_list": ["idx": .integer(Int64(status.index)), "uri": .string(status.uri)]]
        }
        return (payload, concealer.disclosures.map(\.encoded))
    }
}

/// Replaces the values at the selectively disclosable paths by digests, collecting disclosures.
private struct Concealer {
    var disclosures: [Disclosure] = []
    var unusedPaths: Set<ClaimPath>
    private let paths: [ClaimPath]

    init(paths: [ClaimPath]) {
        self.paths = paths
        unusedPaths = Set(paths)
    }

    private mutating func isDisclosable(_ path: [ClaimPath.Component]) -> Bool {
        let matching = paths.filter { $0.matches(path) }
        unusedPaths.subtract(matching)
        return !matching.isEmpty
    }

    mutating func concealObject(
        _ members: [String: JSONValue], at path: [ClaimPath.Component]
    ) throws -> [String: JSONValue] {
        var result: [String: JSONValue] = [:]
        var digests: [String] = []
        for (key, member) in members.sorted(by: { $0.key < $1.key }) {
            guard key != "_sd", key != "..." else { throw SDJWTError("claim name \(key) is reserved by SD-JWT") }
            let childPath = path + [.key(key)]
            let concealed = try conceal(member, at: childPath)
            if isDisclosable(childPath) {
                let disclosure = Disclosure(name: key, value: concealed)
                disclosures.append(disclosure)
                digests.append(disclosure.digest)
            } else {
                result[key] = concealed
            }
        }
        if !digests.isEmpty { result["_sd"] = .array(digests.sorted().map(JSONValue.string)) }
        return result
    }

    private mutating func conceal(_ value: JSONValue, at path: [ClaimPath.Component]) throws -> JSONValue {
        switch value {
        case .object(let members):
            return .object(try concealObject(members, at: path))
        case .array(let elements):
            var result: [JSONValue] = []
            for (index, element) in elements.enumerated() {
                let childPath = path + [.index(index)]
                let concealed = try conceal(element, at: childPath)
                if isDisclosable(childPath) {
                    let disclosure = Disclosure(name: nil, value: concealed)
                    disclosures.append(disclosure)
                    result.append(["...": .string(disclosure.digest)])
                } else {
                    result.append(concealed)
                }
            }
            return .array(result)
        default:
            return value
        }
    }
}
