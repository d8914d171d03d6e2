import Crypto
import Foundation
import KychSDJWT
import Testing

@Suite("SD-JWT interoperability with the PyPI sd-jwt reference implementation")
struct SDJWTCrossCheckTests {
    let scenario = SDJWTScenario()

    @Test func weVerifyWhatTheReferenceImplementationIssuesAndPresents() async throws {
        let claims: [String: JSONValue] = [
            "iss": .string(scenario.issuerDID),
            "vct": .string(scenario.vct),
            "iat": .integer(Int64(scenario.now.timeIntervalSince1970) - 60),
            "given_name": "Helvetia",
            "family_name": "National",
            "age_over_18": true,
        ]
        let presentation = try await PythonHelper.run("sdjwt_crosscheck.py", "issue_and_present", [
            "issuer_jwk": privateJWK(P256PublicJWK(scenario.issuerKey.publicKey), d: scenario.issuerKey.rawRepresentation),
            "issuer_did": .string(scenario.issuerDID),
            "holder_jwk": privateJWK(P256PublicJWK(scenario.holderKey.publicKey), d: scenario.holderKey.rawRepresentation),
            "claims": .object(claims),
            "sd": ["given_name", "family_name", "age_over_18"],
            "disclose": ["given_name", "age_over_18"],
            "typ": "dc+sd-jwt",
            "aud": .string(scenario.audience),
            "nonce": .string(scenario.nonce),
        ])
        var requirements = scenario.requirements
        requirements.claims = [ClaimQuery(path: "given_name"), ClaimQuery(path: "age_over_18", values: [true])]

        let verified = try await SDJWTVerifier(resolver: DIDJWKResolver())
            .verify(presentation, requirements: requirements, now: Date())

        #expect(verified.issuerDID == scenario.issuerDID)
        #expect(verified.claims["given_name"] == "Helvetia")
        #expect(verified.claims["age_over_18"] == true)
        #expect(verified.claims["family_name"] == nil)
        #expect(verified.claims["_sd"] == nil && verified.claims["_sd_alg"] == nil)
        let cnf = try #require(verified.claims["cnf"]?.objectValue?["jwk"]?.objectValue)
        #expect(try P256PublicJWK(jwk: cnf) == P256PublicJWK(scenario.holderKey.publicKey))

        var wrongNonce = requirements
        wrongNonce.nonce = "other"
        let failure = await #expect(throws: VerificationFailure.self) {
            try await SDJWTVerifier(resolver: DIDJWKResolver()).verify(presentation, requirements: wrongNonce)
        }
        #expect(failure?.errorCode == .missingNonce)
    }

    @Test func theReferenceImplementationVerifiesOurPresentation() async throws {
        let issuance = try scenario.issue(status: nil)
        let presentation = try scenario.present(
            issuance, disclosing: ["given_name", "age_birth_year", "address", "street", "nationalities"],
            iat: Date())
        let result = try await referenceVerify(presentation)
        let claims = try #require(result["verified"]?.objectValue, "rejected: \(result)")

        #expect(claims["iss"] == .string(scenario.issuerDID))
        #expect(claims["vct"] == "betaid-sdjwt")
        #expect(claims["given_name"] == "Helvetia")
        #expect(claims["age_birth_year"] == 1848)
        #expect(claims["address"] == ["street": "Bundesplatz 3", "locality": "Bern"])
        #expect(claims["nationalities"] == ["CH", "FR"])
        #expect(claims["family_name"] == nil)
        #expect(claims["birth_date"] == nil)
    }

    @Test func theReferenceImplementationRejectsAPresentationForAnotherAudience() async throws {
        let presentation = try scenario.present(try scenario.issue(), audience: "did:example:someone-else")
        let result = try await referenceVerify(presentation)
        #expect(result["verified"] == nil)
        #expect(result["rejected"]?.stringValue?.contains("aud") == true)
    }

    /// Runs the reference verifier expecting the scenario's audience and nonce.
    private func referenceVerify(_ presentation: String) async throws -> [String: JSONValue] {
        let output = try await PythonHelper.run("sdjwt_crosscheck.py", "verify", [
            "presentation": .string(presentation),
            "aud": .string(scenario.audience),
            "nonce": .string(scenario.nonce),
        ])
        return try JSONText.parseObject(Data(output.utf8))
    }
}
