import Crypto
import Foundation
import KychCore
import KychOAuth
import KychSDJWT
import Testing

/// OpenID4VCI: the KyCH attestation. The issuer metadata's structure, an attestation issued for a flow granted scope
/// `kych_attestation` (signed by a key of `/.well-known/jwt-vc-issuer`, bound to the proof's key, every claim a
/// disclosure), and each refusal at `/credential`. Proofs here are signed with swift-crypto keys through our
/// CompactJWS; the end-to-end proof with PyPI sd-jwt and joserfc is CredentialIssuanceEndToEndTests.
@Suite struct CredentialIssuanceTests {
    static let issuer = "https://kych.example.com"
    static let config = "BASE_URL = \(issuer)"
    static let attestationScope = "kych_attestation"

    /// A holder key and the key proofs it signs (OpenID4VCI 1.0 Appendix F.1).
    struct Holder {
        let key = P256.Signing.PrivateKey()
        var jwk: [String: JSON] { P256PublicJWK(key.publicKey).jsonObject }

        func proof(nonce: String?, aud: String = CredentialIssuanceTests.issuer, typ: String = "openid4vci-proof+jwt", iat: Date,
                   iss: String? = "exchange", jwk: [String: JSON]? = nil) throws -> String {
            var claims: [String: JSON] = ["aud": .string(aud), "iat": .integer(Int64(iat.timeIntervalSince1970))]
            claims["nonce"] = nonce.map(JSON.string)
            claims["iss"] = iss.map(JSON.string)
            return try CompactJWS.sign(claims: claims, header: ["typ": .string(typ), "alg": "ES256", "jwk": .object(jwk ?? self.jwk)],
                                       using: key)
        }
    }

    /// A flow with `scope` to its access token.
    func accessToken(_ f: FlowFixture, scope: String = attestationScope) async throws -> String {
        let location = try await f.runToFinalize(scope: scope)
        return try await f.token(code: try FlowFixture.code(in: location)).access_token
    }

    func request(_ proof: String, configuration: String = attestationScope) -> JSON {
        ["credential_configuration_id": .string(configuration), "proofs": ["jwt": [.string(proof)]]]
    }

    func credential(_ f: FlowFixture, token: String, _ body: JSON) async throws -> JSON {
        try await f.server.credential(.bearer(token), body: body)
    }

    func nonce(_ f: FlowFixture) async throws -> String { try await f.server.presentationNonces.issue(now: f.clock.now) }

    @Test func theIssuerMetadataHasTheRequiredMembersWithTheirTypes() async throws {
        let f = try await FlowFixture(extraConfig: Self.config, openID: true)
        let m = try #require(f.server.credentialIssuer?.metadata())
        #expect(m["credential_issuer"] == .string(Self.issuer))
        #expect(m["authorization_servers"] == [.string(Self.issuer)])
        #expect(m["credential_endpoint"] == .string(Self.issuer + "/credential") && m["nonce_endpoint"] == .string(Self.issuer + "/nonce"))
        let configurations = try #require(m["credential_configurations_supported"]?.objectValue)
        #expect(Array(configurations.keys) == [Self.attestationScope])
        let c = try #require(configurations[Self.attestationScope])
        #expect(c["format"] == "dc+sd-jwt" && c["scope"] == .string(Self.attestationScope))
        #expect(c["vct"] == .string(Self.issuer + "/credentials/kyc-attestation"))
        #expect(c["cryptographic_binding_methods_supported"] == ["jwk"] && c["credential_signing_alg_values_supported"] == ["ES256"])
        #expect(c["proof_types_supported"]?["jwt"]?["proof_signing_alg_values_supported"] == ["ES256"])
        let claims = try #require(c["credential_metadata"]?["claims"]?.arrayValue)
        #expect(claims.compactMap { $0["path"]?.arrayValue?.first?.stringValue } == ["given_name", "family_name", "age_over_18"])
        for claim in claims {
            let locales = claim["display"]?.arrayValue?.compactMap { $0["locale"]?.stringValue }
            #expect(locales == ["en", "de", "fr", "it"], "\(claim)")
            #expect(claim["display"]?.arrayValue?.allSatisfy { $0["name"]?.stringValue?.isEmpty == false } == true)
        }
        #expect(c["credential_metadata"]?["display"]?.arrayValue?.count == 4)
        // SD-JWT VC issuer metadata: the key set that signs, under the same issuer.
        let credentialIssuer = try #require(f.server.credentialIssuer)
        let vcIssuer = try await credentialIssuer.jwtVCIssuerMetadata()
        #expect(vcIssuer["issuer"] == .string(Self.issuer) && vcIssuer["jwks"]?["keys"]?.arrayValue?.isEmpty == false)
        // The authorization server offers the scope; without signing keys there is no issuer, and no such scope.
        #expect(f.server.metadata()?["scopes_supported"]?.arrayValue?.contains(.string(Self.attestationScope)) == true)
        #expect(f.server.metadata()?["authorization_details_types_supported"] == ["openid_credential"])
        let keyless = try await FlowFixture(extraConfig: Self.config)
        #expect(keyless.server.credentialIssuer == nil)
        guard case .redirect(let location)? = await flowError({ try await keyless.authorize(nonce: nil, scope: Self.attestationScope) }) else {
            Issue.record("kych_attestation granted without an issuer"); return
        }
        #expect(location.contains("error=invalid_scope"))
    }

    /// SD-JWT VC type metadata at the `vct` URL: the attestation's names and descriptions and each claim's labels in the four
    /// languages, every claim `sd: always` (each is a disclosure).
    @Test func theTypeMetadataNamesTheAttestationAndEachClaim() async throws {
        let f = try await FlowFixture(extraConfig: Self.config, openID: true)
        let issuer = try #require(f.server.credentialIssuer)
        let m = issuer.typeMetadata()
        #expect(m["vct"] == .string(issuer.vct) && issuer.vct == Self.issuer + "/credentials/kyc-attestation")
        #expect(m["name"] == "KyCH attestation" && m["description"]?.stringValue?.isEmpty == false)
        let display = try #require(m["display"]?.arrayValue)
        #expect(display.compactMap { $0["locale"]?.stringValue } == ["en", "de", "fr", "it"])
        #expect(display.allSatisfy { $0["name"]?.stringValue?.isEmpty == false && $0["description"]?.stringValue?.isEmpty == false })
        let claims = try #require(m["claims"]?.arrayValue)
        #expect(claims.compactMap { $0["path"] } == [["given_name"], ["family_name"], ["age_over_18"]])
        #expect(claims.allSatisfy { $0["sd"] == "always" })
        #expect(claims[0]["display"]?.arrayValue?.map { [$0["locale"], $0["label"]] }
                == [["en", "Given name"], ["de", "Vorname"], ["fr", "Prénom"], ["it", "Nome"]])
    }

    @Test func aFlowGrantedTheAttestationGetsItBoundToTheProofKey() async throws {
        let f = try await FlowFixture(extraConfig: Self.config + "\nATTESTATION_TTL_DAYS = 30", openID: true)
        let token = try await accessToken(f)
        // The scope alone asks the verifier for every claim the attestation can carry, not for the scope itself.
        #expect(await f.verifier.created.last?.claims == ["given_name", "family_name", "age_over_18"])
        #expect(await f.verifier.lastGranted == ["given_name", "family_name", "age_over_18"], "the verifier must not look for the scope")
        let holder = Holder()
        let answer = try await credential(f, token: token, request(try holder.proof(nonce: try await nonce(f), iat: f.clock.now)))
        let issued = try #require(answer["credentials"]?.arrayValue?.first?["credential"]?.stringValue)
        let sdjwt = try SDJWT(parsing: issued)
        #expect(sdjwt.keyBindingJWT == nil)
        // Signed by a key the jwt-vc-issuer metadata publishes (checked by JWTKit).
        let credentialIssuer = try #require(f.server.credentialIssuer)
        let jwks = try #require(try await credentialIssuer.jwtVCIssuerMetadata()["jwks"]?.objectValue)
        let verified = try await ClientSignedJWT.verify(sdjwt.issuerSignedJWT, keySet: jwks)
        #expect(verified.header["typ"] == "dc+sd-jwt" && verified.header["alg"] == "ES256")
        let payload = verified.claims
        #expect(payload["iss"] == .string(Self.issuer) && payload["vct"] == .string(Self.issuer + "/credentials/kyc-attestation"))
        let iat = try #require(payload["iat"]?.int64Value)
        #expect(iat == Int64(f.clock.now.timeIntervalSince1970) && payload["exp"]?.int64Value == iat + 30 * 86_400)
        #expect(payload["cnf"]?["jwk"] == .object(holder.jwk))
        #expect(payload["status"]?["status_list"] == ["idx": 1, "uri": .string(Self.issuer + "/status-lists/kych-attestations")])
        #expect(payload["given_name"] == nil && payload["_sd"]?.arrayValue?.count == 3, "every claim is selectively disclosable")
        let disclosed = try sdjwt.disclosures.map { try Disclosure(parsing: $0) }
        #expect(Dictionary(uniqueKeysWithValues: disclosed.compactMap { d in d.name.map { ($0, d.value) } })
                == FlowFixture.credential.claims)
        // The delivery erased the claims (CLAIMS_RETENTION_MINUTES = 0): the token gets no second attestation.
        #expect(await flowError { try await credential(f, token: token, request(try holder.proof(nonce: try await nonce(f), iat: f.clock.now))) }
                == .invalidToken("the claims of this token were already delivered or have passed their retention (CLAIMS_RETENTION_MINUTES)"))
    }

    @Test func claimsNamedWithTheScopeNarrowTheAttestation() async throws {
        let f = try await FlowFixture(extraConfig: Self.config, openID: true)
        let token = try await accessToken(f, scope: "kych_attestation given_name")
        #expect(await f.verifier.created.last?.claims == ["given_name"])
        let answer = try await credential(f, token: token, request(try Holder().proof(nonce: try await nonce(f), iat: f.clock.now)))
        let sdjwt = try SDJWT(parsing: try #require(answer["credentials"]?.arrayValue?.first?["credential"]?.stringValue))
        #expect(try sdjwt.disclosures.map { try Disclosure(parsing: $0).name } == ["given_name"])
    }

    /// The OAuth error code of a refused credential request.
    func refusal(_ f: FlowFixture, token: String, _ body: JSON) async -> String? {
        guard case .oauth(_, let error, _, _)? = await flowError({ try await credential(f, token: token, body) }) else { return nil }
        return error
    }

    @Test func faultyProofsAndRequestsAreRefused() async throws {
        let f = try await FlowFixture(extraConfig: Self.config + """

            CLAIMS_RETENTION_MINUTES = 60
            [client_other]
            CLIENT_ID = other
            CLIENT_SECRET = secret-token:the-other-clients-secret-0123456
            VERIFIER_URL = https://verifier.example
            REDIRECT_URI = \(FlowFixture.redirect)
            """, openID: true)
        let token = try await accessToken(f)
        let holder = Holder()
        let now = f.clock.now
        // Proofs: wrong typ, wrong aud, another client's iss, signed by another key than its jwk, no nonce, unknown nonce.
        #expect(await refusal(f, token: token, request(try holder.proof(nonce: try await nonce(f), typ: "JWT", iat: now))) == "invalid_proof")
        #expect(await refusal(f, token: token, request(try holder.proof(nonce: try await nonce(f), aud: "https://other.example", iat: now)))
                == "invalid_proof")
        #expect(await refusal(f, token: token, request(try holder.proof(nonce: try await nonce(f), iat: now, iss: "other"))) == "invalid_proof")
        #expect(await refusal(f, token: token, request(try holder.proof(nonce: try await nonce(f), iat: now, jwk: Holder().jwk)))
                == "invalid_proof")
        #expect(await refusal(f, token: token, request(try holder.proof(nonce: try await nonce(f), iat: now - 600))) == "invalid_proof")
        #expect(await refusal(f, token: token, request(try holder.proof(nonce: nil, iat: now))) == "invalid_nonce")
        #expect(await refusal(f, token: token, request(try holder.proof(nonce: "1.2.3", iat: now))) == "invalid_nonce")
        // A stale nonce (past its 60 s), then a reused one.
        let stale = try await nonce(f)
        f.clock.advance(61)
        #expect(await refusal(f, token: token, request(try holder.proof(nonce: stale, iat: f.clock.now))) == "invalid_nonce")
        let once = try await nonce(f)
        _ = try await credential(f, token: token, request(try holder.proof(nonce: once, iat: f.clock.now)))
        #expect(await refusal(f, token: token, request(try holder.proof(nonce: once, iat: f.clock.now))) == "invalid_nonce")
        // Requests: another configuration, no proofs, the pre-1.0 `proof`, a body that is no object.
        #expect(await refusal(f, token: token, request(try holder.proof(nonce: try await nonce(f), iat: f.clock.now), configuration: "pid")) == "unknown_credential_configuration")
        #expect(await refusal(f, token: token, ["credential_configuration_id": .string(Self.attestationScope)]) == "invalid_proof")
        #expect(await refusal(f, token: token, ["credential_configuration_id": .string(Self.attestationScope),
                                                "proof": ["proof_type": "jwt", "jwt": "x"]]) == "invalid_proof")
        #expect(await refusal(f, token: token, ["x"]) == "invalid_credential_request")
        // A token whose flow was not granted the attestation.
        let plain = try await accessToken(f, scope: "given_name")
        guard case .oauth(403, "insufficient_scope", _, _)? = await flowError({
            try await credential(f, token: plain, request(try holder.proof(nonce: try await nonce(f), iat: f.clock.now)))
        }) else { Issue.record("a token without the scope got an attestation"); return }
    }

    @Test func authorizationDetailsGrantTheAttestationAndTheTokenResponseNamesIt() async throws {
        let f = try await FlowFixture(extraConfig: Self.config, openID: true)
        let details = #"[{"type": "openid_credential", "credential_configuration_id": "kych_attestation", "locations": ["https://kych.example.com"]}]"#
        let location = try await f.runToFinalize(extra: ["authorization_details": details])
        #expect(await f.verifier.created.last?.claims == ["given_name", "family_name", "age_over_18"])
        let response = try await f.token(code: try FlowFixture.code(in: location))
        #expect(response.authorization_details == [["type": "openid_credential", "credential_configuration_id": .string(Self.attestationScope),
                                                    "credential_identifiers": [.string(Self.attestationScope)]]])
        let holder = Holder()
        #expect(await refusal(f, token: response.access_token, ["credential_identifier": "pid", "proofs": ["jwt": [.string(try holder.proof(
            nonce: try await nonce(f), iat: f.clock.now))]]]) == "unknown_credential_identifier")
        #expect(await refusal(f, token: response.access_token, ["credential_identifier": .string(Self.attestationScope),
                                                                "credential_configuration_id": .string(Self.attestationScope)])
                == "invalid_credential_request")
        let answer = try await credential(f, token: response.access_token, ["credential_identifier": .string(Self.attestationScope),
            "proofs": ["jwt": [.string(try holder.proof(nonce: try await nonce(f), iat: f.clock.now))]]])
        #expect(answer["credentials"]?.arrayValue?.count == 1)
        // A flow not granted the attestation gets no authorization_details.
        #expect(try await f.token(code: try FlowFixture.code(in: try await f.runToFinalize(scope: "given_name"))).authorization_details == nil)
        // Entries of another type, for another configuration or another issuer are refused.
        for bad in [#"[{"type": "payment_initiation"}]"#, #"[{"type": "openid_credential", "credential_configuration_id": "pid"}]"#,
                    #"[{"type": "openid_credential", "credential_configuration_id": "kych_attestation", "locations": ["https://other.example"]}]"#,
                    #"{"type": "openid_credential"}"#, "[]"] {
            guard case .redirect(let refused)? = await flowError({ try await f.authorize(nonce: nil, extra: ["authorization_details": bad]) })
            else { Issue.record("accepted: \(bad)"); continue }
            #expect(refused.contains("error=invalid_authorization_details"), "\(bad)")
        }
    }

    @Test func aDPoPBoundTokenGetsTheAttestationOnlyWithAProofOfItsKey() async throws {
        let f = try await FlowFixture(extraConfig: Self.config, openID: true)
        let key = DPoPKey()
        func htu(_ path: String) -> [String: JSON] { ["htu": .string(Self.issuer + path)] }
        let code = try FlowFixture.code(in: try await f.runToFinalize(scope: Self.attestationScope))
        let response = try await f.server.token(TokenRequest(
            form: ["grant_type": "authorization_code", "code": code, "redirect_uri": FlowFixture.redirect, "client_id": "exchange",
                   "client_secret": FlowFixture.secret],
            authorization: nil, dpop: DPoPKey.presentation(try key.proof(at: f.clock.now, claims: htu("/token")))))
        #expect(response.token_type == "DPoP")
        let body = request(try Holder().proof(nonce: try await nonce(f), iat: f.clock.now))
        guard case .oauth(401, "invalid_token", _, _)? = await flowError({ try await credential(f, token: response.access_token, body) }) else {
            Issue.record("a DPoP-bound token served as a bearer token"); return
        }
        let proof = try key.proof("POST", "/credential", at: f.clock.now, accessToken: response.access_token, claims: htu("/credential"))
        let answer = try await f.server.credential(ResourceRequest(authorization: "DPoP \(response.access_token)",
                                                                   dpop: DPoPKey.presentation(proof, path: "/credential")), body: body)
        #expect(answer["credentials"]?.arrayValue?.count == 1)
    }

    /// The status bit of `index` in the issuer's status list token, whose signature is checked with the jwt-vc-issuer keys.
    func status(_ f: FlowFixture, index: Int) async throws -> Int? {
        let issuer = try #require(f.server.credentialIssuer)
        let jwks = try #require(try await issuer.jwtVCIssuerMetadata()["jwks"]?.objectValue)
        let token = try await ClientSignedJWT.verify(try await issuer.statusListToken(), keySet: jwks)
        #expect(token.header["typ"] == "statuslist+jwt" && token.claims["sub"] == .string(issuer.statusListURI))
        #expect(token.claims["ttl"] == 300 && token.claims["exp"] != nil && token.claims["iat"] != nil)
        let list = try StatusList(bits: 1, compressedList: try #require(token.claims["status_list"]?["lst"]?.stringValue))
        return list.value(at: index)
    }

    @Test func revokingAnAttestationSetsItsBitInTheStatusList() async throws {
        let f = try await FlowFixture(extraConfig: Self.config + "\nCLAIMS_RETENTION_MINUTES = 60", openID: true)
        let token = try await accessToken(f)
        #expect(try await status(f, index: 0) == 0, "an empty list still has its unused index 0")
        var indexes: [Int] = []
        for _ in 0..<2 {
            let answer = try await credential(f, token: token, request(try Holder().proof(nonce: try await nonce(f), iat: f.clock.now)))
            let sdjwt = try SDJWT(parsing: try #require(answer["credentials"]?.arrayValue?.first?["credential"]?.stringValue))
            let payload = try JSON.parse(try #require(Base64URL.decode(String(sdjwt.issuerSignedJWT.split(separator: ".")[1]))))
            indexes.append(Int(try #require(payload["status"]?["status_list"]?["idx"]?.int64Value)))
        }
        #expect(indexes == [1, 2])
        #expect(try await status(f, index: 1) == 0)
        #expect(try await status(f, index: 2) == 0)
        // kych-client-management revoke-attestation with the flow's session id (the id /info gives): both its attestations.
        let sessionID = try #require(try await f.store.accessToken(hash: Secrets.sha256(token))?.sessionID)
        #expect(try await f.store.revokeAttestations(id: sessionID, at: f.clock.now) == 2)
        #expect(try await status(f, index: 1) == 1)
        #expect(try await status(f, index: 2) == 1)
    }
}
