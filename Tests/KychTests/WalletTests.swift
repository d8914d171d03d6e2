import Crypto
import Foundation
import KychCore
import KychOAuth
import KychSDJWT
import KychVerifier
import KychVerifierModel
import KychWallet
import Testing

/// `KychWallet` and `kych-wallet`: what they issue, how they check a request object, and what
/// they present (cross-checked with the PyPI `sd-jwt` reference implementation).
@Suite struct WalletTests {
    static func wallet() throws -> Wallet {
        try Wallet(directory: try VerifierTestConfig.temporaryDirectory().appendingPathComponent("wallet"))
    }

    @Test func issuesABetaIDLikeCredentialWithEveryClaimDisclosable() throws {
        let wallet = try Self.wallet()
        var issuance = Wallet.Issuance()
        issuance.status = StatusReference(uri: "https://status.example.ch/1.jwt", index: 7)
        issuance.validity = 3600
        let sdJWT = try SDJWT(parsing: try wallet.issue(issuance))
        let jws = try CompactJWS(parsing: sdJWT.issuerSignedJWT)
        let payload = try jws.claims()
        let did = try wallet.issuerDID()
        #expect(jws.type == "dc+sd-jwt" && jws.keyID == did + "#0")
        try jws.verify(using: try wallet.issuerKey().publicKey)
        #expect(payload["iss"]?.stringValue == did && payload["vct"] == "betaid-sdjwt" && payload["_sd_alg"] == "sha-256")
        let cnf = try #require(payload["cnf"]?.objectValue?["jwk"]?.objectValue)
        #expect(try P256PublicJWK(jwk: cnf) == P256PublicJWK(try wallet.holderKey().publicKey))
        #expect(payload["status"] == ["status_list": ["idx": 7, "uri": "https://status.example.ch/1.jwt"]])
        #expect(payload["exp"] != nil)
        // No claim in the clear: all of the manual's Beta-ID claims are disclosures.
        #expect(Set(payload.keys) == ["iss", "vct", "iat", "exp", "cnf", "status", "_sd", "_sd_alg"])
        let names = try sdJWT.disclosures.map { try Disclosure(parsing: $0).name }
        #expect(Set(names.compactMap { $0 }) == Set(GatewayConfig.betaIDClaims) && names.count == GatewayConfig.betaIDClaims.count)
        #expect(try wallet.credentials().map(\.name) == ["betaid"])
    }

    @Test func statusListTokensVerifyForTheIssuer() async throws {
        let wallet = try Self.wallet()
        let uri = "https://status.example.ch/1.jwt"
        let token = try wallet.statusListToken(uri: uri, size: 16, revoked: [3], suspended: [5])
        let list = try await StatusList.verify(jwt: token, uri: uri, credentialIssuerDID: try wallet.issuerDID(), resolver: DIDJWKResolver())
        #expect((0..<8).map { list.value(at: $0) } == [0, 0, 0, 1, 0, 2, 0, 0])
        #expect(throws: WalletError.self) { try wallet.statusListToken(uri: uri, size: 4, revoked: [4]) }
    }

    /// A request object as the built-in verifier signs it, with `changes` applied and signed by `key`.
    static func requestObject(_ changes: [String: JSONValue] = [:], header: [String: JSONValue] = [:],
                              key: P256.Signing.PrivateKey, signer: P256.Signing.PrivateKey? = nil) throws -> String {
        let did = DIDJWK.did(for: key.publicKey)
        var claims: [String: JSONValue] = [
            "iss": .string("decentralized_identifier:" + did), "client_id": .string("decentralized_identifier:" + did),
            "iat": .integer(Int64(Date().timeIntervalSince1970)), "exp": .integer(Int64(Date().timeIntervalSince1970) + 600),
            "response_type": "vp_token", "response_mode": "direct_post", "nonce": "n-1", "state": "s-1",
            "response_uri": "https://verifier.example.com/oid4vp/api/request-object/1/response-data",
            "dcql_query": ["credentials": [["id": "kych", "format": "dc+sd-jwt", "meta": ["vct_values": ["betaid-sdjwt"]],
                                            "claims": [["path": ["given_name"]], ["path": ["age_over_18"]]]]]],
        ]
        claims.merge(changes) { $1 }
        var fullHeader: [String: JSONValue] = ["typ": "oauth-authz-req+jwt", "kid": .string(did + "#0")]
        fullHeader.merge(header) { $1 }
        return try CompactJWS.sign(claims: claims, header: fullHeader, using: signer ?? key)
    }

    @Test func requestObjectsAreCheckedBeforeAnythingIsPresented() async throws {
        let key = P256.Signing.PrivateKey()
        let clientID = "decentralized_identifier:" + DIDJWK.did(for: key.publicKey)
        let request = try await PresentationRequest.verify(try Self.requestObject(key: key), expectedClientID: clientID,
                                                            resolver: DIDJWKResolver())
        #expect(request.clientID == clientID && request.nonce == "n-1" && request.state == "s-1")
        #expect(request.query.credentials.first?.requestedClaimNames == ["given_name", "age_over_18"])

        let other = P256.Signing.PrivateKey()
        let rejected: [(String, String?)] = [
            (try Self.requestObject(key: key), "decentralized_identifier:did:jwk:someone-else"),
            (try Self.requestObject(key: key, signer: other), nil),
            (try Self.requestObject(header: ["typ": "JWT"], key: key), nil),
            (try Self.requestObject(header: ["kid": .string(DIDJWK.did(for: other.publicKey) + "#0")], key: key, signer: other), nil),
            (try Self.requestObject(["client_id": .string(DIDJWK.did(for: key.publicKey))], key: key), nil),
            (try Self.requestObject(["iss": "decentralized_identifier:did:example:other"], key: key), nil),
            (try Self.requestObject(["exp": .integer(Int64(Date().timeIntervalSince1970) - 10)], key: key), nil),
            (try Self.requestObject(["response_uri": "http://verifier.example.com/response-data"], key: key), nil),
            (try Self.requestObject(["response_mode": "direct_post.jwt"], key: key), nil),   // no encryption key
            (try Self.requestObject(["dcql_query": ["credentials": []]], key: key), nil),
        ]
        for (jwt, expected) in rejected {
            await #expect(throws: (any Error).self) {
                try await PresentationRequest.verify(jwt, expectedClientID: expected, resolver: DIDJWKResolver())
            }
        }
        let (requestURI, expectedClientID) = try PresentationRequest.reference(
            "swiyu-verify://?client_id=a%3Ab&request_uri=https%3A%2F%2Fv.example%2Fr%2F1")
        #expect(requestURI.absoluteString == "https://v.example/r/1" && expectedClientID == "a:b")
        #expect(throws: WalletError.self) { try PresentationRequest.reference("openid4vp://?client_id=a&request=eyJ") }
    }

    @Test func presentationDisclosesExactlyTheRequestedClaimsAndVerifiesWithTheReferenceImplementation() async throws {
        let wallet = try Self.wallet()
        try wallet.issue()
        let key = P256.Signing.PrivateKey()
        let request = try await PresentationRequest.verify(try Self.requestObject(key: key), expectedClientID: nil,
                                                            resolver: DIDJWKResolver())
        let token = try #require(try wallet.vpToken(for: request)["kych"]?.arrayValue?.first?.stringValue)
        let presented = try SDJWT(parsing: token)
        #expect(Set(try presented.disclosures.map { try Disclosure(parsing: $0).name }) == ["given_name", "age_over_18"])
        #expect(presented.keyBindingJWT != nil)

        let output = try await PythonHelper.run("sdjwt_crosscheck.py", "verify", [
            "presentation": .string(token), "aud": .string(request.clientID), "nonce": .string(request.nonce),
        ])
        let verified = try #require(try JSONText.parseObject(Data(output.utf8))["verified"]?.objectValue, "\(output)")
        #expect(verified["given_name"] == "Helvetia" && verified["age_over_18"] == "true")
        let issuer = try wallet.issuerDID()
        #expect(verified["family_name"] == nil && verified["iss"]?.stringValue == issuer)
    }

    /// Asked for the Beta-ID or a KyCH attestation (DCQL `credential_sets`), the wallet shows the attestation when it holds
    /// one, the Beta-ID when named or when it holds no attestation; without sets it answers every query as before.
    @Test func aQueryWithCredentialSetsGetsTheAttestationWhenTheWalletHoldsOne() throws {
        let attestationVCT = "https://kych-a.example/credentials/kyc-attestation"
        func query(sets: Bool) throws -> DCQLQuery {
            let credentials: JSONValue = [
                ["id": "kych", "format": "dc+sd-jwt", "meta": ["vct_values": [.string(BetaID.vct)]]],
                ["id": "kych_attestation", "format": "dc+sd-jwt", "meta": ["vct_values": [.string(attestationVCT)]]],
            ]
            return try DCQLQuery(json: sets ? ["credentials": credentials, "credential_sets": [["options": [["kych"], ["kych_attestation"]]]]]
                                            : ["credentials": credentials])
        }
        func chosen(_ wallet: Wallet, sets: Bool = true, named name: String? = nil) throws -> [String] {
            try wallet.credentials(for: try query(sets: sets), named: name).map { "\($0.0.id):\($0.1.name)" }
        }
        let wallet = try Self.wallet()
        try wallet.issue()
        #expect(try chosen(wallet) == ["kych:betaid"])
        var attestation = Wallet.Issuance()
        attestation.vct = attestationVCT
        try wallet.issue(attestation, name: Wallet.attestationName)
        #expect(try chosen(wallet) == ["kych_attestation:kych-attestation"])
        #expect(try chosen(wallet, named: "betaid") == ["kych:betaid"])
        #expect(throws: WalletError.self) { try chosen(wallet, named: "library-card") }
        #expect(try chosen(wallet, sets: false) == ["kych:betaid", "kych_attestation:kych-attestation"])
    }

    @Test func commandLineIssuesAndRefusesBadInput() async throws {
        let directory = try VerifierTestConfig.temporaryDirectory().appendingPathComponent("wallet").path
        let issue = try await Run.program("kych-wallet", [
            "issue", "--wallet", directory, "--name", "card", "--vct", "urn:vct:example", "--without", "portrait",
            "--claim", "nickname=Helvi", "--status-uri", "https://status.example.ch/1.jwt", "--status-index", "4", "--expires-in", "60",
        ])
        #expect(issue.status == 0, "\(issue.stderr)")
        let credential = try #require(try Wallet(directory: URL(fileURLWithPath: directory)).credentials().first)
        #expect(credential.name == "card" && credential.vct == "urn:vct:example")
        let names = try SDJWT(parsing: credential.sdJWT).disclosures.compactMap { try Disclosure(parsing: $0).name }
        #expect(names.contains("nickname") && !names.contains("portrait"))

        for (arguments, message) in [
            (["issue", "--status-uri", "https://x/1.jwt"], "--status-uri and --status-index go together"),
            (["issue", "--without", "shoe_size"], "there is no claim shoe_size to leave out"),
            (["present", "not a link"], "Error:"),
            (["present", "swiyu-verify://?client_id=x&request_uri=http%3A%2F%2Fverifier.example.com%2Fr"], "neither https nor http on a loopback host"),
        ] {
            let result = try await Run.program("kych-wallet", [arguments[0], "--wallet", directory] + arguments.dropFirst())
            #expect(result.status != 0 && result.stderr.contains(message), "\(arguments): \(result.stderr)")
        }
    }
}
