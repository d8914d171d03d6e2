import Crypto
import Foundation
import KychCore
import KychOAuth
import KychSDJWT
import KychStorage
import KychSwiyuClient
import KychVerifier
import KychVerifierModel
import KychWallet
import Testing

/// The built-in verifier's management API and wallet endpoints, against the wire contract
/// (`swiyu-verifier-api.md` §2 and §4), over HTTP with a real database and the test wallet.
@Suite struct VerifierAPITests {
    static var uuid: Regex<Substring> { /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/ }

    @Test func createAndReadFollowTheManagementContract() async throws {
        let verifier = try await StandaloneVerifier.start()
        let created = try await verifier.createVerification()
        let id = try #require(created["id"]?.stringValue)
        #expect(id.wholeMatch(of: Self.uuid) != nil)
        #expect(created["request_nonce"]?.stringValue?.wholeMatch(of: Self.uuid) != nil)
        #expect(created["state"] == "PENDING")
        #expect(created["dcql_query"] == nil && created["wallet_response"] == nil)
        let url = verifier.baseURL + "/oid4vp/api/request-object/" + id
        #expect(created["verification_url"]?.stringValue == url)
        let clientID = "decentralized_identifier:" + DIDJWK.did(for: try SigningKeyFile.load(path: verifier.keyFile).publicKey)
        let encodedURL = "http%3A%2F%2F127.0.0.1%3A" + verifier.baseURL.split(separator: ":").last! + "%2Foid4vp%2Fapi%2Frequest-object%2F" + id
        #expect(created["verification_deeplink"]?.stringValue
            == "swiyu-verify://?client_id=\(clientID.replacingOccurrences(of: ":", with: "%3A"))&request_uri=\(encodedURL)")

        let read = try await verifier.result(id)
        #expect(read.status == 200 && read.json == created)
        let unknown = try await verifier.result("00000000-0000-0000-0000-000000000000")
        #expect(unknown.status == 404)
        #expect(unknown.json["detail"] == "The verification with the identifier '00000000-0000-0000-0000-000000000000' was not found")
        await verifier.stop()
    }

    @Test func createRejectsWhatSwiyuRejects() async throws {
        let verifier = try await StandaloneVerifier.start()
        func credential(_ members: String) -> String {
            #"{"accepted_issuer_dids":["did:example:1"],"dcql_query":{"credentials":[{\#(members)}]}}"#
        }
        let valid = #""id":"kych","format":"dc+sd-jwt","meta":{"vct_values":["betaid-sdjwt"]}"#
        let cases: [(String, String)] = [
            ("not json", "not valid JSON"),
            (#"{"dcql_query":{"credentials":[{\#(valid)}]}}"#, "Either acceptedIssuerDids or trustAnchors must be set and cannot be empty."),
            (#"{"accepted_issuer_dids":[],"dcql_query":{"credentials":[{\#(valid)}]}}"#, "accepted_issuer_dids: must be a non-empty list"),
            (#"{"accepted_issuer_dids":["did:example:1"]}"#, "dcql_query: must not be null"),
            (#"{"accepted_issuer_dids":["did:example:1"],"dcql_query":{"credentials":[]}}"#, "dcql_query.credentials: must not be empty"),
            (credential(#""id":"a b","format":"dc+sd-jwt","meta":{"vct_values":["x"]}"#), "credentials[0].id: must match ^[a-zA-Z0-9_-]+$"),
            (credential(#""id":"a","format":"","meta":{"vct_values":["x"]}"#), "credentials[0].format: must not be blank"),
            (credential(#""id":"a","format":"dc+sd-jwt","meta":{"vct_values":[]}"#), "vct_values is required"),
            (credential(valid + #","multiple":true"#), "credentials[0].multiple: is not supported"),
            (credential(valid + #","claim_sets":[["a"]]"#), "credentials[0].claim_sets: is not supported"),
            (credential(valid + #","trusted_authorities":[]"#), "credentials[0].trusted_authorities: is not supported"),
            (credential(valid + #","claims":[]"#), "credentials[0].claims: must not be empty"),
            (credential(valid + #","claims":[{"path":[]}]"#), "credentials[0].claims[0].path: must be a non-empty array"),
            (credential(valid + #","claims":[{"path":[-1]}]"#), "credentials[0].claims[0].path: must be a non-empty array"),
            (credential(valid + #","claims":[{"path":["a"],"values":[]}]"#), "credentials[0].claims[0].values: must not be empty"),
            (#"{"accepted_issuer_dids":["did:example:1"],"dcql_query":{"credentials":[{\#(valid)}],"credential_sets":[{"options":[["betaid"]]}]}}"#,
             "credential_sets[0].options: \"betaid\" is not the id of a credential query"),
            (#"{"accepted_issuer_dids":["did:example:1"],"dcql_query":{"credentials":[{\#(valid)}],"credential_sets":[{"options":[["kych"]],"required":"yes"}]}}"#,
             "credential_sets[0].required: must be a boolean"),
            (#"{"accepted_issuer_dids":["did:example:1"],"response_mode":"fragment","dcql_query":{"credentials":[{\#(valid)}]}}"#,
             "response_mode: must be direct_post or direct_post.jwt"),
            (#"{"trust_anchors":[{"did":"did:example:1","trust_registry_uri":"http://registry"}],"dcql_query":{"credentials":[{\#(valid)}]}}"#,
             "trust_anchors[0]: needs a did and an https trust_registry_uri"),
        ]
        for (body, message) in cases {
            let reply = try await verifier.create(body)
            #expect(reply.status == 400, "\(body)")
            #expect(reply.json["error_description"]?.stringValue?.contains(message) == true, "\(body) -> \(reply.body)")
        }
        // Malformed credential sets are reported next to other problems; unknown members are tolerated.
        let both = try await verifier.create(
            #"{"accepted_issuer_dids":["did:example:1"],"dcql_query":{"credential_sets":[{}],"credentials":[{"id":"a"}]}}"#)
        #expect(both.json["error_description"]?.stringValue?.contains(
            "dcql_query.credential_sets[0].options: must be a non-empty array of non-empty arrays of credential ids") == true)
        #expect(both.json["error_description"]?.stringValue?.contains("credentials[0].format") == true)
        let tolerated = try await verifier.create(
            #"{"accepted_issuer_dids":["did:example:1"],"jwt_secured_authorization_request":false,"configuration_override":{},"dcql_query":{"credentials":[{\#(valid)}]}}"#)
        #expect(tolerated.status == 200)
        await verifier.stop()
    }

    @Test func managementBearerTokenProtectsOnlyTheManagementAPI() async throws {
        let verifier = try await StandaloneVerifier.start(settings: "MANAGEMENT_BEARER_TOKEN = secret-token:management")
        let body = try verifier.requestBody()
        #expect(try await verifier.create(body).status == 401)
        #expect(try await verifier.create(body, headers: [("Authorization", "Bearer secret-token:other")]).status == 401)
        let created = try await verifier.create(body, headers: [("Authorization", "Bearer secret-token:management")])
        #expect(created.status == 200)
        let id = try #require(created.json["id"]?.stringValue)
        #expect(try await verifier.result(id).status == 401)
        #expect(try await verifier.result(id, headers: [("Authorization", "Bearer secret-token:management")]).status == 200)
        #expect(try await HTTP.get(verifier.baseURL + "/oid4vp/api/request-object/\(id)").status == 200)
        #expect(try await HTTP.get(verifier.baseURL + "/oid4vp/api/openid-client-metadata.json").status == 200)
        await verifier.stop()
    }

    @Test func requestObjectIsSignedAndCarriesTheSwiyuClaims() async throws {
        let verifier = try await StandaloneVerifier.start(settings: "CLIENT_NAME = Test Exchange")
        let created = try await verifier.createVerification()
        let id = try #require(created["id"]?.stringValue)
        let reply = try await HTTP.get(try #require(created["verification_url"]?.stringValue))
        #expect(reply.status == 200 && reply.headers["content-type"] == "application/oauth-authz-req+jwt")
        let jws = try CompactJWS(parsing: reply.body)
        let key = try SigningKeyFile.load(path: verifier.keyFile).publicKey
        let did = DIDJWK.did(for: key)
        #expect(jws.header == ["alg": "ES256", "typ": "oauth-authz-req+jwt", "kid": .string(did + "#0"),
                               "profile_version": "swiss-profile-verification:1.0.0"])
        try jws.verify(using: key)
        let claims = try jws.claims()
        let clientID = JSONValue.string("decentralized_identifier:" + did)
        #expect(claims["iss"] == clientID && claims["client_id"] == clientID)
        #expect(claims["aud"] == "https://self-issued.me/v2" && claims["response_type"] == "vp_token")
        #expect(claims["response_mode"] == "direct_post.jwt")
        #expect(claims["response_uri"]?.stringValue == verifier.baseURL + "/oid4vp/api/request-object/\(id)/response-data")
        #expect(claims["nonce"]?.stringValue == created["request_nonce"]?.stringValue)
        #expect(claims["state"]?.stringValue?.wholeMatch(of: Self.uuid) != nil)
        #expect(try #require(claims["exp"]?.int64Value) - (try #require(claims["iat"]?.int64Value)) == 600)
        #expect(claims["encrypted_response_enc_values_supported"] == ["A256GCM"])
        #expect(claims["dcql_query"]?.objectValue?["credentials"]?.arrayValue?.first?.objectValue?["claims"]
            == [["path": ["given_name"]], ["path": ["age_over_18"]]])
        let metadata = try #require(claims["client_metadata"]?.objectValue)
        #expect(metadata["client_id"] == clientID && metadata["client_name"] == "Test Exchange")
        let jwk = try #require(metadata["jwks"]?.objectValue?["keys"]?.arrayValue?.first?.objectValue)
        #expect(jwk["alg"] == "ECDH-ES" && jwk["kid"]?.stringValue?.wholeMatch(of: Self.uuid) != nil)
        // Re-signed on every fetch; no encryption key without direct_post.jwt.
        #expect(try await HTTP.get(try #require(created["verification_url"]?.stringValue)).body != reply.body)
        let plain = try await verifier.createVerification(mode: "direct_post")
        let plainClaims = try CompactJWS(parsing: try await HTTP.get(try #require(plain["verification_url"]?.stringValue)).body).claims()
        #expect(plainClaims["client_metadata"]?.objectValue?["jwks"] == nil && plainClaims["encrypted_response_enc_values_supported"] == nil)
        await verifier.stop()
    }

    @Test func walletPresentsDisclosingExactlyTheRequestedClaims() async throws {
        let verifier = try await StandaloneVerifier.start()
        try verifier.wallet.issue()
        for mode in ["direct_post.jwt", "direct_post"] {
            let created = try await verifier.createVerification(mode: mode)
            let id = try #require(created["id"]?.stringValue)
            let request = try await PresentationRequest.fetch(try #require(created["verification_deeplink"]?.stringValue))
            #expect(request.responseMode.rawValue == mode && (request.encryptionKey != nil) == (mode == "direct_post.jwt"))
            let reply = try await verifier.wallet.present(request)
            #expect(reply.status == 200 && reply.body == [:], "\(reply.body)")

            let result = try await verifier.result(id)
            #expect(result.json["state"] == "SUCCESS")
            #expect(result.json["wallet_response"]?["error_code"] == .null)
            let subject = try #require(result.json["wallet_response"]?["credential_subject_data"]?["kych"]?.arrayValue?.first?.objectValue)
            #expect(Set(subject.keys) == ["iss", "vct", "iat", "cnf", "given_name", "age_over_18"])
            #expect(subject["given_name"] == "Helvetia" && subject["age_over_18"] == "true" && subject["vct"] == "betaid-sdjwt")
            let issuer = try verifier.wallet.issuerDID()
            #expect(subject["iss"]?.stringValue == issuer)
            // Closed now: the request object is gone (410) and another answer is refused (410).
            #expect(try await HTTP.get(try #require(created["verification_url"]?.stringValue)).status == 410)
            #expect(try await verifier.wallet.present(request).status == 410)
        }
        await verifier.stop()
    }

    @Test func malformedWalletPostsAreRefusedWithoutClosingTheVerification() async throws {
        let verifier = try await StandaloneVerifier.start()
        let (_, id, request) = try await verifier.pendingVerification()
        let token = String(decoding: JSONText.serialize(.object(try verifier.wallet.vpToken(for: request))), as: UTF8.self)
        let key = try #require(request.encryptionKey)
        func encrypted(_ payload: JSONValue, keyID: String? = nil) throws -> String {
            try CompactJWE.encrypt(JSONText.serialize(payload), to: key.key, keyID: keyID ?? key.keyID)
        }
        let jweWithoutKid: String = try {
            let parts = try encrypted(["vp_token": .string(token), "state": .string(request.state)])
                .split(separator: ".", omittingEmptySubsequences: false)
            var header = try JSONText.parseObject(Base64URL.decode(String(parts[0]))!)
            header["kid"] = nil
            return ([Base64URL.encode(JSONText.serialize(header))] + parts.dropFirst().map(String.init)).joined(separator: ".")
        }()

        let cases: [([(String, String)], [(String, String)], Int, String)] = [
            ([("vp_token", token), ("state", request.state)], [], 400, "Lacking encryption. All elements of the response should be encrypted."),
            ([("response", try encrypted(["vp_token": .string(token), "state": "other"]))], [], 400,
             "OAuth2.0 State mismatch. Expected to receive the state as in Request Object"),
            ([("response", try encrypted(["vp_token": "{not json", "state": .string(request.state)]))], [], 400, "vp_token is not JSON"),
            ([("response", jweWithoutKid)], [], 400, "Missing keyId. Unable to decrypt response."),
            ([("response", try encrypted(["vp_token": .string(token), "state": .string(request.state)], keyID: "other"))], [], 400,
             "Unknown keyId"),
            ([("response", "a.b.c")], [], 400, "response is not a compact JWE"),
            ([("error", "no_thanks"), ("state", request.state)], [], 400, "error must be one of"),
            ([("error", "access_denied"), ("state", "other")], [], 400, "OAuth2.0 State mismatch"),
            ([("state", request.state)], [], 400, "neither vp_token nor response nor error"),
            ([("response", try encrypted(["vp_token": .string(token), "state": .string(request.state)]))],
             [("SWIYU-API-Version", "1")], 400, "SWIYU-API-Version 1 is not supported"),
        ]
        for (fields, headers, status, message) in cases {
            let reply = try await verifier.postResponse(id, fields, headers: headers)
            #expect(reply.status == status, "\(fields.map(\.0)) -> \(reply.body)")
            #expect(reply.json["error_description"]?.stringValue?.contains(message) == true, "\(fields.map(\.0)) -> \(reply.body)")
        }
        // An unauthenticated body beyond what a presentation needs is refused before it is read whole.
        let huge = try await verifier.postResponse(id, [("response", String(repeating: "a", count: 3 << 20))])
        #expect(huge.status == 413, "\(huge.body.prefix(200))")
        let unknown = try await verifier.postResponse("00000000-0000-0000-0000-000000000000", [("state", "x")])
        #expect(unknown.status == 400 && unknown.json["error"] == "invalid_request")
        #expect(unknown.json["error_description"] == "Management entity not found: 00000000-0000-0000-0000-000000000000")

        // None of this closed the verification: the wallet can still answer.
        #expect(try await verifier.result(id).json["state"] == "PENDING")
        #expect(try await verifier.wallet.present(request).status == 200)
        #expect(try await verifier.result(id).json["state"] == "SUCCESS")
        await verifier.stop()
    }

    @Test func concurrentAnswersHaveOneWinner() async throws {
        let verifier = try await StandaloneVerifier.start()
        try verifier.wallet.issue()
        let created = try await verifier.createVerification()
        let request = try await PresentationRequest.fetch(try #require(created["verification_url"]?.stringValue))
        let wallet = verifier.wallet
        let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<4 { group.addTask { try await wallet.present(request).status } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(statuses.sorted() == [200, 410, 410, 410])
        await verifier.stop()
    }

    /// Issue 12, finding 2: a checker killed mid-check (its claim stays in the database) no longer strands
    /// the verification: while its lease runs a second answer gets 410, after it lapses the wallet's retry
    /// is checked and succeeds.
    @Test func aClaimWhoseLeaseLapsedIsTakenOverByTheWalletsRetry() async throws {
        let verifier = try await StandaloneVerifier.start()
        let (created, id, request) = try await verifier.pendingVerification()
        // A checker claimed it and was killed: what its claim left behind.
        let killed = try await Stores.with(verifier.db.connectionString, sealing: .unencrypted, logger: TestEnvironment.logger) { stores in
            let pending = try #require(try await stores.verifications.verification(id: id))
            return try await stores.verifications.claim(pending, leaseUntil: Date() + 60)
        }
        #expect(killed == 1)
        #expect(try await verifier.wallet.present(request).status == 410)
        #expect(try await verifier.result(id).json["state"] == "PENDING")

        try await verifier.db.execute("UPDATE verifier.verifications SET claimed_until = now() - interval '1 second'")
        #expect(try await HTTP.get(try #require(created["verification_url"]?.stringValue)).status == 200)
        let retry = try await verifier.wallet.present(request)
        #expect(retry.status == 200, "\(retry.body)")
        #expect(try await verifier.result(id).json["state"] == "SUCCESS")
        #expect(try await verifier.db.strings("SELECT claim_count::text FROM verifier.verifications") == ["2"])
        await verifier.stop()
    }

    /// Issue 12, finding 4: a credential whose `iss` claim names another DID than the one whose key signed
    /// it: the claims keep its `iss`, but the issuer reported (and read by the gateway) is the signer.
    @Test func theReportedIssuerIsTheSigningDIDNotTheIssClaim() async throws {
        let verifier = try await StandaloneVerifier.start()
        let wallet = verifier.wallet
        let issued = try SDJWT(parsing: try wallet.issue())
        var claims = try CompactJWS(parsing: issued.issuerSignedJWT).claims()
        claims["iss"] = "did:example:impostor"
        let signer = try wallet.issuerDID()
        let resigned = try CompactJWS.sign(claims: claims, header: ["typ": "dc+sd-jwt", "kid": .string(signer + "#0")],
                                           using: try wallet.issuerKey())
        try wallet.store(SDJWT(issuerSignedJWT: resigned, disclosures: issued.disclosures).withoutKeyBinding, name: "betaid")

        let created = try await verifier.createVerification()
        let id = try #require(created["id"]?.stringValue)
        let request = try await PresentationRequest.fetch(try #require(created["verification_url"]?.stringValue))
        let reply = try await wallet.present(request)
        #expect(reply.status == 200, "\(reply.body)")
        let result = try await verifier.result(id).json
        #expect(result["wallet_response"]?["credential_subject_data"]?["kych"]?.arrayValue?.first?["iss"] == "did:example:impostor")
        #expect(result["wallet_response"]?["credential_issuer_dids"] == ["kych": [.string(signer)]])
        guard case .success(let credential) = VerifierResponse.outcome(from: result, granted: ["given_name"], expectedVCTs: []) else {
            Issue.record("not a success: \(result)")
            return
        }
        #expect(credential.issuer == signer)
        await verifier.stop()
    }

    @Test func expiredVerificationsAreGone() async throws {
        let verifier = try await StandaloneVerifier.start()
        let (created, id, request) = try await verifier.pendingVerification()
        try await verifier.db.execute("UPDATE verifier.verifications SET expires_at = now() - interval '1 second'")

        #expect(try await HTTP.get(try #require(created["verification_url"]?.stringValue)).status == 404)
        #expect(try await verifier.wallet.present(request).status == 410)
        #expect(try await verifier.result(id).status == 404)
        // The GET deleted it.
        #expect(try await verifier.db.strings("SELECT count(*)::text FROM verifier.verifications") == ["0"])
        #expect(try await verifier.result(id).status == 404)
        await verifier.stop()
    }

    @Test func formatMismatchAndDIDWebIssuers() async throws {
        let server = try await LoopbackServer()
        defer { server.stop() }
        let verifier = try await StandaloneVerifier.start()
        // An issuer identified by did:web, its document served over loopback HTTP.
        var issuance = Wallet.Issuance()
        issuance.issuerDID = server.didWeb
        try verifier.wallet.issue(issuance)
        let jwk = P256PublicJWK(try verifier.wallet.issuerKey().publicKey).jsonObject
        let document: JSONValue = [
            "id": .string(server.didWeb),
            "verificationMethod": [["id": .string(server.didWeb + "#0"), "type": "JsonWebKey2020",
                                    "controller": .string(server.didWeb), "publicKeyJwk": .object(jwk)]],
        ]
        server.serve("/.well-known/did.json", String(decoding: JSONText.serialize(document), as: UTF8.self))
        // Not fetched for a verification that does not accept the issuer.
        let untrusted = try await verifier.createVerification()
        let refused = try await verifier.wallet.present(
            try await PresentationRequest.fetch(try #require(untrusted["verification_url"]?.stringValue)))
        #expect(refused.body.objectValue?["error_code"] == "public_key_of_issuer_unresolvable" && server.fetchedPaths.isEmpty)

        let body = try verifier.requestBody().replacingOccurrences(of: try verifier.wallet.issuerDID(), with: server.didWeb)

        let created = try #require(try await verifier.create(body).json.objectValue)
        let request = try await PresentationRequest.fetch(try #require(created["verification_url"]?.stringValue))
        #expect(try await verifier.wallet.present(request).status == 200)
        let result = try await verifier.result(try #require(created["id"]?.stringValue))
        #expect(result.json["wallet_response"]?["credential_subject_data"]?["kych"]?.arrayValue?.first?["iss"]?.stringValue == server.didWeb)
        #expect(server.fetchedPaths == ["/.well-known/did.json"])

        // A DCQL format that is not SD-JWT does not match an SD-JWT VC.
        let other = try #require(try await verifier.create(body.replacingOccurrences(of: "dc+sd-jwt", with: "jwt_vc_json")).json.objectValue)
        let otherRequest = try await PresentationRequest.fetch(try #require(other["verification_url"]?.stringValue))
        let reply = try await verifier.wallet.present(otherRequest)
        #expect(reply.status == 400 && reply.body.objectValue?["error_code"] == "invalid_presentation_submission")
        await verifier.stop()
    }
}
