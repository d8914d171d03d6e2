import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import KychCore
import KychOAuth
import KychSDJWT
import KychVerifier
import KychVerifierModel
import KychWallet
import Testing

/// The whole flow over HTTP against PostgreSQL and the built-in verifier, completed by the test
/// wallet's presentations (the fault-injecting stand-in only where noted).
@Suite struct FlowTests {
    @Test func completeFlowWithWebhookDCQL() async throws {
        let harness = try await GatewayHarness.make()
        try await harness.run { flow in
            let started = try await flow.start()
            // What the gateway asked the verifier for, as the verifier stored it ...
            #expect(try await harness.verifierRows() == [started.verificationID])
            #expect(try await harness.verifierRows("response_mode") == ["direct_post.jwt"])
            #expect(try await harness.verifierRows("array_to_string(accepted_issuer_dids, ' ')") == [harness.acceptedIssuer])
            let stored = try JSON.parse(Data(try #require(try await harness.verifierRows("dcql_query::text").first).utf8))
            let credential = try #require(stored["credentials"]?.arrayValue?.first)
            #expect(credential["format"] == "dc+sd-jwt")
            #expect(credential["meta"]?["vct_values"] == ["betaid-sdjwt", "urn:vct:ch.admin.bcs.betaid"])
            #expect(credential["claims"] == [["path": ["given_name"]], ["path": ["family_name"]], ["path": ["birth_date"]], ["path": ["age_over_18"]]])
            // ... and as the wallet reads it from the signed request object.
            let request = try await PresentationRequest.fetch(started.deeplink)
            #expect(request.responseMode == .directPostJWT)
            #expect(request.query.credentials.first?.requestedClaimNames == ["given_name", "family_name", "birth_date", "age_over_18"])
            #expect(try await flow.status(started.verificationID) == "authorized")

            // The claims are the wallet's Beta-ID credential's (KychWallet's sample), age_over_18 as a boolean.
            let info = try await flow.complete(started)
            #expect(info["status"] == "success")
            #expect(info["claims"] == ["given_name": "Helvetia", "family_name": "National", "birth_date": "1848-09-12", "age_over_18": true])
            #expect(BetaID.sampleClaims["given_name"] == "Helvetia" && BetaID.sampleClaims["age_over_18"] == "true")
            #expect(info["credential"] == ["vct": "betaid-sdjwt", "issuer": .string(harness.acceptedIssuer)])
            #expect(harness.acceptedIssuer == (try harness.wallet.issuerDID()) && harness.acceptedIssuer.hasPrefix("did:jwk:"))
            #expect(info["id"]?.stringValue?.isEmpty == false && info["verified_at"]?.stringValue != nil)
            #expect(try await flow.status(started.verificationID) == "completed")
        }
        // Only hashes of codes and tokens are stored.
        #expect(try await harness.db.strings("SELECT octet_length(code_hash)::text FROM oauth2gw.authorization_codes") == ["32"])
        #expect(try await harness.db.strings("SELECT octet_length(token_hash)::text FROM oauth2gw.access_tokens") == ["32"])
    }

    @Test(arguments: Backend.allCases)
    func completeFlowWithoutWebhook(_ backend: Backend) async throws {
        let harness = try await GatewayHarness.make(backend: backend)
        try await harness.run { flow in
            let started = try await flow.start(scope: "given_name age_over_18")
            let info = try await flow.complete(started, webhook: false)
            #expect(info["claims"] == ["given_name": "Helvetia", "age_over_18": true])
        }
    }

    /// swiyu 2.x (`presentation_definition`): the built-in verifier speaks only 4.x, so the fault-injecting stand-in answers.
    @Test func completeFlowWithPresentationDefinitionVerifier() async throws {
        let harness = try await GatewayHarness.make(verifier: .faultInjecting(shape: .v2), clientSettings: "VERIFIER_QUERY = presentation_definition")
        try await harness.run { flow in
            let started = try await flow.start(scope: "family_name birth_date")
            let request = try #require(harness.standIn.request(started.verificationID))
            #expect(request["dcql_query"] == nil)
            let fields = request["presentation_definition"]?["input_descriptors"]?.arrayValue?.first?["constraints"]?["fields"]
            #expect(fields == [["path": ["$.vct"], "filter": ["type": "string", "const": "betaid-sdjwt"]],
                               ["path": ["$.family_name"]], ["path": ["$.birth_date"]]])
            let info = try await flow.complete(started)
            #expect(info["claims"] == ["family_name": "National", "birth_date": "1848-09-12"])
        }
    }

    @Test func verifierBearerTokenIsSent() async throws {
        let protected = GatewayHarness.VerifierKind.builtIn(settings: "MANAGEMENT_BEARER_TOKEN = mgmt-token")
        let harness = try await GatewayHarness.make(verifier: protected, clientSettings: "VERIFIER_BEARER_TOKEN = mgmt-token")
        try await harness.run { flow in
            // The verifier's management API refuses requests without the token ...
            #expect(try await harness.builtIn.verification("00000000-0000-0000-0000-000000000000").status == 401)
            // ... so the whole flow working shows the gateway sends it, on creation and on every poll.
            let info = try await flow.complete(try await flow.start(), webhook: false)
            #expect(info["status"] == "success")
        }
        let refused = try await GatewayHarness.make(verifier: protected)   // the client sends none
        try await refused.run { flow in
            let nonce = try await flow.nonce()
            #expect(try await flow.request(flow.authorizeURI(nonce)).status == .badGateway)
            #expect(try await refused.verifierRows().isEmpty)
        }
    }

    @Test func repeatedAuthorizeReturnsTheSameVerification() async throws {
        let harness = try await GatewayHarness.make()
        try await harness.run { flow in
            let nonce = try await flow.nonce()
            let first = try await flow.request(flow.authorizeURI(nonce), headers: [.accept: "application/json"])
            let second = try await flow.request(flow.authorizeURI(nonce), headers: [.accept: "application/json"])
            #expect(first.json["verification_id"] == second.json["verification_id"])
            #expect(try await harness.verifierRows() == [try #require(first.json["verification_id"]?.stringValue)])
            let page = try await flow.request(flow.authorizeURI(nonce))
            #expect(page.status == .ok && page.headers[.contentType] == "text/html; charset=utf-8")
            #expect(page.text.contains("<svg") && page.headers[.contentSecurityPolicy]?.contains("frame-ancestors 'none'") == true)
        }
    }

    @Test func failedVerificationRedirectsWithTheClientsFailureError() async throws {
        let harness = try await GatewayHarness.make(clientSettings: "FAILURE_ERROR = unauthorized_client")
        let statusServer = try await LoopbackServer()
        defer { statusServer.stop() }
        try harness.wallet.issueWithStatus(index: 1, name: "revoked", statusServer: statusServer)   // index 1: revoked
        try await harness.run { flow in
            let started = try await flow.start()
            let reply = try await harness.wallet.answer(started.deeplink, credential: "revoked")
            #expect(reply.status == 400 && reply.body.objectValue?["error_code"] == "credential_revoked", "\(reply.body)")
            try await flow.expectVerifierState(started, "FAILED")
            #expect(try await flow.notify(started.verificationID).status == .noContent)
            #expect(try await flow.status(started.verificationID) == "failed")
            let redirect = try #require(try await flow.finalize(started))
            #expect(redirect["error"] == "unauthorized_client" && redirect["code"] == nil)
            #expect(redirect["state"] == GatewayHarness.state && redirect["error_description"]?.contains("credential_revoked") == true)
        }
        #expect(try await harness.db.strings("SELECT failure_code FROM oauth2gw.verification_sessions") == ["credential_revoked"])
    }
}

/// Each error of the flow gets a clear, well-formed answer.
@Suite struct FlowErrorTests {
    @Test func setupRejectsWrongSecretAndUnknownClient() async throws {
        let harness = try await GatewayHarness.make()
        try await harness.run { flow in
            (try await flow.setup(secret: "secret-token:wrong")).expectOAuthError("invalid_client", status: .unauthorized)
            (try await flow.setup(client: "nobody")).expectOAuthError("invalid_client", status: .unauthorized)
            (try await flow.request("/setup/test-client", .post)).expectOAuthError("invalid_client", status: .unauthorized)
        }
    }

    @Test func authorizeErrorsBeforeAndAfterTheRedirectURIIsTrusted() async throws {
        let harness = try await GatewayHarness.make()
        try await harness.run { flow in
            let nonce = try await flow.nonce()
            // Wrong redirect URI: an error page, never a redirect.
            let wrong = try await flow.request(flow.authorizeURI(nonce, redirect: "https://evil.example/cb"))
            #expect(wrong.status == .badRequest && wrong.headers[.location] == nil && wrong.text.contains("redirect_uri"))
            // Unknown nonce, and a nonce of another client.
            #expect(try await flow.request(flow.authorizeURI("no-such-nonce")).status == .notFound)
            #expect(try await flow.request(flow.authorizeURI(nonce, clientID: "other-client")).status == .notFound)
            // Bad response_type and bad scope go back to the client with the state.
            for (uri, error) in [(flow.authorizeURI(nonce, responseType: "token"), "unsupported_response_type"),
                                 (flow.authorizeURI(nonce, scope: "given_name shoe_size"), "invalid_scope")] {
                let response = try await flow.request(uri)
                #expect(response.status == .found)
                let location = try #require(response.headers[.location])
                #expect(location.hasPrefix(GatewayHarness.redirect + "?error=\(error)&error_description="))
                #expect(location.contains("&state=\(GatewayHarness.state)&iss="))   // RFC 9207 issuer last
                #expect(response.headers[HTTPField.Name("Referrer-Policy")!] == "no-referrer")
            }
            // Repeated parameters (RFC 6749 §3.1): an error page at /authorize, invalid_request at /token.
            let twice = try await flow.request(flow.authorizeURI(nonce) + "&redirect_uri=https%3A%2F%2Fevil.example%2F")
            #expect(twice.status == .badRequest && twice.headers[.location] == nil)
            (try await flow.request("/token", .post, body: "grant_type=authorization_code&code=a&code=b&client_id=test-client&client_secret=x"))
                .expectOAuthError("invalid_request", status: .badRequest)
            #expect(try await harness.verifierRows().isEmpty)
        }
    }

    /// Query values are form-decoded (RFC 6749 appendix B): `+` is a space, as Authlib and requests-oauthlib send it.
    @Test func plusInTheQueryIsASpace() async throws {
        let harness = try await GatewayHarness.make()
        try await harness.run { flow in
            let uri = "/authorize/\(try await flow.nonce())?response_type=code&client_id=test-client"
                + "&redirect_uri=\(GatewayHarness.redirect.urlEscaped)&state=a+b%2Bc&scope=given_name+age_over_18"
            let response = try await flow.request(uri, headers: [.accept: "application/json"])
            #expect(response.status == .ok, "\(response.text)")
            #expect(response.json["state"]?.stringValue == "a b+c")
            let stored = try JSON.parse(Data(try #require(try await harness.verifierRows("dcql_query::text").first).utf8))
            #expect(stored["credentials"]?.arrayValue?.first?["claims"] == [["path": ["given_name"]], ["path": ["age_over_18"]]])
            let id = try #require(response.json["verification_id"]?.stringValue)
            #expect(try await flow.request("/status/\(id)?state=a+b%2Bc").json["status"] == "authorized")
            (try await flow.request("/status/\(id)?state=a%2Bb%2Bc")).expectOAuthError("invalid_request", status: .badRequest)
        }
    }

    /// PKCE over HTTP: an S256 challenge starts the verification; `plain` goes back to the client as invalid_request.
    @Test func codeChallengeOverHTTP() async throws {
        let harness = try await GatewayHarness.make()
        try await harness.run { flow in
            let challenge = "&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method="
            let plain = try await flow.request(flow.authorizeURI(try await flow.nonce()) + challenge + "plain")
            #expect(plain.status == .found)
            let location = try #require(plain.headers[.location])
            #expect(location.hasPrefix(GatewayHarness.redirect + "?error=invalid_request&error_description=code_challenge_method"))
            #expect(try await harness.verifierRows().isEmpty)
            let s256 = try await flow.request(flow.authorizeURI(try await flow.nonce()) + challenge + "S256", headers: [.accept: "application/json"])
            #expect(s256.status == .ok, "\(s256.text)")
            #expect(try await harness.db.strings("SELECT code_challenge FROM oauth2gw.verification_sessions WHERE code_challenge IS NOT NULL")
                    == ["E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"])
        }
    }

    /// Discovery (RFC 8414), introspection (RFC 7662) and revocation (RFC 7009) over HTTP, with HTTP Basic.
    @Test func metadataIntrospectionAndRevocationOverHTTP() async throws {
        let harness = try await GatewayHarness.make()
        try await harness.run { flow in
            let metadata = try await flow.request("/.well-known/oauth-authorization-server")
            #expect(metadata.status == .ok && metadata.headers[.contentType] == "application/json")
            let issuer = try #require(metadata.json["issuer"]?.stringValue)
            #expect(issuer.hasPrefix("http://127.0.0.1:") && metadata.json["introspection_endpoint"]?.stringValue == issuer + "/introspect")
            let code = try await flow.verifiedCode()
            let token = try #require(try await flow.token(code: code).json["access_token"]?.stringValue)
            let basic = "Basic " + Data("test-client:\(GatewayHarness.secret.urlEscaped)".utf8).base64EncodedString()
            let form: HTTPFields = [.contentType: "application/x-www-form-urlencoded", .authorization: basic]
            let active = try await flow.request("/introspect", .post, headers: form, body: "token=\(token.urlEscaped)")
            #expect(active.status == .ok && active.json["active"] == true && active.json["client_id"] == "test-client", "\(active.text)")
            let revoked = try await flow.request("/revoke", .post, headers: form, body: "token=\(token.urlEscaped)&token_type_hint=access_token")
            #expect(revoked.status == .ok && revoked.body.readableBytes == 0)
            #expect(try await flow.request("/introspect", .post, headers: form, body: "token=\(token.urlEscaped)").json == ["active": false])
            (try await flow.info(token)).expectOAuthError("invalid_token", status: .unauthorized)
            (try await flow.request("/revoke", .post, headers: [.contentType: "application/x-www-form-urlencoded"], body: "token=x"))
                .expectOAuthError("invalid_client", status: .unauthorized)
        }
    }

    /// OpenID Connect over HTTP: discovery, an ID token that joserfc verifies with the served /jwks, /userinfo.
    @Test func openIDConnectOverHTTPCheckedByJoserfc() async throws {
        let harness = try await GatewayHarness.make()
        try await harness.run { flow in
            let discovery = try await flow.request("/.well-known/openid-configuration")
            let issuer = try #require(discovery.json["issuer"]?.stringValue)
            #expect(discovery.json["jwks_uri"]?.stringValue == issuer + "/jwks" && discovery.json["userinfo_endpoint"]?.stringValue == issuer + "/userinfo")
            let started = try await flow.start(scope: "openid given_name", extra: "&nonce=n-0S6_WzA2Mj")
            try await flow.present(started)
            #expect(try await flow.notify(started.verificationID).status == .noContent)
            let code = try #require(try await flow.finalize(started)?["code"])
            let token = try await flow.token(code: code).json
            let accessToken = try #require(token["access_token"]?.stringValue), idToken = try #require(token["id_token"]?.stringValue)
            let jwks = try await flow.request("/jwks").text
            let verdict = try await SigningKeysCrossCheckTests.joserfcVerify(idToken, jwks: jwks)
            let payload = try #require(verdict["verified"]?["payload"], "\(verdict)")
            #expect(payload["iss"]?.stringValue == issuer && payload["aud"] == "test-client" && payload["nonce"] == "n-0S6_WzA2Mj")
            #expect(payload["at_hash"]?.stringValue == IDTokenIssuer.accessTokenHash(accessToken))
            let tampered = idToken.split(separator: ".").enumerated().map { $0.offset == 1 ? Substring(Base64URL.encode(#"{"sub":"x"}"#)) : $0.element }
                .joined(separator: ".")
            await #expect(try SigningKeysCrossCheckTests.joserfcVerify(tampered, jwks: jwks)["rejected"] != nil)
            let userInfo = try await flow.request("/userinfo", headers: [.authorization: "Bearer \(accessToken)"])
            #expect(userInfo.status == .ok && userInfo.json["sub"] == payload["sub"] && userInfo.json["given_name"] == "Helvetia", "\(userInfo.text)")
        }
    }

    /// RFC 9068 JWT access tokens: joserfc verifies one with the served /jwks; /info accepts it until it is revoked.
    @Test func jwtAccessTokenCheckedByJoserfc() async throws {
        let harness = try await GatewayHarness.make(clientSettings: "ACCESS_TOKEN_FORMAT = jwt")
        try await harness.run { flow in
            let token = try #require(try await flow.token(code: try await flow.verifiedCode()).json["access_token"]?.stringValue)
            let verdict = try await SigningKeysCrossCheckTests.joserfcVerify(token, jwks: try await flow.request("/jwks").text)
            #expect(verdict["verified"]?["header"]?["typ"] == "at+jwt", "\(verdict)")
            #expect(verdict["verified"]?["payload"]?["client_id"] == "test-client")
            #expect(try await flow.info(token).status == .ok)
        }
    }

    /// A stored webhook header name that is no HTTP field name (a database written before names were
    /// validated; here for every client) refuses the webhook instead of crashing the gateway.
    @Test func invalidStoredWebhookHeaderNameRefusesTheWebhook() async throws {
        let harness = try await GatewayHarness.make()
        try await harness.run { flow in
            let started = try await flow.start()
            try await harness.db.execute("UPDATE oauth2gw.clients SET webhook_api_key_header = 'X Bad:Name', webhook_api_key_value = 'k'")
            // The gateway's client cache hears of the change by NOTIFY, a moment after the commit.
            var reply = try await flow.notify(started.verificationID)
            for _ in 0..<50 where reply.status != .unauthorized {
                try await Task.sleep(for: .milliseconds(100))
                reply = try await flow.notify(started.verificationID)
            }
            reply.expectOAuthError("invalid_client", status: .unauthorized)
            #expect(try await flow.request("/health").status == .ok)
        }
    }

    /// Issue 12, finding 11, over HTTP: with every client holding a webhook key, the key is checked before
    /// anything is looked up: 401 without it for known and unknown ids alike (no oracle), 204 with a valid
    /// key for both; another client's key is accepted but asks the verifier about nothing.
    @Test func webhookKeyIsCheckedFirstAndAnswersAlikeForKnownAndUnknownIDs() async throws {
        let harness = try await GatewayHarness.make(verifier: .faultInjecting(),
                                                    clientSettings: "WEBHOOK_API_KEY_HEADER = x-api-key\nWEBHOOK_API_KEY_VALUE = hook-key",
                                                    extraClients: "WEBHOOK_API_KEY_HEADER = x-other-key\nWEBHOOK_API_KEY_VALUE = other-key")
        try await harness.run { flow in
            let started = try await flow.start()
            let id = started.verificationID
            harness.standIn.succeed(id, claims: GatewayHarness.claims)
            let unknown = "00000000-0000-0000-0000-000000000000"
            var refusals: [String] = []
            for target in [id, unknown] {
                for headers in [[:], [.init("x-api-key")!: "wrong"], [.init("x-other-key")!: "hook-key"]] as [HTTPFields] {
                    let reply = try await flow.notify(target, headers: headers)
                    reply.expectOAuthError("invalid_client", status: .unauthorized)
                    // Each answer names its own request (`request_id`): no oracle, left out of the comparison.
                    refusals.append(reply.text.replacingOccurrences(of: #","request_id":"[^"]*""#, with: "", options: .regularExpression))
                }
            }
            #expect(Set(refusals).count == 1, "the same answer for known and unknown ids: \(refusals)")
            #expect(harness.standIn.lookups(id) == 0)
            // Another client's valid key: accepted, but it does not make KyCH ask about this client's verification.
            #expect(try await flow.notify(id, headers: [.init("x-other-key")!: "other-key"]).status == .noContent)
            #expect(try await flow.notify(unknown, headers: [.init("x-other-key")!: "other-key"]).status == .noContent)
            #expect(harness.standIn.lookups(id) == 0)
            #expect(try await harness.db.strings("SELECT status FROM oauth2gw.verification_sessions") == ["authorized"])
            // The client's own key: 204 for both, and the known one is applied.
            #expect(try await flow.notify(unknown, headers: [.init("x-api-key")!: "hook-key"]).status == .noContent)
            #expect(try await flow.notify(id, headers: [.init("x-api-key")!: "hook-key"]).status == .noContent)
            #expect(harness.standIn.lookups(id) == 1)
            #expect(try await harness.db.strings("SELECT status FROM oauth2gw.verification_sessions") == ["verified"])
        }
    }

    /// Issue 12, finding 11, over HTTP: without any webhook key, forged notifications for a known
    /// verification are all accepted (204), but ask the verifier once per verification and interval.
    @Test func forgedWebhooksWithoutAKeyAreCoalescedPerVerification() async throws {
        let harness = try await GatewayHarness.make(verifier: .faultInjecting())
        try await harness.run { flow in
            let first = try await flow.start()
            let second = try await flow.start()
            let statuses = try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                for index in 0..<40 {
                    let id = index.isMultiple(of: 2) ? first.verificationID : second.verificationID
                    group.addTask { try await flow.notify(id).status }
                }
                return try await group.reduce(into: [HTTPResponse.Status]()) { $0.append($1) }
            }
            #expect(statuses.allSatisfy { $0 == .noContent })
            #expect(harness.standIn.lookups(first.verificationID) == 1)
            #expect(harness.standIn.lookups(second.verificationID) == 1)
        }
    }

    @Test func expiredSessionIsGone() async throws {
        let harness = try await GatewayHarness.make()
        try await harness.run { flow in
            let nonce = try await flow.nonce()
            try await harness.db.execute("UPDATE oauth2gw.verification_sessions SET expires_at = now() - interval '1 second'")
            let response = try await flow.request(flow.authorizeURI(nonce))
            #expect(response.status == .gone && response.text.contains("expired"))
            (try await flow.request(flow.authorizeURI(nonce), headers: [.accept: "application/json"])).expectOAuthError("expired", status: .gone)
        }
    }

    /// A verifier that fails and recovers: the fault-injecting stand-in.
    @Test func verifierDownIs502AndTheSessionCanBeRetried() async throws {
        let harness = try await GatewayHarness.make(verifier: .faultInjecting())
        try await harness.run { flow in
            let nonce = try await flow.nonce()
            harness.standIn.setDown(true)
            let down = try await flow.request(flow.authorizeURI(nonce))
            #expect(down.status == .badGateway && down.text.contains("not reachable"))
            harness.standIn.setDown(false)
            let retry = try await flow.request(flow.authorizeURI(nonce), headers: [.accept: "application/json"])
            #expect(retry.status == .ok && retry.json["verification_id"]?.stringValue != nil)
        }
    }

    @Test(arguments: Backend.allCases)
    func codeReplayRevokesTheToken(_ backend: Backend) async throws {
        let harness = try await GatewayHarness.make(backend: backend)
        try await harness.run { flow in
            let code = try await flow.verifiedCode()
            let token = try #require(try await flow.token(code: code).json["access_token"]?.stringValue)
            #expect(try await flow.info(token).status == .ok)
            (try await flow.token(code: code)).expectOAuthError("invalid_grant", status: .badRequest)
            (try await flow.info(token)).expectOAuthError("invalid_token", status: .unauthorized)
            #expect(try await flow.info(token).headers[.wwwAuthenticate]?.hasPrefix("Bearer") == true)
        }
    }

    @Test func codeChecksAtTheTokenEndpoint() async throws {
        let harness = try await GatewayHarness.make()
        try await harness.run { flow in
            let code = try await flow.verifiedCode()
            (try await flow.token(code: code, clientID: "other-client", secret: "secret-token:other-client-0123456789abcdefghij", redirect: "https://other.example.com/cb"))
                .expectOAuthError("invalid_grant", status: .badRequest)
            (try await flow.token(code: code, redirect: "https://exchange.example.com/other")).expectOAuthError("invalid_grant", status: .badRequest)
            (try await flow.token(code: code, secret: "secret-token:wrong")).expectOAuthError("invalid_client", status: .unauthorized)
            (try await flow.token(code: "made-up")).expectOAuthError("invalid_grant", status: .badRequest)
            #expect(try await flow.token(code: code).status == .ok)   // the failed attempts did not burn it

            let expired = try await flow.verifiedCode()
            try await harness.db.execute("UPDATE oauth2gw.authorization_codes SET expires_at = now() - interval '1 second' WHERE used_at IS NULL")
            (try await flow.token(code: expired)).expectOAuthError("invalid_grant", status: .badRequest)

            let form = try await flow.request("/token", .post, headers: [.contentType: "application/x-www-form-urlencoded"],
                                              body: "grant_type=password&client_id=test-client&client_secret=x")
            form.expectOAuthError("unsupported_grant_type", status: .badRequest)
            (try await flow.request("/token", .post, body: "")).expectOAuthError("invalid_client", status: .unauthorized)
        }
    }

    @Test func basicAuthAtTheTokenEndpoint() async throws {
        let harness = try await GatewayHarness.make()
        try await harness.run { flow in
            let code = try await flow.verifiedCode()
            let basic = Data("test-client:\(GatewayHarness.secret.urlEscaped)".utf8).base64EncodedString()
            let response = try await flow.request("/token", .post, headers: [.authorization: "Basic \(basic)", .contentType: "application/x-www-form-urlencoded"],
                                                  body: "grant_type=authorization_code&code=\(code)&redirect_uri=\(GatewayHarness.redirect.urlEscaped)")
            #expect(response.status == .ok, "\(response.text)")
            let bad = Data("test-client:nope".utf8).base64EncodedString()
            let refused = try await flow.request("/token", .post, headers: [.authorization: "Basic \(bad)"], body: "grant_type=authorization_code&code=x&redirect_uri=y")
            refused.expectOAuthError("invalid_client", status: .unauthorized)
            #expect(refused.headers[.wwwAuthenticate]?.hasPrefix("Basic") == true)
        }
    }

    @Test func badTokensAtInfo() async throws {
        let harness = try await GatewayHarness.make()
        try await harness.run { flow in
            (try await flow.info("not-a-token")).expectOAuthError("invalid_token", status: .unauthorized)
            let none = try await flow.request("/info")
            none.expectOAuthError("invalid_token", status: .unauthorized)
            // RFC 6750 §3.1: no error code without credentials; RFC 9449 §7.1: DPoP offered next to Bearer.
            #expect(none.headers[.wwwAuthenticate]?.hasPrefix("Bearer realm=\"kych\", DPoP realm=\"kych\", algs=\"ES256 ") == true)
            #expect(none.headers[.wwwAuthenticate]?.contains("error") == false)
            let unknown = try await flow.info("not-a-token")
            #expect(unknown.headers[.wwwAuthenticate]?.contains("error=\"invalid_token\"") == true)
        }
    }

    @Test func finalizeNeedsTheBrowserThatStarted() async throws {
        let harness = try await GatewayHarness.make()
        try await harness.run { flow in
            var started = try await flow.start()
            try await flow.present(started)                             // SUCCESS at the verifier ...
            #expect(try await flow.finalize(started) == nil)           // ... not verified yet at KyCH: no webhook, no poll
            _ = try await flow.notify(started.verificationID)
            let cookie = started.cookie
            started.cookie = "kych_binding=stolen"
            #expect(try await flow.finalize(started) == nil)
            #expect(try await flow.request("/finalize/\(started.verificationID)").status == .forbidden)
            started.cookie = cookie
            let code = try #require(try await flow.finalize(started)?["code"])
            #expect(try await flow.finalize(started)?["code"] == code)  // the same browser again: the same code, no second one
            #expect(try await flow.token(code: code).status == .ok)
            #expect(try await flow.finalize(started) == nil)           // redeemed: nothing to repeat
        }
    }

    @Test func webhookWithAPIKeyAndDuplicatesAndOutOfOrder() async throws {
        let harness = try await GatewayHarness.make(clientSettings: "WEBHOOK_API_KEY_HEADER = x-api-key\nWEBHOOK_API_KEY_VALUE = hook-key",
                                                    extraClients: "WEBHOOK_API_KEY_HEADER = x-api-key\nWEBHOOK_API_KEY_VALUE = other-key")
        try await harness.run { flow in
            let started = try await flow.start()
            let key: HTTPFields = [.init("x-api-key")!: "hook-key"]
            // Out of order: a webhook before the wallet has answered changes nothing.
            #expect(try await flow.notify(started.verificationID, headers: key).status == .noContent)
            #expect(try await flow.status(started.verificationID) == "authorized")
            let request = try await PresentationRequest.fetch(started.deeplink)
            #expect(try await harness.wallet.present(request).status == 200)
            try await flow.expectVerifierState(started, "SUCCESS")
            (try await flow.notify(started.verificationID)).expectOAuthError("invalid_client", status: .unauthorized)
            (try await flow.notify(started.verificationID, headers: [.init("x-api-key")!: "wrong"])).expectOAuthError("invalid_client", status: .unauthorized)
            // The refused webhooks changed nothing: read from the store, as /status itself asks the
            // verifier once its last check is older than the poll interval (3 s).
            #expect(try await harness.db.strings("SELECT status FROM oauth2gw.verification_sessions") == ["authorized"])
            // The early webhook asked the verifier moments ago, so this one is coalesced (issue 12, finding 11):
            // /status picks the result up when its poll interval is over.
            #expect(try await flow.notify(started.verificationID, headers: key).status == .noContent)
            #expect(try await flow.status(started.verificationID, timeoutMS: 10_000) == "verified")
            #expect(try await flow.notify(started.verificationID, headers: key).status == .noContent)   // duplicate
            // A late wallet answer (a refusal) after SUCCESS is refused by the verifier; its webhook changes nothing.
            #expect(try await Wallet.decline(request).status == 410)
            try await flow.expectVerifierState(started, "SUCCESS")
            #expect(try await flow.notify(started.verificationID, headers: key).status == .noContent)
            #expect(try await flow.status(started.verificationID) == "verified")
            // Unknown ids are accepted with a key (so the verifier stops retrying); malformed bodies are not.
            #expect(try await flow.notify("00000000-0000-0000-0000-000000000000", headers: key).status == .noContent)
            (try await flow.request("/notification", .post, body: "{not json")).expectOAuthError("invalid_request", status: .badRequest)
        }
    }

    /// A verifier that reports FAILED after it reported SUCCESS (no wallet can make the built-in one
    /// do that): the verified state stays. The fault-injecting stand-in.
    @Test func aLateFailureReportDoesNotUndoTheVerifiedState() async throws {
        let harness = try await GatewayHarness.make(verifier: .faultInjecting())
        try await harness.run { flow in
            let started = try await flow.start()
            harness.standIn.succeed(started.verificationID, claims: GatewayHarness.claims)
            #expect(try await flow.notify(started.verificationID).status == .noContent)
            #expect(try await flow.status(started.verificationID) == "verified")
            harness.standIn.fail(started.verificationID, code: "credential_revoked")
            #expect(try await flow.notify(started.verificationID).status == .noContent)
            #expect(try await flow.status(started.verificationID) == "verified")
            #expect(try await flow.finalize(started)?["code"] != nil)
        }
    }

    @Test func concurrentWebhooksApplyOnce() async throws {
        let harness = try await GatewayHarness.make()
        try await harness.run { flow in
            let started = try await flow.start()
            try await flow.present(started)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<8 {
                    group.addTask {
                        let response = try await flow.notify(started.verificationID)
                        #expect(response.status == .noContent)
                    }
                }
                try await group.waitForAll()
            }
            #expect(try await flow.status(started.verificationID) == "verified")
        }
    }

    /// A verification the verifier no longer knows (404) while KyCH's session lives: the fault-injecting stand-in.
    @Test func verifierExpiryEndsTheFlow() async throws {
        let harness = try await GatewayHarness.make(verifier: .faultInjecting())
        try await harness.run { flow in
            let started = try await flow.start()
            harness.standIn.expire(started.verificationID)
            #expect(try await flow.notify(started.verificationID).status == .noContent)
            #expect(try await flow.status(started.verificationID) == "expired")
            #expect(try await flow.request("/finalize/\(started.verificationID)", headers: [.cookie: started.cookie]).status == .gone)
        }
    }

    @Test func unknownRoutesAnswerJSON() async throws {
        let harness = try await GatewayHarness.make()
        try await harness.run { flow in
            (try await flow.request("/nope")).expectOAuthError("not_found", status: .notFound)
            (try await flow.request("/status/unknown")).expectOAuthError("not_found", status: .notFound)
            #expect(try await flow.request("/health").json == ["status": "ok"])
        }
    }
}
