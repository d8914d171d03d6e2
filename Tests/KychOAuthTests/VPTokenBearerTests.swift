import Crypto
import Foundation
import KychCore
import KychOAuth
import KychSDJWT
import Logging
import Testing

/// A status list the test fills: index → status (0 valid, 1 revoked).
struct TableStatusList: StatusListChecker {
    var statuses: [Int: Int]
    func status(uri: String, index: Int, issuerDID: String, now: Date) async throws -> Int { statuses[index] ?? 0 }
}

/// `grant_type=vp_token-bearer` on the in-memory store: an organisation's wallet presents an SD-JWT VC at `/token`.
/// Credentials and presentations come from KychSDJWT's issuer and holder code (the end-to-end proof with an
/// independent presenter is VPTokenBearerEndToEndTests).
struct VPBearerFixture {
    static let secret = "secret-token:vp-bearer-org-secret-0123456789"
    static let issuerKey = P256.Signing.PrivateKey()
    static let otherIssuerKey = P256.Signing.PrivateKey()
    static let holderKey = P256.Signing.PrivateKey()
    static var issuerDID: String { DIDJWK.did(for: issuerKey.publicKey) }
    static let baseURL = "http://127.0.0.1:8080"
    static let revokedIndex = 7

    let server: AuthorizationServer
    let store: InMemoryStore
    let clock: TestClock

    /// `jwtTokens`: the organisation's client gets RFC 9068 JWT access tokens (signing keys in the store).
    init(store: InMemoryStore = InMemoryStore(), clock: TestClock = TestClock(), jwtTokens: Bool = false) async throws {
        let text = """
            [kych-oauth2-gateway]
            HOST = 127.0.0.1
            PORT = 8080
            DATABASE = sqlite::memory:

            [client_org]
            CLIENT_ID = org
            CLIENT_SECRET = \(Self.secret)
            VERIFIER_URL = https://verifier.example
            REDIRECT_URI = https://org.example/cb
            GRANT_TYPES = {vp_token-bearer}
            \(jwtTokens ? "ACCESS_TOKEN_FORMAT = jwt" : "")

            [client_exchange]
            CLIENT_ID = exchange
            CLIENT_SECRET = \(Self.secret)
            VERIFIER_URL = https://verifier.example
            REDIRECT_URI = https://exchange.example/cb

            [scope_care]
            VCT = {OrganisationCredential}
            ACCEPTED_ISSUER_DIDS = {\(Self.issuerDID)}
            REQUIRED_CLAIMS = {organisation_name}

            [scope_billing]
            VCT = {BillingCredential}
            ACCEPTED_ISSUER_DIDS = {\(Self.issuerDID)}
            """
        let config = try GatewayConfig.validate(try IniFile.parse(text, path: "vp.conf", environment: [:]))
        self.store = store
        for client in config.clients where try await store.client(id: client.clientID) == nil {
            try await store.createClient(Client(config: client))
        }
        self.clock = clock
        var logger = Logger(label: "kych-unit")
        logger.logLevel = .critical
        let statusList = TableStatusList(statuses: [Self.revokedIndex: 1])
        let keys = jwtTokens ? SigningKeys(store: store, encryptionSecret: nil, now: { clock.now }) : nil
        server = AuthorizationServer(config: config, clients: store, store: store, verifier: ScriptedVerifier(), signingKeys: keys,
                                     presentationVerifier: { _, checks in
                                         SDJWTVerifier(resolver: DIDJWKResolver(), statusListChecker: checks ? statusList : StatusNotChecked())
                                     },
                                     logger: logger, now: { clock.now })
    }

    /// An organisation credential: issued a minute ago, valid for `validFor` seconds from now.
    func credential(issuerKey: P256.Signing.PrivateKey = VPBearerFixture.issuerKey, vct: String = "OrganisationCredential",
                    validFor: TimeInterval = 3600, statusIndex: Int? = nil) throws -> String {
        try SDJWTIssuer.issue(claims: ["organisation_name": "Zorg BV", "organisation_city": "Utrecht"],
                              selectivelyDisclosable: ["organisation_name", "organisation_city"], vct: vct,
                              issuerDID: DIDJWK.did(for: issuerKey.publicKey), issuerKey: issuerKey, holderKey: Self.holderKey.publicKey,
                              status: statusIndex.map { StatusReference(uri: "https://issuer.example/status", index: $0) },
                              iat: clock.now.addingTimeInterval(-60), exp: clock.now.addingTimeInterval(validFor))
    }

    func present(_ credential: String, nonce: String, audience: String = VPBearerFixture.baseURL + "/token",
                 disclosing: Set<String> = ["organisation_name", "organisation_city"]) throws -> String {
        try SDJWTPresentation.make(sdJWT: credential, disclosing: disclosing, holderKey: Self.holderKey, audience: audience, nonce: nonce,
                                   iat: clock.now)
    }

    func nonce() async throws -> String { try await server.presentationNonces.issue(now: clock.now) }

    func token(_ assertion: String, scope: String = "care", client: String = "org", extra: [String: String] = [:],
               dpop: DPoPPresentation? = nil) async throws -> TokenResponse {
        var form = ["grant_type": "vp_token-bearer", "assertion": assertion, "scope": scope, "client_id": client, "client_secret": Self.secret]
        form.merge(extra) { $1 }
        return try await server.token(TokenRequest(form: form, authorization: nil, dpop: dpop))
    }
}

@Suite struct VPTokenBearerTests {
    /// The OAuth error code and description of a refusal.
    static func refusal(_ body: () async throws -> some Any) async -> (error: String, description: String)? {
        guard case .oauth(_, let error, let description, _)? = await flowError(body) else { return nil }
        return (error, description)
    }

    @Test func aPresentedCredentialBuysATokenWhoseClaimsInfoServes() async throws {
        let f = try await VPBearerFixture()
        let response = try await f.token(try f.present(try f.credential(validFor: 600), nonce: try await f.nonce()))
        #expect(response.token_type == "Bearer")
        #expect(response.expires_in == 600, "the token lives no longer than the credential")
        // Introspection first: with CLAIMS_RETENTION_MINUTES = 0 the first /info delivers the claims and erases them.
        let introspection = try await f.server.tokenManagement.introspect(TokenRequest(
            form: ["token": response.access_token, "client_id": "org", "client_secret": VPBearerFixture.secret], authorization: nil))
        #expect(introspection["active"] == true && introspection["scope"] == "care")
        #expect(introspection["claims"]?["organisation_name"] == "Zorg BV" && introspection["claims"]?["cnf"] == nil)
        #expect(introspection["credential"]?["issuer"] == .string(VPBearerFixture.issuerDID))
        let info = try await f.server.info(.bearer(response.access_token))
        #expect(info.claims["organisation_name"] == "Zorg BV" && info.claims["organisation_city"] == "Utrecht")
        #expect(info.claims["cnf"] == nil, "the holder key is no claim")
        #expect(info.credential.issuer == VPBearerFixture.issuerDID && info.credential.vct == "OrganisationCredential")
    }

    /// A client with `ACCESS_TOKEN_FORMAT = jwt` gets an RFC 9068 token for the presented credential, looked up like any other.
    @Test func aJWTClientGetsAJWTAccessToken() async throws {
        let f = try await VPBearerFixture(jwtTokens: true)
        let response = try await f.token(try f.present(try f.credential(), nonce: try await f.nonce()))
        let jws = try CompactJWS(parsing: response.access_token)
        let claims = try jws.claims()
        #expect(jws.type == "at+jwt" && claims["client_id"] == "org" && claims["scope"] == "care" && claims["iss"] == "http://127.0.0.1:8080")
        #expect(claims["claims"]?["organisation_name"] == "Zorg BV", "the JWT carries the organisation's presented claims")
        #expect(claims["claims"]?["cnf"] == nil, "but not the holder key")
        #expect(try await f.server.info(.bearer(response.access_token)).claims["organisation_name"] == "Zorg BV")
    }

    /// With a DPoP proof at `/token` the token is bound to its key (RFC 9449), as the Nuts node's service tokens may be:
    /// `/info` then wants the proof, and introspection names the key.
    @Test func aDPoPProofBindsTheToken() async throws {
        let f = try await VPBearerFixture()
        let key = DPoPKey()
        let response = try await f.token(try f.present(try f.credential(), nonce: try await f.nonce()),
                                         dpop: DPoPKey.presentation(try key.proof(at: f.clock.now)))
        #expect(response.token_type == "DPoP")
        let introspection = try await f.server.tokenManagement.introspect(TokenRequest(
            form: ["token": response.access_token, "client_id": "org", "client_secret": VPBearerFixture.secret], authorization: nil))
        #expect(introspection["cnf"]?["jkt"] == .string(key.jkt))
        #expect(await flowError { try await f.server.info(.bearer(response.access_token)) } != nil, "a bound token is no bearer token")
        let info = try await f.server.info(ResourceRequest(
            authorization: "DPoP " + response.access_token,
            dpop: DPoPPresentation(proofs: [try key.proof("GET", "/info", at: f.clock.now, accessToken: response.access_token)],
                                   method: "GET", path: "/info")))
        #expect(info.claims["organisation_name"] == "Zorg BV")
    }

    @Test func theGrantIsInTheMetadataWithTheNonceEndpoint() async throws {
        let metadata = try #require(try await VPBearerFixture().server.metadata()?.objectValue)
        #expect(metadata["grant_types_supported"]?.arrayValue?.contains("vp_token-bearer") == true)
        #expect(metadata["nonce_endpoint"] == "http://127.0.0.1:8080/nonce")
    }

    /// Without a `[scope_NAME]` section nothing could be granted, so the grant is neither served nor advertised.
    @Test func withoutScopeSectionsTheGrantIsNotServed() async throws {
        let f = try await FlowFixture()
        #expect(f.server.metadata()?["grant_types_supported"] == ["authorization_code"])
        #expect(f.server.metadata()?["nonce_endpoint"] == nil)
        let refusal = await Self.refusal {
            try await f.server.token(TokenRequest(form: ["grant_type": "vp_token-bearer", "assertion": "x~y", "scope": "care",
                                                         "client_id": "exchange", "client_secret": FlowFixture.secret], authorization: nil))
        }
        #expect(refusal?.error == "unsupported_grant_type")
    }

    @Test func theKeyBindingMayNameTheIssuerInsteadOfTheTokenEndpoint() async throws {
        let f = try await VPBearerFixture()
        _ = try await f.token(try f.present(try f.credential(), nonce: try await f.nonce(), audience: VPBearerFixture.baseURL))
    }

    /// GRANT_TYPES holds for every grant: the exchange may not present credentials, the organisation may not redeem codes.
    @Test func aClientNotAllowedTheGrantIsRefused() async throws {
        let f = try await VPBearerFixture()
        let presentation = try f.present(try f.credential(), nonce: try await f.nonce())
        #expect(await Self.refusal { try await f.token(presentation, client: "exchange") }?.error == "unauthorized_client")
        let code = await Self.refusal {
            try await f.server.token(TokenRequest(form: ["grant_type": "authorization_code", "code": "c", "redirect_uri": "https://org.example/cb",
                                                         "client_id": "org", "client_secret": VPBearerFixture.secret], authorization: nil))
        }
        #expect(code?.error == "unauthorized_client")
    }

    @Test func anIssuerNotAcceptedForTheScopeIsRefused() async throws {
        let f = try await VPBearerFixture()
        let presentation = try f.present(try f.credential(issuerKey: VPBearerFixture.otherIssuerKey), nonce: try await f.nonce())
        let refusal = await Self.refusal { try await f.token(presentation) }
        #expect(refusal?.error == "invalid_grant" && refusal?.description.contains("issuer_not_accepted") == true, "\(String(describing: refusal))")
    }

    @Test func aMissingOrForeignNonceIsRefused() async throws {
        let f = try await VPBearerFixture()
        let credential = try f.credential()
        let missing = await Self.refusal { try await f.token(try f.present(credential, nonce: "")) }
        #expect(missing?.error == "invalid_grant" && missing?.description.contains("no nonce") == true)
        let foreign = await Self.refusal { try await f.token(try f.present(credential, nonce: "1900000000.made-up.bWFj")) }
        #expect(foreign?.error == "invalid_grant" && foreign?.description.contains("not issued") == true)
    }

    @Test func aNonceIsSpentOnceAndOnlyForAMinute() async throws {
        let f = try await VPBearerFixture()
        let nonce = try await f.nonce()
        let presentation = try f.present(try f.credential(), nonce: nonce)
        _ = try await f.token(presentation)
        let replay = await Self.refusal { try await f.token(presentation) }
        #expect(replay?.error == "invalid_grant" && replay?.description.contains("already used") == true)
        let late = try f.present(try f.credential(), nonce: try await f.nonce())
        f.clock.advance(PresentationNonces.lifetime + 1)
        #expect(await Self.refusal { try await f.token(late) }?.description.contains("expired") == true)
    }

    @Test func aNonceFromOneInstanceIsGoodOnAnotherAndSpentForBoth() async throws {
        let store = InMemoryStore(), clock = TestClock()
        let a = try await VPBearerFixture(store: store, clock: clock), b = try await VPBearerFixture(store: store, clock: clock)
        let presentation = try a.present(try a.credential(), nonce: try await a.nonce())
        _ = try await b.token(presentation)
        #expect(await Self.refusal { try await a.token(presentation) }?.error == "invalid_grant")
    }

    @Test func aKeyBindingForAnotherAudienceIsRefused() async throws {
        let f = try await VPBearerFixture()
        let presentation = try f.present(try f.credential(), nonce: try await f.nonce(), audience: "https://other-as.example/token")
        let refusal = await Self.refusal { try await f.token(presentation) }
        #expect(refusal?.error == "invalid_grant" && refusal?.description.contains("holder_binding_mismatch") == true)
    }

    @Test func expiredAndRevokedCredentialsAreRefused() async throws {
        let f = try await VPBearerFixture()
        let expired = try f.present(try f.credential(validFor: -3600), nonce: try await f.nonce())
        #expect(await Self.refusal { try await f.token(expired) }?.error == "invalid_grant")
        let revoked = try f.present(try f.credential(statusIndex: VPBearerFixture.revokedIndex), nonce: try await f.nonce())
        let refusal = await Self.refusal { try await f.token(revoked) }
        #expect(refusal?.error == "invalid_grant" && refusal?.description.contains("credential_revoked") == true)
        let valid = try f.present(try f.credential(statusIndex: 3), nonce: try await f.nonce())
        _ = try await f.token(valid)
    }

    /// A key binding signed for one presentation (its disclosures) does not carry over to another.
    @Test func aKeyBindingMadeForAnotherPresentationIsRefused() async throws {
        let f = try await VPBearerFixture()
        let credential = try f.credential()
        let nonce = try await f.nonce()
        let one = try f.present(credential, nonce: nonce, disclosing: ["organisation_name"])
        let other = try f.present(credential, nonce: nonce)
        let swapped = other[..<(other.lastIndex(of: "~").map { other.index(after: $0) } ?? other.endIndex)]
            + one[(one.lastIndex(of: "~").map { one.index(after: $0) } ?? one.endIndex)...]
        let refusal = await Self.refusal { try await f.token(String(swapped)) }
        #expect(refusal?.error == "invalid_grant" && refusal?.description.contains("sd_hash") == true, "\(String(describing: refusal))")
    }

    @Test func aScopeTheCredentialDoesNotSatisfyIsRefused() async throws {
        let f = try await VPBearerFixture()
        let credential = try f.credential()
        let other = await Self.refusal { try await f.token(try f.present(credential, nonce: try await f.nonce()), scope: "billing") }
        #expect(other?.error == "invalid_scope")
        let both = await Self.refusal { try await f.token(try f.present(credential, nonce: try await f.nonce()), scope: "care billing") }
        #expect(both?.error == "invalid_scope")
        let undisclosed = await Self.refusal {
            try await f.token(try f.present(credential, nonce: try await f.nonce(), disclosing: ["organisation_city"]))
        }
        #expect(undisclosed?.error == "invalid_scope", "REQUIRED_CLAIMS: organisation_name was not presented")
        #expect(await Self.refusal { try await f.token(try f.present(credential, nonce: try await f.nonce()), scope: "unknown") }?.error
            == "invalid_scope")
    }

    @Test func theNutsAndDCQLFormsOfTheRequestAreAccepted() async throws {
        let f = try await VPBearerFixture()
        let credential = try f.credential()
        let submission = #"{"id":"s","definition_id":"care","descriptor_map":[{"id":"org","format":"vc+sd-jwt","path":"$"}]}"#
        _ = try await f.token(try f.present(credential, nonce: try await f.nonce()), extra: ["presentation_submission": submission])
        let vpToken = String(decoding: try JSONEncoder().encode(["org": [try f.present(credential, nonce: try await f.nonce())]]), as: UTF8.self)
        _ = try await f.token(vpToken)
        let wrong = #"{"descriptor_map":[{"format":"jwt_vp","path":"$"}]}"#
        #expect(await Self.refusal {
            try await f.token(try f.present(credential, nonce: try await f.nonce()), extra: ["presentation_submission": wrong])
        }?.error == "invalid_request")
        #expect(await Self.refusal { try await f.token("", scope: "care") }?.error == "invalid_request")
    }

    /// `[scope_NAME]` sections and `GRANT_TYPES` are validated at start like every other section: each error names the
    /// section and key.
    @Test func scopeSectionsAndGrantTypesAreValidatedAtStart() throws {
        func errors(_ sections: String, main: String = "HOST = 127.0.0.1\nPORT = 8080") -> [ConfigError] {
            let text = """
                [kych-oauth2-gateway]
                \(main)
                DATABASE = sqlite::memory:
                \(sections)
                """
            do {
                _ = try GatewayConfig.validate(try IniFile.parse(text, path: "vp.conf", environment: [:]))
                return []
            } catch let error as ConfigErrors {
                return error.errors
            } catch {
                return [ConfigError(file: "", line: nil, section: nil, key: nil, message: "\(error)")]
            }
        }
        let good = errors("[scope_care]\nVCT = {OrganisationCredential}\nACCEPTED_ISSUER_DIDS = {did:web:registry.example}\nCHECK_STATUS_LIST = no")
        #expect(good.isEmpty, "\(good)")
        let config = try GatewayConfig.validate(try IniFile.parse("""
            [kych-oauth2-gateway]
            HOST = 127.0.0.1
            PORT = 8080
            DATABASE = sqlite::memory:
            [scope_care]
            VCT = {OrganisationCredential}
            ACCEPTED_ISSUER_DIDS = {did:web:registry.example}
            REQUIRED_CLAIMS = {organisation_name, address.city}
            CHECK_STATUS_LIST = no
            """, path: "vp.conf", environment: [:]))
        #expect(config.presentationScopes == [PresentationScope(name: "care", vctValues: ["OrganisationCredential"],
                                                                acceptedIssuerDIDs: ["did:web:registry.example"],
                                                                requiredClaims: ["organisation_name", "address.city"], checksStatusList: false)])
        let missing = errors("[scope_care]\nREQUIRED_CLAIMS = {a}")
        #expect(Set(missing.compactMap(\.key)) == ["VCT", "ACCEPTED_ISSUER_DIDS"] && missing.allSatisfy { $0.section == "scope_care" })
        #expect(errors("[scope_care]\nVCT = {X}\nACCEPTED_ISSUER_DIDS = {https://issuer.example}").first?.key == "ACCEPTED_ISSUER_DIDS")
        #expect(errors("[scope_care]\nVCT = {X}\nACCEPTED_ISSUER_DIDS = {did:web:a}\nCHECK_STATUS_LIST = maybe").first?.key
            == "CHECK_STATUS_LIST")
        #expect(errors("[scope_]\nVCT = {X}\nACCEPTED_ISSUER_DIDS = {did:web:a}").first?.section == "scope_")
        let client = """
            [client_org]
            CLIENT_ID = org
            CLIENT_SECRET = \(VPBearerFixture.secret)
            VERIFIER_URL = https://verifier.example
            REDIRECT_URI = https://org.example/cb
            """
        #expect(errors(client + "\nGRANT_TYPES = {vp_token-bearer, client_credentials}").first?.key == "GRANT_TYPES")
        #expect(errors(client + "\nGRANT_TYPES = {}").first?.key == "GRANT_TYPES")
        #expect(errors(client + "\nGRANT_TYPES = {authorization_code, vp_token-bearer}").isEmpty)
        let unusable = try GatewayConfig.validate(try IniFile.parse("""
            [kych-oauth2-gateway]
            HOST = 127.0.0.1
            PORT = 8080
            DATABASE = sqlite::memory:
            \(client)
            GRANT_TYPES = {vp_token-bearer}
            """, path: "vp.conf", environment: [:]))
        #expect(unusable.warnings.contains { $0.key == "GRANT_TYPES" && $0.message.contains("[scope_NAME]") })
        let unix = errors("[scope_care]\nVCT = {X}\nACCEPTED_ISSUER_DIDS = {did:web:a}", main: "UNIXPATH = /run/kych/kych.sock")
        #expect(unix.contains { $0.section == "scope_care" && $0.message.contains("BASE_URL") }, "scopes without BASE_URL are refused at start")
    }
}
