import Foundation
import KychCore
import KychOAuth
import Testing

/// OpenID4VCI 1.0 §4.1 credential offers of the KyCH attestation (authorization code flow): the offer's members, its
/// link, and its `issuer_state` at `/authorize` and `/par`: a flow started with it grants the attestation; a forged,
/// changed, expired, other issuer's or other client's state is refused with `invalid_request`.
@Suite struct CredentialOfferTests {
    let issuance = CredentialIssuanceTests()
    static let issuer = CredentialIssuanceTests.issuer

    static func state(of offer: JSON) throws -> String {
        try #require(offer["grants"]?["authorization_code"]?["issuer_state"]?.stringValue)
    }

    /// The error and description `/authorize` redirects with for `issuer_state`; nil when it was accepted.
    func refusal(_ f: FlowFixture, _ state: String) async -> (error: String?, description: String?)? {
        guard case .redirect(let location)? = await flowError({ try await f.authorize(nonce: nil, extra: ["issuer_state": state]) })
        else { return nil }
        let query = URLComponents(string: location)?.queryItems ?? []
        return (query.first { $0.name == "error" }?.value, query.first { $0.name == "error_description" }?.value)
    }

    @Test func theOfferHasItsMembersAndTheLinkCarriesItByValue() async throws {
        let f = try await FlowFixture(extraConfig: CredentialIssuanceTests.config, openID: true)
        let offers = try #require(f.server.credentialOffers)
        let offer = try await offers.offer(clientID: nil, now: f.clock.now)
        #expect(offer.objectValue?.keys.sorted() == ["credential_configuration_ids", "credential_issuer", "grants"])
        #expect(offer["credential_issuer"] == .string(Self.issuer))
        #expect(offer["credential_configuration_ids"] == ["kych_attestation"])
        #expect(offer["grants"]?.objectValue?.keys.sorted() == ["authorization_code"])
        #expect(offer["grants"]?["authorization_code"]?.objectValue?.keys.sorted() == ["issuer_state"])
        let link = CredentialOffers.link(offer)
        let prefix = "openid-credential-offer://?credential_offer="
        #expect(link.hasPrefix(prefix))
        let text = try #require(FormURLEncoding.decode(String(link.dropFirst("openid-credential-offer://?".count)))?["credential_offer"])
        #expect(try JSON.parse(Data(text.utf8)) == offer)
        // By reference: the gateway serves the same offer at the link's credential_offer_uri, until it expires.
        let state = try Self.state(of: offer)
        #expect(offers.linkByReference(offer) == "openid-credential-offer://?credential_offer_uri="
                + FormURLEncoding.encode([("", "\(Self.issuer)/credential-offers/\(state)")]).dropFirst())
        #expect(try await offers.offer(issuerState: state, now: f.clock.now) == offer)
        // (JSON is ExpressibleByNilLiteral: compare with Optional.none, not nil, which would be JSON.null.)
        #expect(try await offers.offer(issuerState: state + "A", now: f.clock.now) == Optional<JSON>.none)
        #expect(try await offers.offer(issuerState: state, now: f.clock.now.addingTimeInterval(CredentialOffers.defaultLifetime))
                == Optional<JSON>.none)
        // Every offer has its own state.
        #expect(try Self.state(of: try await offers.offer(clientID: nil, now: f.clock.now)) != (try Self.state(of: offer)))
    }

    @Test func aFlowStartedFromTheOfferGetsTheAttestation() async throws {
        let f = try await FlowFixture(extraConfig: CredentialIssuanceTests.config, openID: true)
        let offers = try #require(f.server.credentialOffers)
        let state = try Self.state(of: try await offers.offer(clientID: "exchange", now: f.clock.now))
        // No scope and no authorization_details: the offer's state alone makes it a credential flow.
        let location = try await f.runToFinalize(extra: ["issuer_state": state])
        #expect(await f.verifier.created.last?.claims == ["given_name", "family_name", "age_over_18"])
        let response = try await f.token(code: try FlowFixture.code(in: location))
        #expect(response.authorization_details?.arrayValue?.first?["credential_configuration_id"] == "kych_attestation")
        let proof = try CredentialIssuanceTests.Holder().proof(nonce: try await issuance.nonce(f), iat: f.clock.now)
        let answer = try await issuance.credential(f, token: response.access_token, issuance.request(proof))
        #expect(answer["credentials"]?.arrayValue?.count == 1)
    }

    @Test func forgedExpiredAndOtherIssuersStatesAreRefused() async throws {
        let f = try await FlowFixture(extraConfig: CredentialIssuanceTests.config, openID: true)
        let offers = try #require(f.server.credentialOffers)
        let good = try Self.state(of: try await offers.offer(clientID: nil, lifetime: 600, now: f.clock.now))
        var parts = good.split(separator: ".").map(String.init)
        parts[0] = String(Int64(parts[0])! + 86_400)   // a later expiry under the old MAC
        let changed = parts.joined(separator: ".")
        // The same issuer identifier under another database's key, and another issuer identifier under this key.
        let otherKyCH = try Self.state(of: try await CredentialOffers(issuer: Self.issuer, store: InMemoryStore()).offer(clientID: nil, now: f.clock.now))
        let otherIssuer = try Self.state(of: try await CredentialOffers(issuer: "https://other.example", store: f.store)
            .offer(clientID: nil, now: f.clock.now))
        for forged in [changed, otherKyCH, otherIssuer, "x", "1.2.3.4", good + "A"] {
            let refused = await refusal(f, forged)
            #expect(refused?.error == "invalid_request", "\(forged)")
            #expect(refused?.description == "issuer_state is not from a credential offer of \(Self.issuer)")
        }
        let forWallet = try Self.state(of: try await offers.offer(clientID: "wallet", now: f.clock.now))
        #expect(await refusal(f, forWallet)?.description == "issuer_state: the credential offer is for another client")
        #expect(await refusal(f, good) == nil)
        f.clock.advance(600)
        #expect(await refusal(f, good)?.description == "issuer_state: the credential offer has expired, ask for a new one")
        // /par answers the refusal as JSON.
        var form = ["response_type": "code", "client_id": "exchange", "redirect_uri": FlowFixture.redirect, "issuer_state": changed]
        form["client_secret"] = FlowFixture.secret
        guard case .oauth(400, "invalid_request", let description, _)? = await flowError({
            try await f.server.pushAuthorizationRequest(TokenRequest(form: form, authorization: nil))
        }) else { Issue.record("/par took a forged issuer_state"); return }
        #expect(description.contains("issuer_state"))
        // A gateway that issues no credential refuses any issuer_state.
        let keyless = try await FlowFixture(extraConfig: CredentialIssuanceTests.config)
        #expect(keyless.server.credentialOffers == nil)
        #expect(await refusal(keyless, good)?.error == "invalid_request")
    }
}

/// The verification page's offer (`ATTESTATION_OFFER_CLIENTS`): the page of a listed client holds an offer link (shown
/// once the person is verified, see PageOfferTests), any wallet client's to take; other clients' pages, and every page by
/// default, hold none.
@Suite struct VerificationPageOfferTests {
    /// A `/setup` flow's page, then the same page reloaded once the wallet presented.
    func pages(_ f: FlowFixture) async throws -> (started: Authorization, verified: Authorization) {
        let nonce = try await f.setup()
        let started = try await f.authorize(nonce: nonce)
        await f.verifier.answer(started.verification.id, with: .success(FlowFixture.credential))
        try await f.server.notification(verificationID: started.verification.id) { _ in nil }
        return (started, try await f.authorize(nonce: nonce))
    }

    @Test func aListedClientsPageHoldsAnOfferOfTheAttestation() async throws {
        let f = try await FlowFixture(extraConfig: CredentialIssuanceTests.config + "\nATTESTATION_OFFER_CLIENTS = {exchange}", openID: true)
        let (started, verified) = try await pages(f)
        #expect(verified.session.status == .verified)
        let offers = try #require(f.server.credentialOffers)
        for link in [started.attestationOffer, verified.attestationOffer] {
            let link = try #require(link)
            let text = try #require(FormURLEncoding.decode(String(link.dropFirst("openid-credential-offer://?".count)))?["credential_offer"])
            let offer = try JSON.parse(Data(text.utf8))
            #expect(offer["credential_configuration_ids"] == ["kych_attestation"])
            #expect(try await offers.check(try CredentialOfferTests.state(of: offer), clientID: "wallet", now: f.clock.now) == .accepted)
        }
    }

    @Test func byDefaultNoPageOffersIt() async throws {
        for config in [CredentialIssuanceTests.config, CredentialIssuanceTests.config + "\nATTESTATION_OFFER_CLIENTS = {someone_else}"] {
            let f = try await FlowFixture(extraConfig: config, openID: true)
            let (started, verified) = try await pages(f)
            #expect(started.attestationOffer == nil && verified.attestationOffer == nil)
        }
        // Without BASE_URL (not even the loopback default) KyCH issues no attestation, so the key is an error, the file's only one.
        let text = """
            [kych-oauth2-gateway]
            HOST = 0.0.0.0
            PORT = 8080
            DATABASE = sqlite::memory:
            """
        #expect(throws: Never.self) { try GatewayConfig.validate(try IniFile.parse(text, path: "offer.conf", environment: [:])) }
        do {
            _ = try GatewayConfig.validate(try IniFile.parse(text + "\nATTESTATION_OFFER_CLIENTS = {exchange}", path: "offer.conf", environment: [:]))
            Issue.record("ATTESTATION_OFFER_CLIENTS accepted without BASE_URL")
        } catch let error as ConfigErrors {
            #expect(error.errors.map(\.key) == ["ATTESTATION_OFFER_CLIENTS"])
        }
    }
}
