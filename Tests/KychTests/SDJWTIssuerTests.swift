import Crypto
import Foundation
import KychSDJWT
import Testing

@Suite("SD-JWT VC issuer and holder")
struct SDJWTIssuerTests {
    let scenario = SDJWTScenario()

    @Test func issuesTheSDJWTVCShape() throws {
        let issuance = try scenario.issue(
            status: StatusReference(uri: SDJWTScenario.statusURI, index: 241), exp: scenario.now.addingTimeInterval(600))
        #expect(issuance.hasSuffix("~"))
        let issued = try SDJWT(parsing: issuance)
        #expect(issued.keyBindingJWT == nil)
        let jws = try CompactJWS(parsing: issued.issuerSignedJWT)
        #expect(jws.header == ["alg": "ES256", "typ": "dc+sd-jwt", "kid": .string(scenario.issuerDID + "#0")])
        try jws.verify(using: scenario.issuerKey.publicKey)

        let payload = try jws.claims()
        #expect(payload["iss"] == .string(scenario.issuerDID))
        #expect(payload["vct"] == "betaid-sdjwt")
        #expect(payload["iat"]?.int64Value != nil && payload["exp"]?.int64Value != nil)
        #expect(payload["_sd_alg"] == "sha-256")
        #expect(payload["cnf"] == ["jwk": .object(P256PublicJWK(scenario.holderKey.publicKey).jsonObject)])
        #expect(payload["status"] == ["status_list": ["idx": 241, "uri": .string(SDJWTScenario.statusURI)]])
        #expect(payload["given_name"] == nil && payload["address"] == nil)

        // 6 top-level claims and 2 decoys; street nested in address; 2 array elements.
        let digests = (payload["_sd"]?.arrayValue ?? []).compactMap(\.stringValue)
        #expect(digests.count == 8)
        #expect(digests == digests.sorted())
        let disclosures = try issued.disclosures.map(Disclosure.init(parsing:))
        #expect(disclosures.count == 9)
        #expect(disclosures.filter { digests.contains($0.digest) }.count == 6)
        #expect(disclosures.allSatisfy { Base64URL.decode($0.salt)?.count == 16 })
        let address = try #require(disclosures.first { $0.name == "address" }?.value.objectValue)
        #expect(address["locality"] == "Bern" && address["street"] == nil && address["_sd"]?.arrayValue?.count == 1)
        #expect(disclosures.filter { $0.name == nil }.map(\.value) == ["CH", "FR"])
    }

    @Test func rejectsReservedClaimsAndUnknownPaths() {
        #expect(throws: SDJWTError.self) { try scenario.issue(claims: ["iss": "did:example:x"], disclosable: []) }
        #expect(throws: SDJWTError.self) { try scenario.issue(claims: ["a": ["_sd": []]], disclosable: []) }
        #expect(throws: SDJWTError.self) { try scenario.issue(disclosable: ["no_such_claim"]) }
    }

    @Test func presentsOnlyTheSelectedReachableDisclosures() throws {
        let issuance = try scenario.issue()
        let presentation = try scenario.present(issuance, disclosing: ["address", "street", "given_name"])
        let presented = try SDJWT(parsing: presentation)
        let names = try presented.disclosures.map { try Disclosure(parsing: $0).name }
        #expect(Set(names.compactMap { $0 }) == ["address", "street", "given_name"])
        #expect(names.filter { $0 == nil }.count == 2)  // the nationalities elements

        // A nested claim is not disclosed without its parent.
        let orphan = try SDJWT(parsing: try scenario.present(issuance, disclosing: ["street"]))
        #expect(orphan.disclosures.isEmpty == false)
        #expect(try orphan.disclosures.allSatisfy { try Disclosure(parsing: $0).name == nil })

        let keyBinding = try CompactJWS(parsing: try #require(presented.keyBindingJWT))
        #expect(keyBinding.header == ["alg": "ES256", "typ": "kb+jwt"])
        try keyBinding.verify(using: scenario.holderKey.publicKey)
        let claims = try keyBinding.claims()
        #expect(claims["aud"] == .string(scenario.audience))
        #expect(claims["nonce"] == .string(scenario.nonce))
        #expect(claims["sd_hash"] == .string(sdHashForTest(presented.withoutKeyBinding)))
    }

    @Test func claimPathsReadDCQLJSON() {
        #expect(ClaimPath(json: ["address", 0, nil]) == ["address", 0, nil])
        #expect(ClaimPath(json: ["given_name"]) == "given_name")
        #expect(ClaimPath(json: []) == nil)
        #expect(ClaimPath(json: [-1]) == nil)
        #expect(ClaimPath(json: [1.5]) == nil)
        #expect(ClaimPath(json: [true]) == nil)
    }
}
