import Foundation
import KychCore
import KychOAuth
import Testing

/// The whole OAuth flow logic (setup → authorize → verifier outcome → finalize → token → info) and its
/// error paths, on the in-memory store with a scripted verifier and a hand-moved clock.
@Suite struct AuthorizationServerTests {
    @Test func completeFlow() async throws {
        let f = try await FlowFixture()
        let nonce = try await f.setup()
        let started = try await f.authorize(nonce: nonce, scope: "given_name age_over_18")
        #expect(started.session.status == .authorized && started.bindingCookie != nil)
        #expect(await f.verifier.created.map(\.claims) == [["given_name", "age_over_18"]])
        #expect(try await f.server.status(verificationID: started.verification.id, state: "st", timeout: .zero) == .authorized)

        await f.verifier.answer(started.verification.id, with: .success(FlowFixture.credential))
        try await f.server.notification(verificationID: started.verification.id) { _ in nil }
        #expect(try await f.server.status(verificationID: started.verification.id, state: "st", timeout: .zero) == .verified)

        let location = try await f.server.finalize(verificationID: started.verification.id, state: "st", bindingCookie: started.bindingCookie)
        #expect(location.hasPrefix(FlowFixture.redirect + "?code=") && location.hasSuffix("&state=st&iss=http%3A%2F%2F127.0.0.1%3A8080"))
        let token = try await f.token(code: try FlowFixture.code(in: location))
        #expect(token.token_type == "Bearer" && token.expires_in == 3600 && token.access_token.count >= 43)
        let info = try await f.server.info(.bearer(token.access_token))
        #expect(info.claims == ["given_name": "Helvetia", "age_over_18": true])
        #expect(info.credential.vct == "betaid-sdjwt" && info.credential.issuer == "did:example:issuer" && info.verified_at != nil)
        #expect(info.id == started.session.sessionID && info.status == "success")
        #expect(try await f.server.status(verificationID: started.verification.id, state: nil, timeout: .zero) == .completed)
    }

    @Test func setupAuthenticatesWithTheBearerSecret() async throws {
        let f = try await FlowFixture()
        let missing = await flowError { try await f.server.setup(clientID: "exchange", authorization: nil) }
        #expect(missing == .oauth(status: 401, error: "invalid_client", description: "missing Authorization: Bearer <client secret>",
                                  wwwAuthenticate: "Bearer realm=\"kych\""))
        let wrong = await flowError { try await f.server.setup(clientID: "exchange", authorization: "Bearer secret-token:wrong") }
        let unknown = await flowError { try await f.server.setup(clientID: "nobody", authorization: "Bearer \(FlowFixture.secret)") }
        let refused = FlowError.invalidClient("unknown client or wrong client secret", challenge: "Bearer realm=\"kych\", error=\"invalid_client\"")
        #expect(wrong == refused && unknown == refused)
        #expect(try await f.setup().count >= 43)
    }

    @Test func authorizeChecksRunInOrder() async throws {
        let f = try await FlowFixture()
        func page(_ parameters: [String: String], nonce: String? = nil) async -> PageError? {
            guard case .page(_, let kind, _)? = await flowError({ try await f.server.authorize(AuthorizationRequest(nonce: nonce, parameters: parameters)) })
            else { return nil }
            return kind
        }
        let good = ["response_type": "code", "client_id": "exchange", "redirect_uri": FlowFixture.redirect]
        #expect(await page(["response_type": "code"]) == .invalidRequest)
        #expect(await page(good.merging(["state": String(repeating: "s", count: 513)]) { $1 }) == .invalidRequest)
        #expect(await page(good.merging(["client_id": "nobody"]) { $1 }) == .unknownClient)
        #expect(await page(good, nonce: "no-such-nonce") == .unknownLink)
        #expect(await page(good.merging(["redirect_uri": "https://evil.example/cb"]) { $1 }) == .invalidRedirect)
        // A redirect URI check comes before every error that would be redirected.
        #expect(await page(["client_id": "exchange", "redirect_uri": "https://evil.example/cb", "response_type": "token"]) == .invalidRedirect)

        func redirect(_ extra: [String: String]) async -> [String: String]? {
            guard case .redirect(let location)? = await flowError({ try await f.authorize(nonce: nil, extra: extra) }) else { return nil }
            #expect(location.hasPrefix(FlowFixture.redirect + "?"))
            return FormURLEncoding.decode(String(location.split(separator: "?", maxSplits: 1)[1]))
        }
        #expect(await redirect(["response_type": "token"])?["error"] == "unsupported_response_type")
        #expect(await redirect(["scope": "given_name portrait"])?["error"] == "invalid_scope")
        let long = String(repeating: "x", count: 5000)
        #expect(await redirect(["scope": long])?["error_description"] == "the scope \(long.prefix(64))… may not be requested")
        #expect(await redirect(["code_challenge_method": "plain", "code_challenge": String(repeating: "a", count: 43)])?["error"] == "invalid_request")
        // No refused request started a verification.
        #expect(await f.verifier.created.isEmpty)
    }

    @Test func authorizeWithoutNonceCreatesTheSession() async throws {
        let f = try await FlowFixture()
        let started = try await f.authorize(nonce: nil, scope: nil)
        #expect(started.session.clientID == "exchange" && started.session.scope == ["given_name", "family_name", "age_over_18"])
        // A reload shows the same verification, with the same binding cookie.
        let again = try await f.authorize(nonce: started.session.nonce)
        #expect(again.verification == started.verification && again.bindingCookie == started.bindingCookie)
        #expect(await f.verifier.created.count == 1)
    }

    @Test func expiredSetupSessionCannotStart() async throws {
        let f = try await FlowFixture()
        let nonce = try await f.setup()
        f.clock.advance(15 * 60)
        let error = await flowError { try await f.authorize(nonce: nonce) }
        guard case .page(410, .expired, _)? = error else { Issue.record("expected the expired page, got \(String(describing: error))"); return }
    }

    @Test func verifierDownIsAPageAndLeavesTheSessionPending() async throws {
        let f = try await FlowFixture()
        let nonce = try await f.setup()
        await f.verifier.setUnreachable(true)
        guard case .page(502, .verifierDown, _)? = await flowError({ try await f.authorize(nonce: nonce) }) else {
            Issue.record("expected the verifier-down page"); return
        }
        #expect(await f.store.session(nonce: nonce)?.status == .pending)
        await f.verifier.setUnreachable(false)
        #expect(try await f.authorize(nonce: nonce).session.status == .authorized)
    }

    @Test(arguments: [
        (VerifierOutcome.failed(code: "credential_revoked", description: "revoked"), "access_denied", "the identity verification failed (credential_revoked)"),
        (VerifierOutcome.failed(code: "public_key_of_issuer_unresolvable", description: nil), "server_error",
         "the verification could not be completed because of a technical fault"),
        (VerifierOutcome.failed(code: nil, description: "decryption failed"), "server_error",
         "the verification could not be completed because of a technical fault"),
    ])
    func failedVerificationsRedirectTheirError(_ outcome: VerifierOutcome, _ error: String, _ description: String) async throws {
        let f = try await FlowFixture()
        let location = try await f.runToFinalize(outcome)
        let query = try #require(FormURLEncoding.decode(String(location.split(separator: "?", maxSplits: 1)[1])))
        #expect(query == ["error": error, "error_description": description, "state": "st", "iss": "http://127.0.0.1:8080"])
    }

    @Test func failureErrorFollowsTheClientSetting() async throws {
        let f = try await FlowFixture(clientSettings: "FAILURE_ERROR = unauthorized_client")
        let location = try await f.runToFinalize(.failed(code: "holder_binding_mismatch", description: nil))
        #expect(location.contains("error=unauthorized_client"))
    }

    @Test func aLateAnswerNeverUndoesAFinalOne() async throws {
        let f = try await FlowFixture()
        let started = try await f.authorize(nonce: try await f.setup())
        let id = started.verification.id
        await f.verifier.answer(id, with: .success(FlowFixture.credential))
        try await f.server.notification(verificationID: id) { _ in nil }
        await f.verifier.answer(id, with: .failed(code: "x", description: nil))
        try await f.server.notification(verificationID: id) { _ in nil }
        #expect(await f.store.session(verificationID: id)?.status == .verified)
        await f.verifier.answer(id, with: .notFound)
        try await f.server.notification(verificationID: id) { _ in nil }
        #expect(await f.store.session(verificationID: id)?.status == .verified)
    }

    @Test func vanishedVerificationExpiresTheSession() async throws {
        let f = try await FlowFixture()
        let started = try await f.authorize(nonce: try await f.setup())
        await f.verifier.answer(started.verification.id, with: .notFound)
        try await f.server.notification(verificationID: started.verification.id) { _ in nil }
        #expect(try await f.server.status(verificationID: started.verification.id, state: nil, timeout: .zero) == .expired)
    }

    @Test func statusAsksTheVerifierOncePerInterval() async throws {
        let f = try await FlowFixture()
        let started = try await f.authorize(nonce: try await f.setup())
        let id = started.verification.id
        await f.verifier.answer(id, with: .success(FlowFixture.credential))
        // Checked at /authorize: not due again within the poll interval.
        #expect(try await f.server.status(verificationID: id, state: "st", timeout: .zero) == .authorized)
        #expect(await f.verifier.asked == 0)
        f.clock.advance(4)
        #expect(try await f.server.status(verificationID: id, state: "st", timeout: .zero) == .verified)
        #expect(await f.verifier.asked == 1)
        await #expect(throws: FlowError.invalidRequest("state does not match this verification")) {
            try await f.server.status(verificationID: id, state: "other", timeout: .zero)
        }
    }

    @Test func successKeepsTheSessionForTheWayToFinalize() async throws {
        let f = try await FlowFixture()
        let started = try await f.authorize(nonce: try await f.setup())
        f.clock.advance(14 * 60)   // one minute before the session's 15 minutes are up
        await f.verifier.answer(started.verification.id, with: .success(FlowFixture.credential))
        try await f.server.notification(verificationID: started.verification.id) { _ in nil }
        f.clock.advance(5 * 60)    // past the session's lifetime, within the 10 minutes after success
        let location = try await f.server.finalize(verificationID: started.verification.id, state: "st", bindingCookie: started.bindingCookie)
        #expect(location.contains("code="))
    }

    /// A wallet answer after the session's lifetime does not revive it: /status said expired, and it stays so.
    @Test func aLateSuccessDoesNotReviveAnExpiredSession() async throws {
        let f = try await FlowFixture()
        let started = try await f.authorize(nonce: try await f.setup())
        f.clock.advance(15 * 60 + 1)
        #expect(try await f.server.status(verificationID: started.verification.id, state: "st", timeout: .zero) == .expired)
        await f.verifier.answer(started.verification.id, with: .success(FlowFixture.credential))
        try await f.server.notification(verificationID: started.verification.id) { _ in nil }
        #expect(try await f.server.status(verificationID: started.verification.id, state: "st", timeout: .zero) == .expired)
        guard case .page(410, .expired, _)? = await flowError({
            try await f.server.finalize(verificationID: started.verification.id, state: "st", bindingCookie: started.bindingCookie)
        }) else { Issue.record("an expired session yielded a code"); return }
    }

    @Test func finalizeNeedsTheBrowserThatStarted() async throws {
        let f = try await FlowFixture()
        let started = try await f.authorize(nonce: try await f.setup())
        let id = started.verification.id
        guard case .page(409, .notVerifiedYet, _)? = await flowError({ try await f.server.finalize(verificationID: id, state: "st", bindingCookie: started.bindingCookie) })
        else { Issue.record("finalized before verification"); return }
        await f.verifier.answer(id, with: .success(FlowFixture.credential))
        try await f.server.notification(verificationID: id) { _ in nil }
        for cookie in [nil, "another-browser"] {
            guard case .page(403, .differentBrowser, _)? = await flowError({ try await f.server.finalize(verificationID: id, state: "st", bindingCookie: cookie) })
            else { Issue.record("finalized without the binding cookie"); return }
        }
        guard case .page(400, .invalidRequest, _)? = await flowError({ try await f.server.finalize(verificationID: id, state: "x", bindingCookie: started.bindingCookie) })
        else { Issue.record("finalized with another state"); return }
        let first = try await f.server.finalize(verificationID: id, state: "st", bindingCookie: started.bindingCookie)
        // Again from the same browser while the code is unused: the same redirect, no second code.
        #expect(try await f.server.finalize(verificationID: id, state: "st", bindingCookie: started.bindingCookie) == first)
        guard case .page(403, .differentBrowser, _)? = await flowError({ try await f.server.finalize(verificationID: id, state: "st", bindingCookie: nil) })
        else { Issue.record("another browser got the code"); return }
        _ = try await f.token(code: try FlowFixture.code(in: first))
        guard case .page(409, .finished, _)? = await flowError({ try await f.server.finalize(verificationID: id, state: "st", bindingCookie: started.bindingCookie) })
        else { Issue.record("a redeemed code was handed out again"); return }
    }

    /// Issue 12, finding 15: the page's status script and a same-device wallet's redirect both navigate to /finalize
    /// at once; whichever answer the browser ends on sends the person to the client with the one code issued.
    @Test func concurrentFinalizesFromOneBrowserBothReachTheClient() async throws {
        let f = try await FlowFixture()
        let started = try await f.authorize(nonce: try await f.setup())
        let id = started.verification.id
        await f.verifier.answer(id, with: .success(FlowFixture.credential))
        try await f.server.notification(verificationID: id) { _ in nil }
        let server = f.server, cookie = started.bindingCookie
        let locations = try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<8 { group.addTask { try await server.finalize(verificationID: id, state: "st", bindingCookie: cookie) } }
            return try await group.reduce(into: [String]()) { $0.append($1) }
        }
        #expect(locations.count == 8 && Set(locations).count == 1, "\(Set(locations))")
        let token = try await f.token(code: try FlowFixture.code(in: try #require(locations.first)))
        #expect(!token.access_token.isEmpty)
        await #expect(throws: FlowError.self) { try await f.token(code: try FlowFixture.code(in: try #require(locations.first))) }
    }

    @Test func aReplayedCodeRevokesItsToken() async throws {
        let f = try await FlowFixture()
        let code = try FlowFixture.code(in: try await f.runToFinalize())
        let token = try await f.token(code: code, basic: true)
        #expect(try await f.server.info(.bearer(token.access_token)).status == "success")
        let replay = await flowError { try await f.token(code: code) }
        #expect(replay == .invalidGrant("the authorization code was already used; tokens issued from it are revoked"))
        #expect(await flowError { try await f.server.info(.bearer(token.access_token)) }
                == .invalidToken("the access token is unknown, expired or revoked"))
    }

    @Test func concurrentRedemptionsYieldOneTokenAtMost() async throws {
        let f = try await FlowFixture()
        let code = try FlowFixture.code(in: try await f.runToFinalize())
        let tokens = await withTaskGroup(of: String?.self) { group in
            for _ in 0..<8 { group.addTask { try? await f.token(code: code).access_token } }
            return await group.reduce(into: [String]()) { if let t = $1 { $0.append(t) } }
        }
        #expect(tokens.count == 1)
        // The losers were replays: the winner's token is revoked.
        #expect(await flowError { try await f.server.info(.bearer(tokens.first ?? "")) } != nil)
    }

    @Test func codeRulesAtTheTokenEndpoint() async throws {
        let f = try await FlowFixture()
        let code = try FlowFixture.code(in: try await f.runToFinalize())
        func token(_ form: [String: String], authorization: String? = nil) async -> FlowError? {
            await flowError { try await f.server.token(TokenRequest(form: form, authorization: authorization)) }
        }
        let auth = ["client_id": "exchange", "client_secret": FlowFixture.secret]
        let base = auth.merging(["grant_type": "authorization_code", "code": code, "redirect_uri": FlowFixture.redirect]) { $1 }
        #expect(await token(base.merging(["grant_type": "password"]) { $1 })
                == .oauth(status: 400, error: "unsupported_grant_type", description: "the grant types supported are authorization_code"))
        #expect(await token(base.filter { $0.key != "grant_type" }) == .invalidRequest("grant_type is missing"))
        #expect(await token(base.filter { $0.key != "code" }) == .invalidRequest("code is missing"))
        #expect(await token(base.filter { $0.key != "redirect_uri" }) == .invalidRequest("redirect_uri is missing"))
        #expect(await token(base.merging(["code": "unknown"]) { $1 }) == .invalidGrant("the authorization code is unknown"))
        #expect(await token(base.merging(["redirect_uri": "https://exchange.example/other"]) { $1 })
                == .invalidGrant("redirect_uri does not match the authorization request"))
        #expect(await token(base.filter { $0.key != "client_secret" })
                == .invalidClient("client authentication is missing (client_id and client_secret, or HTTP Basic)"))
        let basic = "Basic " + Data("exchange:\(FlowFixture.secret)".utf8).base64EncodedString()
        #expect(await token(base, authorization: basic) == .invalidRequest("use one client authentication method, not two"))
        let wrongBasic = "Basic " + Data("exchange:secret-token:wrong".utf8).base64EncodedString()
        #expect(await token(base.filter { !auth.keys.contains($0.key) }, authorization: wrongBasic)
                == .invalidClient("unknown client or wrong client secret", challenge: "Basic realm=\"kych\""))
        // None of the refusals used the code: it still works, once.
        _ = try await f.token(code: code)
        f.clock.advance(11 * 60)
        let late = try FlowFixture.code(in: try await f.runToFinalize())
        f.clock.advance(11 * 60)
        #expect(await flowError { try await f.token(code: late) } == .invalidGrant("the authorization code has expired"))
    }

    @Test func aCodeIsBoundToItsClient() async throws {
        let other = """
            [client_other]
            CLIENT_ID = other
            CLIENT_SECRET = secret-token:the-other-clients-secret-0123456
            VERIFIER_URL = https://verifier.example
            REDIRECT_URI = \(FlowFixture.redirect)
            """
        let f = try await FlowFixture(extraConfig: "\n" + other.replacingOccurrences(of: "[client_other]", with: "[client_other]"))
        let code = try FlowFixture.code(in: try await f.runToFinalize())
        let form = ["grant_type": "authorization_code", "code": code, "redirect_uri": FlowFixture.redirect,
                    "client_id": "other", "client_secret": "secret-token:the-other-clients-secret-0123456"]
        #expect(await flowError { try await f.server.token(TokenRequest(form: form, authorization: nil)) }
                == .invalidGrant("the authorization code was issued to another client"))
    }

    @Test func tokensExpire() async throws {
        let f = try await FlowFixture()
        let token = try await f.token(code: try FlowFixture.code(in: try await f.runToFinalize()))
        #expect(await flowError { try await f.server.info(.bearer(nil)) } == .missingToken(dpopAlgorithms: ClientSignedJWT.algorithms))
        f.clock.advance(3601)
        #expect(await flowError { try await f.server.info(.bearer(token.access_token)) }
                == .invalidToken("the access token is unknown, expired or revoked"))
    }

    /// Issue 12, finding 11: the key is checked before anything is looked up, so known and unknown
    /// verifications get the same answers: 401 without the key, 204 with it.
    @Test func webhookAPIKeyIsCheckedFirstAndIsNoOracle() async throws {
        let f = try await FlowFixture(clientSettings: "WEBHOOK_API_KEY_HEADER = X-Api-Key\nWEBHOOK_API_KEY_VALUE = the-key")
        let started = try await f.authorize(nonce: try await f.setup())
        await f.verifier.answer(started.verification.id, with: .success(FlowFixture.credential))
        let refusal = FlowError.oauth(status: 401, error: "invalid_client", description: "missing or wrong webhook API key")
        for id in [started.verification.id, "unknown"] {
            for key in [nil, "wrong"] as [String?] {
                #expect(await flowError { try await f.server.notification(verificationID: id) { _ in key } } == refusal, "\(id)")
            }
        }
        #expect(await f.verifier.asked == 0)
        #expect(await f.store.session(verificationID: started.verification.id)?.status == .authorized)
        try await f.server.notification(verificationID: "unknown") { $0 == "X-Api-Key" ? "the-key" : nil }
        try await f.server.notification(verificationID: started.verification.id) { $0 == "X-Api-Key" ? "the-key" : nil }
        #expect(await f.store.session(verificationID: started.verification.id)?.status == .verified)
        #expect(await f.verifier.asked == 1)
    }

    /// With a client that has no key besides one that has: answers without a valid key are 204 for every
    /// id (the keyless client takes anyone's notification), but only its own verifications are looked up.
    @Test func aKeylessClientBesideAKeyedOneLeavesNoOracleEither() async throws {
        let f = try await FlowFixture(clientSettings: """
            WEBHOOK_API_KEY_HEADER = X-Api-Key
            WEBHOOK_API_KEY_VALUE = the-key
            [client_open]
            CLIENT_ID = open
            CLIENT_SECRET = secret-token:another-unit-test-client-secret-01234
            VERIFIER_URL = https://verifier.example
            REDIRECT_URI = https://open.example/cb
            """)
        let started = try await f.authorize(nonce: try await f.setup())
        await f.verifier.answer(started.verification.id, with: .success(FlowFixture.credential))
        try await f.server.notification(verificationID: started.verification.id) { _ in nil }
        try await f.server.notification(verificationID: "unknown") { _ in nil }
        try await f.server.notification(verificationID: started.verification.id) { _ in "wrong" }
        #expect(await f.verifier.asked == 0)
        #expect(await f.store.session(verificationID: started.verification.id)?.status == .authorized)
        try await f.server.notification(verificationID: started.verification.id) { $0 == "X-Api-Key" ? "the-key" : nil }
        #expect(await f.store.session(verificationID: started.verification.id)?.status == .verified)
    }

    /// Issue 12, finding 11: without any key, forged notifications cost one verifier request per
    /// verification and interval; the rest are accepted and coalesced.
    @Test func notificationsAskTheVerifierAtMostOncePerVerificationAndInterval() async throws {
        let f = try await FlowFixture()
        let started = try await f.authorize(nonce: try await f.setup())
        for _ in 0..<20 { try await f.server.notification(verificationID: started.verification.id) { _ in nil } }
        #expect(await f.verifier.asked == 1)
        f.clock.advance(f.server.notificationThrottle.interval)
        await f.verifier.answer(started.verification.id, with: .success(FlowFixture.credential))
        for _ in 0..<5 { try await f.server.notification(verificationID: started.verification.id) { _ in nil } }
        #expect(await f.verifier.asked == 2)
        #expect(await f.store.session(verificationID: started.verification.id)?.status == .verified)
    }

    /// Issue 12, finding 4: a credential signed by an issuer the client does not accept ends the flow
    /// failed, with the client's FAILURE_ERROR, never a code.
    @Test func aSignerOutsideTheClientsAcceptedIssuersFailsTheFlow() async throws {
        let f = try await FlowFixture(clientSettings: "FAILURE_ERROR = unauthorized_client")
        var credential = FlowFixture.credential
        credential.issuer = "did:example:not-accepted"
        let location = try await f.runToFinalize(.success(credential))
        #expect(location.contains("error=unauthorized_client") && !location.contains("code="))
        #expect(location.contains("issuer_not_accepted"))
        credential.issuer = nil
        #expect(try await f.runToFinalize(.success(credential)).contains("error=unauthorized_client"))
    }

    /// Issue 17: `ACCEPTED_ATTESTATION_ISSUERS` makes every client trust the attestations of those KyCH instances, in the
    /// verification it asks for and in the check of the result's issuer.
    @Test func theGatewaysAttestationIssuersAreTrustedByEveryClient() async throws {
        var attestation = FlowFixture.credential
        attestation.vct = "https://kych-a.example/credentials/kyc-attestation"
        attestation.issuer = "https://kych-a.example"
        let without = try await FlowFixture()
        #expect(try await without.runToFinalize(.success(attestation)).contains("issuer_not_accepted"))
        #expect(await without.verifier.trustedIssuers == ["did:example:issuer"])
        let f = try await FlowFixture(extraConfig: "ACCEPTED_ATTESTATION_ISSUERS = {https://kych-a.example}")
        let location = try await f.runToFinalize(.success(attestation))
        #expect(location.contains("code=") && !location.contains("error="), "\(location)")
        #expect(await f.verifier.trustedIssuers == ["did:example:issuer", "https://kych-a.example"])
    }

    @Test func purgeExpiresWaitingSessionsAndDeletesDeadRows() async throws {
        let f = try await FlowFixture()
        let waiting = try await f.setup()
        let token = try await f.token(code: try FlowFixture.code(in: try await f.runToFinalize()))
        f.clock.advance(16 * 60)
        var report = try await f.server.purge(retention: 3600)
        #expect(report.expiredSessions == 1 && report.deletedSessions == 0)
        #expect(await f.store.session(nonce: waiting)?.status == .expired)
        f.clock.advance(2 * 3600)
        report = try await f.server.purge(retention: 3600)
        #expect(report.deletedTokens == 1 && report.deletedCodes == 1 && report.deletedSessions == 2)
        #expect(await f.store.session(nonce: waiting) == nil)
        #expect(await f.store.accessToken(hash: Secrets.sha256(token.access_token)) == nil)
    }
}
