import Foundation
import KychCore
import KychOAuth
import KychSwiyuClient
import KychVerifierModel
import Testing

@Suite struct VerifierProtocolTests {
    let builder = VerificationRequestBuilder(vcType: "betaid-sdjwt", vcFormat: "vc+sd-jwt", vcAlgorithms: ["ES256"])

    @Test func dcqlBody() {
        let body = builder.body(claims: ["given_name", "age_over_18"], acceptedIssuerDIDs: ["did:tdw:a"], query: .dcql)
        #expect(body == [
            "accepted_issuer_dids": ["did:tdw:a"],
            "response_mode": "direct_post.jwt",
            "dcql_query": ["credentials": [[
                "id": "kych", "format": "dc+sd-jwt",
                "meta": ["vct_values": ["betaid-sdjwt", "urn:vct:ch.admin.bcs.betaid"]],
                "claims": [["path": ["given_name"]], ["path": ["age_over_18"]]],
                "require_cryptographic_holder_binding": true,
            ]]],
        ])
        let other = VerificationRequestBuilder(vcType: "my-vc", vcFormat: "dc+sd-jwt", vcAlgorithms: ["ES256"])
        #expect(other.vctValues == ["my-vc"])
    }

    @Test func aClientAcceptingAttestationsAsksForTheBetaIDOrTheAttestation() throws {
        let body = builder.body(claims: ["given_name"], acceptedIssuerDIDs: ["did:tdw:a", "https://kych.example"], query: .dcql)
        #expect(body["dcql_query"] == [
            "credentials": [
                ["id": "kych", "format": "dc+sd-jwt", "meta": ["vct_values": ["betaid-sdjwt", "urn:vct:ch.admin.bcs.betaid"]],
                 "claims": [["path": ["given_name"]]], "require_cryptographic_holder_binding": true],
                ["id": "kych_attestation", "format": "dc+sd-jwt", "meta": ["vct_values": ["https://kych.example/credentials/kyc-attestation"]],
                 "claims": [["path": ["given_name"]]], "require_cryptographic_holder_binding": true],
            ],
            "credential_sets": [["options": [["kych"], ["kych_attestation"]]]],
        ])
        #expect(body["accepted_issuer_dids"] == ["did:tdw:a", "https://kych.example"])
        #expect(builder.expectedVCTs(acceptedIssuerDIDs: ["did:tdw:a", "https://kych.example"])
            == ["betaid-sdjwt", "urn:vct:ch.admin.bcs.betaid", "https://kych.example/credentials/kyc-attestation"])
        // The built-in verifier takes the query, and a vp_token must answer one option.
        let query = try DCQLQuery(json: try #require(body["dcql_query"]))
        #expect(query.answered(by: ["kych_attestation"])?.map(\.id) == ["kych_attestation"])
        #expect(query.answered(by: ["kych"])?.map(\.id) == ["kych"])
        #expect(query.answered(by: []) == nil && query.answered(by: ["other"]) == nil)
        #expect(try DCQLQuery(json: query.json) == query)
        // Without credential sets every credential is needed.
        var both = query
        both.credentialSets = nil
        #expect(both.answered(by: ["kych"]) == nil && both.answered(by: ["kych", "kych_attestation"])?.count == 2)
    }

    @Test func presentationDefinitionBody() {
        let body = builder.body(claims: ["birth_date"], acceptedIssuerDIDs: [], query: .presentationDefinition)
        let descriptor = body["presentation_definition"]?["input_descriptors"]?.arrayValue?.first
        #expect(body["jwt_secured_authorization_request"] == true && body["dcql_query"] == nil)
        #expect(descriptor?["format"] == ["vc+sd-jwt": ["sd-jwt_alg_values": ["ES256"], "kb-jwt_alg_values": ["ES256"]]])
        #expect(descriptor?["constraints"]?["fields"] == [
            ["path": ["$.vct"], "filter": ["type": "string", "const": "betaid-sdjwt"]], ["path": ["$.birth_date"]],
        ])
    }

    @Test func createResponseWithAndWithoutDeeplink() throws {
        let v = try VerifierResponse.verification(from: ["id": "abc", "request_nonce": "n", "state": "PENDING",
            "verification_url": "https://v.example/oid4vp/api/request-object/abc", "verification_deeplink": "swiyu-verify://?x"])
        #expect(v == VerifierVerification(id: "abc", requestNonce: "n", verificationURL: "https://v.example/oid4vp/api/request-object/abc", deeplink: "swiyu-verify://?x"))
        let legacy = try VerifierResponse.verification(from: ["id": "abc", "verification_url": "https://v.example/r/abc"])
        #expect(legacy.deeplink == "swiyu-verify://?client_id=&request_uri=https%3A%2F%2Fv.example%2Fr%2Fabc")
        #expect(throws: VerifierError.self) { try VerifierResponse.verification(from: ["state": "PENDING"]) }
    }

    private let subject: JSON = ["iss": "did:tdw:i", "vct": "betaid-sdjwt", "iat": 1739801909000, "given_name": "Helvetia",
                                 "age_over_18": "TRUE", "age_over_65": false, "age_birth_year": "1848", "portrait": "iVBOR"]

    @Test func successWrappedAndFlatShapesKeepOnlyGrantedClaims() {
        let granted = ["given_name", "age_over_18", "age_over_65", "age_birth_year"]
        let expected = VerifierOutcome.success(VerifiedCredential(
            claims: ["given_name": "Helvetia", "age_over_18": true, "age_over_65": false, "age_birth_year": 1848],
            vct: "betaid-sdjwt", issuer: "did:tdw:i"))
        let wrapped: JSON = ["state": "SUCCESS", "wallet_response": ["error_code": nil, "credential_subject_data": ["kych": [subject]]]]
        let flat: JSON = ["state": "SUCCESS", "wallet_response": ["credential_subject_data": subject]]
        #expect(VerifierResponse.outcome(from: wrapped, granted: granted, expectedVCTs: builder.vctValues) == expected)
        #expect(VerifierResponse.outcome(from: flat, granted: granted, expectedVCTs: builder.vctValues) == expected)
    }

    /// Issue 12, finding 4: the issuer is the signer the built-in verifier reports (`credential_issuer_dids`),
    /// not the credential's `iss`; a swiyu verifier reports no signer, so its `iss` is taken (the verifier
    /// matched the signing DID against the accepted issuers KyCH sent).
    @Test func theIssuerIsTheReportedSignerElseTheIssClaim() {
        func outcome(_ wallet: JSON) -> VerifierOutcome {
            VerifierResponse.outcome(from: ["state": "SUCCESS", "wallet_response": wallet], granted: ["given_name"], expectedVCTs: [])
        }
        let signed: JSON = ["credential_subject_data": ["kych": [subject]], "credential_issuer_dids": ["kych": ["did:jwk:signer"]]]
        let swiyu: JSON = ["credential_subject_data": ["kych": [subject]]]
        let credential = VerifiedCredential(claims: ["given_name": "Helvetia"], vct: "betaid-sdjwt", issuer: "did:jwk:signer")
        #expect(outcome(signed) == .success(credential))
        #expect(outcome(swiyu) == .success(VerifiedCredential(claims: ["given_name": "Helvetia"], vct: "betaid-sdjwt", issuer: "did:tdw:i")))
        // The gateway's check against the client's accepted issuer DIDs.
        #expect(outcome(signed).requiringIssuer(in: ["did:jwk:signer"]) == .success(credential))
        #expect(outcome(signed).requiringIssuer(in: ["did:tdw:i"])
                == .failed(code: "issuer_not_accepted", description: "the credential's issuer is not accepted for this client"))
    }

    @Test func successThatKyCHRejects() {
        let missing = VerifierResponse.outcome(from: ["state": "SUCCESS", "wallet_response": ["credential_subject_data": subject]],
                                               granted: ["family_name"], expectedVCTs: builder.vctValues)
        #expect(missing == .failed(code: "credential_missing_data", description: "the credential lacks the claim family_name"))
        let wrongType = VerifierResponse.outcome(from: ["state": "SUCCESS", "wallet_response": ["credential_subject_data": ["vct": "other", "given_name": "x"]]],
                                                 granted: ["given_name"], expectedVCTs: builder.vctValues)
        #expect(wrongType == .failed(code: "invalid_presentation_submission", description: "unexpected credential type other"))
        let badBoolean = VerifierResponse.outcome(from: ["state": "SUCCESS", "wallet_response": ["credential_subject_data": ["age_over_18": "yes"]]],
                                                  granted: ["age_over_18"], expectedVCTs: [])
        #expect(badBoolean == .failed(code: "credential_invalid", description: "the claim age_over_18 has an invalid value"))
    }

    @Test func failedAndPending() {
        #expect(VerifierResponse.outcome(from: ["state": "FAILED", "wallet_response": ["error_code": "CLIENT_REJECTED", "error_description": "declined"]],
                                         granted: [], expectedVCTs: []) == .failed(code: "client_rejected", description: "declined"))
        #expect(VerifierResponse.outcome(from: ["state": "FAILED", "wallet_response": ["error_code": nil]], granted: [], expectedVCTs: [])
            == .failed(code: nil, description: nil))
        #expect(VerifierResponse.outcome(from: ["state": "PENDING"], granted: [], expectedVCTs: []) == .pending)
    }
}

@Suite struct LogRedactionTests {
    @Test func credentialsAreBlankedOut() {
        #expect(RedactingLogHandler.redact("client secret-token:abc123 failed") == "client secret-token:<redacted> failed")
        #expect(RedactingLogHandler.redact(#"header "Authorization: Bearer eyJ.x.y", next"#) == #"header "Authorization: Bearer <redacted>", next"#)
        #expect(RedactingLogHandler.redact("Basic dXNlcjpwYXNz") == "Basic <redacted>")
        #expect(RedactingLogHandler.redact("nothing to hide") == "nothing to hide")
        #expect(RedactingLogHandler.redact("a secret-token:x b secret-token:y") == "a secret-token:<redacted> b secret-token:<redacted>")
    }

    /// The byte scan that lets a log line without credentials through untouched finds the same words Foundation's
    /// search did: `secret-token:` as written, `bearer ` and `basic ` in any case, anywhere.
    @Test func theScanFindsEveryCredentialMarker() {
        for text in ["secret-token:", "x secret-token:abc", "BEARER x", "auth: bEaReR x", "Basic ", "a basic b", "ßé Bearer é"] {
            #expect(RedactingLogHandler.mayHoldCredential(text), "\(text)")
        }
        for text in ["", "Secret-Token:x", "secret-token", "bearer", "bearers", "basi", "bäsic x", "nothing to hide", "b"] {
            #expect(!RedactingLogHandler.mayHoldCredential(text), "\(text)")
        }
    }
}
