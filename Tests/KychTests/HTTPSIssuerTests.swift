import Crypto
import Foundation
import KychSDJWT
import KychVerifier
import Testing

/// SD-JWT VCs of an issuer identified by an https URL (a KyCH attestation): the built-in verifier finds the key by `kid`
/// in the issuer's JWT VC issuer metadata (SD-JWT VC §5), trusts only accepted issuers, and checks the status list.
/// The issuer is a loopback server (plain http on loopback is what the outbound policy allows besides https).
@Suite struct HTTPSIssuerTests {
    static let audience = "decentralized_identifier:did:example:verifier"
    static let nonce = "nonce-1"

    /// An issuer at a loopback server: its key, what its metadata says, and a credential it issued.
    struct Issuer {
        let server: LoopbackServer
        let key = P256.Signing.PrivateKey()
        let holderKey = P256.Signing.PrivateKey()
        let kid = "issuer-key-1"
        var identifier: String { server.baseURL }
        var vct: String { identifier + "/credentials/kyc-attestation" }
        var statusURI: String { identifier + "/status-lists/kych-attestations" }

        /// Publishes metadata naming `named` (default: itself) with its key under `publishedKid`, and a status list with
        /// `revoked` indexes.
        init(named: String? = nil, publishedKid: String? = nil, revoked: [Int] = []) async throws {
            server = try await LoopbackServer()
            publish(keys: [(publishedKid ?? kid, key)], named: named)
            let list = try StatusList(bits: 1, values: (0..<16).map { revoked.contains($0) ? 1 : 0 })
            let now = Int64(Date().timeIntervalSince1970)
            server.serve("/status-lists/kych-attestations", try CompactJWS.sign(claims: [
                "iss": .string(server.baseURL), "sub": .string(server.baseURL + "/status-lists/kych-attestations"),
                "iat": .integer(now), "exp": .integer(now + 3600), "ttl": 300,
                "status_list": ["bits": 1, "lst": .string(list.compressedList)],
            ], header: ["typ": "statuslist+jwt", "kid": .string(kid)], using: key))
        }

        /// Publishes metadata naming `named` (default: itself) with `keys`.
        func publish(keys: [(kid: String, key: P256.Signing.PrivateKey)], named: String? = nil) {
            let jwks: [JSONValue] = keys.map { kid, key in
                var jwk = P256PublicJWK(key.publicKey).jsonObject
                jwk["kid"] = .string(kid)
                return .object(jwk)
            }
            server.serve("/.well-known/jwt-vc-issuer", String(decoding: JSONText.serialize([
                "issuer": .string(named ?? server.baseURL), "jwks": ["keys": .array(jwks)],
            ]), as: UTF8.self))
        }

        /// A presentation of an attestation (status index `index`, signed by `signer`, default the issuer's key) disclosing
        /// every claim, bound to the holder key.
        func presentation(index: Int = 3, signer: (kid: String, key: P256.Signing.PrivateKey)? = nil) throws -> String {
            let claims: [String: JSONValue] = ["age_over_18": true, "given_name": "Anna"]
            let unsigned = try SDJWTIssuer.payload(
                claims: claims, selectivelyDisclosable: claims.keys.sorted().map { ClaimPath(stringLiteral: $0) }, vct: vct,
                issuer: identifier, holderJWK: P256PublicJWK(holderKey.publicKey).jsonObject,
                status: StatusReference(uri: statusURI, index: index), iat: Date(), exp: Date().addingTimeInterval(86_400))
            let jwt = try CompactJWS.sign(claims: unsigned.payload, header: ["typ": "dc+sd-jwt", "kid": .string(signer?.kid ?? kid)],
                                          using: signer?.key ?? key)
            let issued = SDJWT(issuerSignedJWT: jwt, disclosures: unsigned.disclosures).withoutKeyBinding
            return try SDJWTPresentation.make(sdJWT: issued, disclosing: Set(claims.keys), holderKey: holderKey,
                                              audience: HTTPSIssuerTests.audience, nonce: HTTPSIssuerTests.nonce)
        }

        /// Verifies `presentation` the way the built-in verifier does, trusting `accepted`.
        func verify(_ presentation: String, accepting accepted: [String]) async throws(VerificationFailure) -> VerifiedSDJWT {
            let verifier = SDJWTVerifier(resolver: VerifierDIDResolver(fetchableDIDs: Set(accepted)),
                                         statusListChecker: RemoteStatusListChecker(resolver: VerifierDIDResolver()))
            return try await verifier.verify(presentation, requirements: PresentationRequirements(
                vctValues: [vct], acceptedIssuerDIDs: accepted, audience: HTTPSIssuerTests.audience, nonce: HTTPSIssuerTests.nonce,
                claims: [ClaimQuery(path: "age_over_18")]))
        }
    }

    /// Expects `body` to fail with `code`; returns the failure's description.
    @discardableResult
    func expectFailure(_ code: VerificationFailure.Code, _ body: () async throws(VerificationFailure) -> VerifiedSDJWT) async -> String {
        do {
            let verified = try await body()
            Issue.record("verified unexpectedly: \(verified.issuerDID)")
            return ""
        } catch {
            #expect(error.errorCode == code, "\(error)")
            return error.errorDescription
        }
    }

    @Test func anAcceptedHTTPSIssuersCredentialVerifies() async throws {
        let issuer = try await Issuer()
        defer { issuer.server.stop() }
        let verified = try await issuer.verify(try issuer.presentation(), accepting: ["did:web:other.example", issuer.identifier])
        #expect(verified.issuerDID == issuer.identifier)
        #expect(verified.vct == issuer.vct)
        #expect(verified.claims["age_over_18"] == true && verified.claims["given_name"] == "Anna")
        #expect(issuer.server.fetchedPaths.contains("/.well-known/jwt-vc-issuer"))
        #expect(issuer.server.fetchedPaths.contains("/status-lists/kych-attestations"))
    }

    /// The metadata is fetched once and kept; a key it did not have (a rotation) fetches it again.
    @Test func issuerMetadataIsCachedAndFetchedAgainForANewKey() async throws {
        let issuer = try await Issuer()
        defer { issuer.server.stop() }
        func metadataFetches() -> Int { issuer.server.fetchedPaths.filter { $0 == "/.well-known/jwt-vc-issuer" }.count }
        _ = try await issuer.verify(try issuer.presentation(), accepting: [issuer.identifier])
        _ = try await issuer.verify(try issuer.presentation(index: 4), accepting: [issuer.identifier])
        #expect(metadataFetches() == 1)
        let rotated = (kid: "issuer-key-2", key: P256.Signing.PrivateKey())
        issuer.publish(keys: [(issuer.kid, issuer.key), rotated])
        let verified = try await issuer.verify(try issuer.presentation(signer: rotated), accepting: [issuer.identifier])
        #expect(verified.issuerDID == issuer.identifier)
        #expect(metadataFetches() == 2)
        // Right after that refresh, a made-up kid is refused without asking the issuer again.
        let madeUp = (kid: "made-up", key: P256.Signing.PrivateKey())
        let presentation = try issuer.presentation(signer: madeUp)
        await expectFailure(.publicKeyOfIssuerUnresolvable) { () async throws(VerificationFailure) in
            try await issuer.verify(presentation, accepting: [issuer.identifier])
        }
        #expect(metadataFetches() == 2)
    }

    @Test func anIssuerNotAcceptedIsRefusedWithoutFetchingItsMetadata() async throws {
        let issuer = try await Issuer()
        defer { issuer.server.stop() }
        let presentation = try issuer.presentation()
        await expectFailure(.issuerNotAccepted) { () async throws(VerificationFailure) in
            try await issuer.verify(presentation, accepting: ["https://kych.example"])
        }
        #expect(issuer.server.fetchedPaths.isEmpty)
    }

    /// Metadata that does not vouch for the credential's key: it names another issuer, or publishes no key of its `kid`.
    enum BadMetadata: CaseIterable, Sendable { case anotherIssuer, unknownKid }

    @Test(arguments: BadMetadata.allCases)
    func metadataThatDoesNotVouchForTheKeyIsRefused(_ bad: BadMetadata) async throws {
        let issuer = bad == .anotherIssuer ? try await Issuer(named: "https://kych.example") : try await Issuer(publishedKid: "another-key")
        defer { issuer.server.stop() }
        let presentation = try issuer.presentation()
        let reason = await expectFailure(.publicKeyOfIssuerUnresolvable) { () async throws(VerificationFailure) in
            try await issuer.verify(presentation, accepting: [issuer.identifier])
        }
        let expected = bad == .anotherIssuer ? "names another issuer than \(issuer.identifier)" : "publishes no key issuer-key-1"
        #expect(reason.contains(expected), "\(reason)")
        #expect(issuer.server.fetchedPaths == ["/.well-known/jwt-vc-issuer"])
    }

    @Test func aRevokedCredentialIsRefused() async throws {
        let issuer = try await Issuer(revoked: [3])
        defer { issuer.server.stop() }
        let presentation = try issuer.presentation(index: 3)
        let reason = await expectFailure(.credentialRevoked) { () async throws(VerificationFailure) in
            try await issuer.verify(presentation, accepting: [issuer.identifier])
        }
        #expect(reason == "Credential is not valid")
        _ = try await issuer.verify(try issuer.presentation(index: 4), accepting: [issuer.identifier])
    }

    @Test func theMetadataURLPutsTheWellKnownSegmentBeforeThePath() throws {
        #expect(try JWTVCIssuerResolver.metadataURL(for: "https://kych.example").absoluteString
            == "https://kych.example/.well-known/jwt-vc-issuer")
        #expect(try JWTVCIssuerResolver.metadataURL(for: "https://kych.example/tenant/").absoluteString
            == "https://kych.example/.well-known/jwt-vc-issuer/tenant")
        for bad in ["http://kych.example", "ftp://kych.example", "https://kych.example?x=1", "did:web:kych.example"] {
            #expect(throws: DIDResolutionError.self) { try JWTVCIssuerResolver.metadataURL(for: bad) }
        }
    }
}
