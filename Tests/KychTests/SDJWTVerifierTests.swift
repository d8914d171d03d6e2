import Crypto
import Foundation
import KychSDJWT
import Testing

@Suite("SD-JWT VC verifier: swiyu §5 checks and §6 codes")
struct SDJWTVerifierTests {
    let scenario = SDJWTScenario()

    // MARK: - Success

    @Test func acceptsAPresentationAndResolvesNestedAndArrayDisclosures() async throws {
        let issuance = try scenario.issue(status: StatusReference(uri: SDJWTScenario.statusURI, index: 3))
        let presentation = try scenario.present(
            issuance, disclosing: ["given_name", "age_over_18", "age_birth_year", "address", "street", "nationalities"])
        var requirements = scenario.requirements
        requirements.claims = [
            ClaimQuery(path: "given_name"),
            ClaimQuery(path: "age_over_18", values: ["true"]),
            ClaimQuery(path: "age_birth_year", values: [.number(1848)]),
            ClaimQuery(path: ["address", "street"]),
            ClaimQuery(path: ["nationalities", nil], values: ["FR"]),
        ]

        let verified = try await scenario.verify(presentation, requirements: requirements)

        #expect(verified.issuerDID == scenario.issuerDID)
        #expect(verified.vct == "betaid-sdjwt")
        let expected: [String: JSONValue] = [
            "iss": .string(scenario.issuerDID),
            "vct": "betaid-sdjwt",
            "iat": .integer(Int64(scenario.now.timeIntervalSince1970) - 3600),
            "cnf": ["jwk": .object(P256PublicJWK(scenario.holderKey.publicKey).jsonObject)],
            "status": ["status_list": ["idx": 3, "uri": .string(SDJWTScenario.statusURI)]],
            "given_name": "Helvetia",
            "age_over_18": "true",
            "age_birth_year": 1848,
            "address": ["street": "Bundesplatz 3", "locality": "Bern"],
            "nationalities": ["CH", "FR"],
        ]
        #expect(verified.claims == expected)
    }

    @Test func acceptsLegacyTypeAndMissingBindingWhenNotRequired() async throws {
        let issuance = try scenario.issue(bindToHolder: false, typ: "vc+sd-jwt")
        var requirements = scenario.requirements
        requirements.requireHolderBinding = false
        requirements.format = "vc+sd-jwt"

        let verified = try await scenario.verify(issuance, requirements: requirements)

        #expect(verified.claims["cnf"] == nil)
        #expect(verified.claims["family_name"] == "National")
    }

    @Test func leavesUndisclosedArrayElementsAsDigests() async throws {
        let issued = try SDJWT(parsing: try scenario.issue(disclosable: [["nationalities", 1]]))
        #expect(issued.disclosures.count == 1)
        let withheld = SDJWT(issuerSignedJWT: issued.issuerSignedJWT, disclosures: [])
        let verified = try await scenario.verify(try scenario.bind(withheld.withoutKeyBinding))

        let nationalities = try #require(verified.claims["nationalities"]?.arrayValue)
        #expect(nationalities.count == 2)
        #expect(nationalities[0] == "CH")
        #expect(nationalities[1].stringValue?.count == 43)  // base64url SHA-256 digest
        #expect(verified.claims["given_name"] == "Helvetia")
    }

    // MARK: - Step 1: syntax

    @Test(arguments: ["no-tilde-here", "a.b.c~~", "~"])
    func rejectsBadSyntax(presentation: String) async throws {
        #expect(try await scenario.failure(of: presentation) == .malformedCredential)
    }

    @Test func rejectsAnIssuerJWTThatIsNotAJWS() async throws {
        #expect(try await scenario.failure(of: "bm90IGEgand0~") == .malformedCredential)
    }

    // MARK: - Step 2: header

    @Test func rejectsAnAlgorithmOtherThanES256() async throws {
        let presentation = try scenario.present(try scenario.issue())
        let forged = replacingHeader(
            of: presentation, with: ["alg": "ES384", "typ": "dc+sd-jwt", "kid": .string(scenario.issuerDID + "#0")])
        #expect(try await scenario.failure(of: forged) == .invalidFormat)
    }

    @Test func rejectsAWrongType() async throws {
        let presentation = try scenario.present(try scenario.issue(typ: "JWT"))
        #expect(try await scenario.failure(of: presentation) == .invalidFormat)
    }

    @Test func rejectsAMissingKeyID() async throws {
        let presentation = try scenario.present(try scenario.issue())
        let forged = replacingHeader(of: presentation, with: ["alg": "ES256", "typ": "dc+sd-jwt"])
        #expect(try await scenario.failure(of: forged) == .malformedCredential)
    }

    // MARK: - Step 3: key, signature, validity period

    @Test func reportsAnUnresolvableIssuerKey() async throws {
        let presentation = try scenario.present(try scenario.issue())
        let forged = replacingHeader(
            of: presentation, with: ["alg": "ES256", "typ": "dc+sd-jwt", "kid": "did:web:issuer.example#key-1"])
        #expect(try await scenario.failure(of: forged) == .publicKeyOfIssuerUnresolvable)
    }

    @Test func rejectsATamperedIssuerSignature() async throws {
        let presentation = try scenario.present(try scenario.issue())
        var parts = presentation.split(separator: ".", maxSplits: 2).map(String.init)
        var payload = try JSONText.parseObject(try #require(Base64URL.decode(parts[1])))
        payload["given_name_verified"] = true
        parts[1] = Base64URL.encode(JSONText.serialize(payload))
        #expect(try await scenario.failure(of: parts.joined(separator: ".")) == .malformedCredential)
    }

    @Test func rejectsAnExpiredCredentialAsMalformed() async throws {
        let presentation = try scenario.present(try scenario.issue(exp: scenario.now.addingTimeInterval(-61)))
        #expect(try await scenario.failure(of: presentation) == .malformedCredential)
    }

    @Test func rejectsACredentialNotYetValidAsMalformed() async throws {
        var claims = SDJWTScenario.claims
        claims["nbf"] = .integer(Int64(scenario.now.timeIntervalSince1970) + 61)
        let presentation = try scenario.present(try scenario.issue(claims: claims))
        #expect(try await scenario.failure(of: presentation) == .malformedCredential)
    }

    @Test func reportsExpiryInsideTheSkewWindowAsJWTExpired() async throws {
        let presentation = try scenario.present(try scenario.issue(exp: scenario.now.addingTimeInterval(-30)))
        #expect(try await scenario.failure(of: presentation) == .jwtExpired)
    }

    @Test func reportsNotBeforeInsideTheSkewWindowAsJWTPremature() async throws {
        var claims = SDJWTScenario.claims
        claims["nbf"] = .integer(Int64(scenario.now.timeIntervalSince1970) + 30)
        let presentation = try scenario.present(try scenario.issue(claims: claims))
        #expect(try await scenario.failure(of: presentation) == .jwtPremature)
    }

    // MARK: - Steps 4 and 5: format, issuer trust

    @Test func rejectsACredentialOfAnotherRequestedFormat() async throws {
        var requirements = scenario.requirements
        requirements.format = "jwt_vc_json"
        let presentation = try scenario.present(try scenario.issue())
        #expect(try await scenario.failure(of: presentation, requirements: requirements) == .invalidPresentationSubmission)
    }

    @Test func rejectsAnUntrustedIssuer() async throws {
        var requirements = scenario.requirements
        requirements.acceptedIssuerDIDs = [DIDJWK.did(for: P256.Signing.PrivateKey().publicKey)]
        let presentation = try scenario.present(try scenario.issue())
        #expect(try await scenario.failure(of: presentation, requirements: requirements) == .issuerNotAccepted)
    }

    @Test func neverTreatsAnEmptyTrustListAsTrustEveryone() async throws {
        var requirements = scenario.requirements
        requirements.acceptedIssuerDIDs = []
        let presentation = try scenario.present(try scenario.issue())
        #expect(try await scenario.failure(of: presentation, requirements: requirements) == .issuerNotAccepted)
    }

    // MARK: - Step 6: holder binding

    @Test func requiresAKeyBindingJWT() async throws {
        let issuance = try scenario.issue()
        #expect(try await scenario.failure(of: issuance) == .holderBindingMismatch)
    }

    @Test func rejectsAWrongAudience() async throws {
        let presentation = try scenario.present(try scenario.issue(), audience: "did:example:verifier")
        #expect(try await scenario.failure(of: presentation) == .holderBindingMismatch)
    }

    @Test func rejectsAWrongNonceAsMissingNonce() async throws {
        let presentation = try scenario.present(try scenario.issue(), nonce: "another-nonce")
        #expect(try await scenario.failure(of: presentation) == .missingNonce)
    }

    @Test func rejectsAKeyBindingJWTOutsideTheTimeWindow() async throws {
        let presentation = try scenario.present(try scenario.issue(), iat: scenario.now.addingTimeInterval(-121))
        #expect(try await scenario.failure(of: presentation) == .holderBindingMismatch)
    }

    @Test func rejectsAKeyBindingJWTSignedByAnotherKey() async throws {
        let withoutKeyBinding = try SDJWT(parsing: try scenario.issue()).withoutKeyBinding
        let kbJWT = try SDJWTPresentation.keyBindingJWT(
            for: withoutKeyBinding, holderKey: P256.Signing.PrivateKey(), audience: scenario.audience,
            nonce: scenario.nonce, iat: scenario.now)
        #expect(try await scenario.failure(of: withoutKeyBinding + kbJWT) == .holderBindingMismatch)
    }

    @Test func rejectsAKeyBindingJWTWithTheWrongType() async throws {
        let withoutKeyBinding = try SDJWT(parsing: try scenario.issue()).withoutKeyBinding
        let kbJWT = try CompactJWS.sign(
            claims: [
                "iat": .integer(Int64(scenario.now.timeIntervalSince1970)), "aud": .string(scenario.audience),
                "nonce": .string(scenario.nonce), "sd_hash": .string(sdHashForTest(withoutKeyBinding)),
            ],
            header: ["typ": "JWT"], using: scenario.holderKey)
        #expect(try await scenario.failure(of: withoutKeyBinding + kbJWT) == .holderBindingMismatch)
    }

    @Test func rejectsAnSDHashOverOtherDisclosures() async throws {
        let presentation = try SDJWT(parsing: try scenario.present(try scenario.issue()))
        let fewer = SDJWT(
            issuerSignedJWT: presentation.issuerSignedJWT, disclosures: Array(presentation.disclosures.dropFirst()),
            keyBindingJWT: presentation.keyBindingJWT)
        #expect(try await scenario.failure(of: fewer.serialized) == .holderBindingMismatch)
    }

    @Test func rejectsAKeyBindingJWTForACredentialWithoutCnf() async throws {
        let presentation = try scenario.present(try scenario.issue(bindToHolder: false))
        #expect(try await scenario.failure(of: presentation) == .holderBindingMismatch)
    }

    // MARK: - Step 7: status

    @Test func rejectsARevokedCredential() async throws {
        let presentation = try scenario.present(
            try scenario.issue(status: StatusReference(uri: SDJWTScenario.statusURI, index: 2)))
        #expect(try await scenario.failure(of: presentation, statusValues: [0, 0, 1, 0]) == .credentialRevoked)
    }

    @Test(arguments: [2, 3])
    func rejectsASuspendedCredential(status: Int) async throws {
        let presentation = try scenario.present(
            try scenario.issue(status: StatusReference(uri: SDJWTScenario.statusURI, index: 1)))
        #expect(try await scenario.failure(of: presentation, statusValues: [0, status, 0, 0]) == .credentialSuspended)
    }

    @Test(arguments: [
        "https://status.example.ch/api/v1/statuslist/unknown.jwt",  // fetch fails
        "http://status.example.ch/api/v1/statuslist/1.jwt",  // not https
        "https://elsewhere.example/api/v1/statuslist/1.jwt",  // host not accepted
    ])
    func reportsAnUnresolvableStatusList(uri: String) async throws {
        let presentation = try scenario.present(try scenario.issue(status: StatusReference(uri: uri, index: 0)))
        #expect(try await scenario.failure(of: presentation) == .unresolvableStatusList)
    }

    @Test(arguments: [4, Int.max / 2])
    func reportsAStatusIndexBeyondTheList(index: Int) async throws {
        let presentation = try scenario.present(
            try scenario.issue(status: StatusReference(uri: SDJWTScenario.statusURI, index: index)))
        #expect(try await scenario.failure(of: presentation) == .unresolvableStatusList)
    }

    @Test func failsClosedWithoutAStatusListChecker() async throws {
        let presentation = try scenario.present(
            try scenario.issue(status: StatusReference(uri: SDJWTScenario.statusURI, index: 0)))
        let failure = await #expect(throws: VerificationFailure.self) {
            try await SDJWTVerifier(resolver: DIDJWKResolver()).verify(presentation, requirements: scenario.requirements)
        }
        #expect(failure?.errorCode == .unresolvableStatusList)
    }

    // MARK: - Step 8: disclosures

    @Test func rejectsATamperedDisclosure() async throws {
        let issued = try SDJWT(parsing: try scenario.issue())
        let original = try Disclosure(parsing: issued.disclosures[0])
        let tampered = Base64URL.encode(JSONText.serialize(
            [.string(original.salt), .string(original.name ?? ""), "tampered"] as JSONValue))
        let presentation = try scenario.bind(SDJWT(
            issuerSignedJWT: issued.issuerSignedJWT, disclosures: [tampered] + issued.disclosures.dropFirst()
        ).withoutKeyBinding)
        #expect(try await scenario.failure(of: presentation) == .malformedCredential)
    }

    @Test func rejectsADuplicateDisclosure() async throws {
        let issued = try SDJWT(parsing: try scenario.issue())
        let presentation = try scenario.bind(SDJWT(
            issuerSignedJWT: issued.issuerSignedJWT, disclosures: issued.disclosures + [issued.disclosures[0]]
        ).withoutKeyBinding)
        #expect(try await scenario.failure(of: presentation) == .malformedCredential)
    }

    @Test func rejectsAnUnusedDisclosure() async throws {
        let issued = try SDJWT(parsing: try scenario.issue())
        let foreign = Disclosure(name: "given_name", value: "Mallory").encoded
        let presentation = try scenario.bind(SDJWT(
            issuerSignedJWT: issued.issuerSignedJWT, disclosures: issued.disclosures + [foreign]
        ).withoutKeyBinding)
        #expect(try await scenario.failure(of: presentation) == .malformedCredential)
    }

    @Test(arguments: ["iss", "nbf", "exp", "cnf", "vct", "status"])
    func rejectsADisclosedRegisteredClaim(name: String) async throws {
        let disclosure = Disclosure(name: name, value: "x")
        let presentation = try scenario.craft(
            payload: ["_sd": [.string(disclosure.digest)], "_sd_alg": "sha-256"], disclosures: [disclosure.encoded])
        #expect(try await scenario.failure(of: presentation) == .malformedCredential)
    }

    @Test(arguments: ["_sd", "..."])
    func rejectsAReservedDisclosureName(name: String) async throws {
        let disclosure = Disclosure(name: name, value: "x")
        let presentation = try scenario.craft(
            payload: ["_sd": [.string(disclosure.digest)]], disclosures: [disclosure.encoded])
        #expect(try await scenario.failure(of: presentation) == .malformedCredential)
    }

    @Test func rejectsADisclosureThatOverwritesAClaim() async throws {
        let disclosure = Disclosure(name: "given_name", value: "Mallory")
        let presentation = try scenario.craft(
            payload: ["given_name": "Helvetia", "_sd": [.string(disclosure.digest)]], disclosures: [disclosure.encoded])
        #expect(try await scenario.failure(of: presentation) == .malformedCredential)
    }

    @Test func rejectsADigestUsedTwice() async throws {
        let disclosure = Disclosure(name: "given_name", value: "Helvetia")
        let presentation = try scenario.craft(
            payload: ["_sd": [.string(disclosure.digest)], "address": ["_sd": [.string(disclosure.digest)]]],
            disclosures: [disclosure.encoded])
        #expect(try await scenario.failure(of: presentation) == .malformedCredential)
    }

    @Test func rejectsAnArrayElementDisclosureReferencedFromSD() async throws {
        let disclosure = Disclosure(name: nil, value: "CH")
        let presentation = try scenario.craft(payload: ["_sd": [.string(disclosure.digest)]], disclosures: [disclosure.encoded])
        #expect(try await scenario.failure(of: presentation) == .malformedCredential)
    }

    @Test func rejectsAClaimDisclosureUsedAsAnArrayElement() async throws {
        let disclosure = Disclosure(name: "nationality", value: "CH")
        let presentation = try scenario.craft(
            payload: ["nationalities": [["...": .string(disclosure.digest)]]], disclosures: [disclosure.encoded])
        #expect(try await scenario.failure(of: presentation) == .malformedCredential)
    }

    @Test func rejectsAnSDClaimThatIsNotAnArray() async throws {
        let presentation = try scenario.craft(payload: ["_sd": "digest"], disclosures: [])
        #expect(try await scenario.failure(of: presentation) == .malformedCredential)
    }

    @Test(arguments: [
        "WyJzYWx0Il0",  // ["salt"]: one element
        "WyJzYWx0IiwgMSwgMl0",  // ["salt", 1, 2]: the name is not a string
        "bm90IGpzb24",  // not JSON
    ])
    func rejectsAMalformedDisclosure(encoded: String) async throws {
        let presentation = try scenario.craft(payload: ["_sd": [.string(sdHashForTest(encoded))]], disclosures: [encoded])
        #expect(try await scenario.failure(of: presentation) == .malformedCredential)
    }

    @Test func rejectsAnUnsupportedSDAlgorithm() async throws {
        let disclosure = Disclosure(name: "given_name", value: "Helvetia")
        let presentation = try scenario.craft(
            payload: ["_sd": [.string(disclosure.digest)], "_sd_alg": "sha-512"], disclosures: [disclosure.encoded])
        #expect(try await scenario.failure(of: presentation) == .invalidFormat)
    }

    // MARK: - Steps 9 and 10: vct and requested claims

    @Test func rejectsAVctThatWasNotRequested() async throws {
        var requirements = scenario.requirements
        requirements.vctValues = ["urn:vct:ch.admin.bcs.betaid"]
        let presentation = try scenario.present(try scenario.issue())
        #expect(try await scenario.failure(of: presentation, requirements: requirements) == .invalidPresentationSubmission)
    }

    @Test func rejectsAMissingRequestedClaim() async throws {
        var requirements = scenario.requirements
        requirements.claims = [ClaimQuery(path: "given_name"), ClaimQuery(path: "birth_date")]
        let presentation = try scenario.present(try scenario.issue(), disclosing: ["given_name"])
        #expect(try await scenario.failure(of: presentation, requirements: requirements) == .credentialMissingData)
    }

    @Test func rejectsARequestedClaimWithAnotherValue() async throws {
        var requirements = scenario.requirements
        requirements.claims = [ClaimQuery(path: "age_over_18", values: [true])]
        let presentation = try scenario.present(try scenario.issue())
        #expect(try await scenario.failure(of: presentation, requirements: requirements) == .credentialMissingData)
    }

    // MARK: - Order of the checks

    @Test func checksTheHeaderBeforeIssuerTrust() async throws {
        var requirements = scenario.requirements
        requirements.acceptedIssuerDIDs = ["did:example:other"]
        let presentation = try scenario.present(try scenario.issue(typ: "JWT"))
        #expect(try await scenario.failure(of: presentation, requirements: requirements) == .invalidFormat)
    }

    @Test func checksIssuerTrustBeforeHolderBinding() async throws {
        var requirements = scenario.requirements
        requirements.acceptedIssuerDIDs = ["did:example:other"]
        let presentation = try scenario.present(try scenario.issue(), nonce: "wrong")
        #expect(try await scenario.failure(of: presentation, requirements: requirements) == .issuerNotAccepted)
    }

    @Test func checksStatusBeforeDisclosures() async throws {
        let issued = try SDJWT(parsing: try scenario.issue(status: StatusReference(uri: SDJWTScenario.statusURI, index: 0)))
        let presentation = try scenario.bind(SDJWT(
            issuerSignedJWT: issued.issuerSignedJWT,
            disclosures: issued.disclosures + [Disclosure(name: "x", value: 1).encoded]
        ).withoutKeyBinding)
        #expect(try await scenario.failure(of: presentation, statusValues: [1]) == .credentialRevoked)
    }

    @Test func checksDisclosuresBeforeTheVct() async throws {
        var requirements = scenario.requirements
        requirements.vctValues = ["other"]
        let issued = try SDJWT(parsing: try scenario.issue())
        let presentation = try scenario.bind(SDJWT(
            issuerSignedJWT: issued.issuerSignedJWT, disclosures: issued.disclosures + [issued.disclosures[0]]
        ).withoutKeyBinding)
        #expect(try await scenario.failure(of: presentation, requirements: requirements) == .malformedCredential)
    }

    // MARK: - Codes

    @Test func errorCodesAreTheSwiyuWireValues() {
        let expected = [
            "credential_invalid", "jwt_expired", "jwt_premature", "invalid_format", "credential_expired",
            "missing_nonce", "unsupported_format", "credential_revoked", "credential_suspended",
            "holder_binding_mismatch", "credential_missing_data", "unresolvable_status_list",
            "public_key_of_issuer_unresolvable", "client_rejected", "issuer_not_accepted",
            "authorization_request_object_not_found", "authorization_request_missing_error_param",
            "invalid_presentation_definition", "malformed_credential", "invalid_presentation_submission",
            "presentation_submission_constraint_violated", "invalid_scope", "invalid_request", "invalid_client",
            "vp_formats_not_supported", "invalid_presentation_definition_uri",
            "invalid_presentation_definition_reference", "access_denied", "invalid_token_status_list",
        ]
        #expect(VerificationFailure.Code.allCases.map(\.rawValue) == expected)
    }
}

/// base64url(SHA-256(ASCII(text))), computed independently of the library.
func sdHashForTest(_ text: String) -> String {
    Base64URL.encode(SHA256.hash(data: Data(text.utf8)))
}
