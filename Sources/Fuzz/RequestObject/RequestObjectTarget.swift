import Crypto
import Foundation
import KychCore
import KychFuzzSupport
import KychSDJWT
import KychVerifierModel

/// `PresentationRequest.verify`: the request object a wallet fetches from a verifier (`typ`, the ES256 signature by a
/// key of the `client_id`'s DID, `iss`, `exp`, the OpenID4VP parameters, the DCQL query, the response encryption
/// key). The first byte picks the mode: bit 0 set, the rest is a JSON object of claims that this target signs with
/// the fixture verifier's key (so the fuzzer reaches the checks behind the signature); else the rest is the compact
/// JWS itself. Checks: an accepted request names a `decentralized_identifier` client whose DID signed it, answers to
/// a fetchable `response_uri`, and has an encryption key when it asks for `direct_post.jwt`.
@main enum RequestObjectTarget: FuzzTarget {
    static let name = "request-object"
    static let verifierKey = try! P256.Signing.PrivateKey(rawRepresentation: Data(SHA256.hash(data: Data("kych-fuzz verifier".utf8))))
    static let verifierDID = DIDJWK.did(for: verifierKey.publicKey)

    static func run(_ input: Data) -> Bool {
        guard let mode = input.first else { return false }
        let jwt: String
        if mode & 1 == 1 {
            guard let claims = try? JSONText.parseObject(input.dropFirst()),
                  let signed = try? CompactJWS.sign(claims: claims, header: ["typ": .string(OpenID4VP.requestObjectType),
                                                                            "kid": .string(verifierDID + "#0")], using: verifierKey)
            else { return false }
            jwt = signed
        } else {
            jwt = String(decoding: input.dropFirst(), as: UTF8.self)
        }
        let request = runBlocking { () -> PresentationRequest? in
            try? await PresentationRequest.verify(jwt, expectedClientID: nil, resolver: DIDJWKResolver(), now: FuzzFixtures.now)
        }
        guard let request else { return false }
        FuzzCheck.require(request.clientID.hasPrefix(OpenID4VP.clientIDPrefix), "a client_id that is not a decentralized_identifier")
        let did = String(request.clientID.dropFirst(OpenID4VP.clientIDPrefix.count))
        FuzzCheck.require(mode & 1 == 0 || did == verifierDID, "a re-signed request accepted for another DID")
        FuzzCheck.require(FetchableURL.allows(request.responseURI), "a response_uri the wallet may not post to")
        FuzzCheck.require(request.responseMode != .directPostJWT || request.encryptionKey != nil, "direct_post.jwt without a key")
        return true
    }

    static func claims(mode: ResponseMode) -> JSONValue {
        var claims: [String: JSONValue] = [
            "iss": .string(OpenID4VP.clientIDPrefix + verifierDID), "client_id": .string(OpenID4VP.clientIDPrefix + verifierDID),
            "iat": .integer(Int64(FuzzFixtures.now.timeIntervalSince1970)), "exp": .integer(Int64(FuzzFixtures.now.timeIntervalSince1970) + 600),
            "response_type": "vp_token", "response_mode": .string(mode.rawValue),
            "nonce": .string(FuzzFixtures.nonce), "state": .string(FuzzFixtures.state),
            "response_uri": "https://verifier.example.com/oid4vp/api/request-object/1/response-data",
            "dcql_query": ["credentials": [["id": "betaid", "format": "dc+sd-jwt", "meta": ["vct_values": [.string(FuzzFixtures.vct)]],
                                            "claims": [["path": ["given_name"]], ["path": ["age_over_18"]]]]]],
            "client_metadata": ["client_name": "KyCH Verifier"],
        ]
        if mode == .directPostJWT {
            let jwk = P256PublicJWK(FuzzFixtures.responseKey.publicKey).jsonObject.merging(
                ["kid": .string(FuzzFixtures.responseKeyID), "alg": "ECDH-ES", "use": "enc"]) { $1 }
            claims["client_metadata"] = ["client_name": "KyCH Verifier", "jwks": ["keys": [.object(jwk)]],
                                         "encrypted_response_enc_values_supported": ["A256GCM"]]
        }
        return .object(claims)
    }

    static func seeds() throws -> [String: Data] {
        var seeds: [String: Data] = [:]
        for mode in ResponseMode.allCases {
            guard let object = claims(mode: mode).objectValue else { continue }
            seeds["claims-\(mode.rawValue)"] = Data([1]) + JSONText.serialize(claims(mode: mode))
            let signed = try CompactJWS.sign(claims: object, header: ["typ": .string(OpenID4VP.requestObjectType),
                                                                     "kid": .string(verifierDID + "#0")], using: verifierKey)
            seeds["signed-\(mode.rawValue)"] = Data([0]) + Data(signed.utf8)
        }
        return seeds
    }
}
