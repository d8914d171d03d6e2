import Crypto
import Foundation
import KychCore
import KychOAuth
import KychSDJWT
import Synchronization
import Testing

/// PAR (RFC 9126) and JAR (RFC 9101) on the in-memory store: `/par` runs the same authorize checks as `/authorize` and
/// answers JSON, `/authorize` takes a `request_uri` once and only its parameters count, request objects must be signed
/// by the client's key, and the clients (or the whole gateway) that must use them are held to it. The request objects
/// here are signed by our CompactJWS (the end-to-end proof with joserfc is `PushedAuthorizationTests`).
@Suite struct PushedAndSignedRequestTests {
    static let issuer = "https://kych.example.com"
    static let key = P256.Signing.PrivateKey()
    static let otherKey = P256.Signing.PrivateKey()
    static var jwks: String {
        var jwk = P256PublicJWK(key.publicKey).jsonObject
        jwk["kid"] = "k1"
        return JSON.object(["keys": [.object(jwk)]]).serialized()
    }
    static let other = """

        [client_other]
        CLIENT_ID = other
        CLIENT_SECRET = secret-token:other-client-secret-0123456789
        VERIFIER_URL = https://verifier.example
        REDIRECT_URI = https://other.example/cb
        """

    /// A fixture whose client `exchange` has the key `k1`, with OpenID-free metadata at `issuer`.
    static func fixture(clientSettings: String = "", extraConfig: String = "",
                        clientKeys: (any ClientKeySource)? = nil) async throws -> FlowFixture {
        try await FlowFixture(extraConfig: "BASE_URL = \(issuer)\n" + extraConfig + other,
                              clientSettings: "JWKS = \(jwks)\n" + clientSettings, clientKeys: clientKeys)
    }

    static let parameters = ["response_type": "code", "client_id": "exchange", "redirect_uri": FlowFixture.redirect,
                             "state": "pushed-state", "scope": "family_name"]

    /// `POST /par` with client_secret_post.
    static func push(_ f: FlowFixture, _ parameters: [String: String] = parameters,
                     secret: String = FlowFixture.secret) async throws -> PushedAuthorizationResponse {
        var form = parameters
        form["client_secret"] = secret
        form["client_id"] = form["client_id"] ?? "exchange"
        return try await f.server.pushAuthorizationRequest(TokenRequest(form: form, authorization: nil))
    }

    /// `/authorize` with `query` (a `request_uri` or a `request` with its `client_id`).
    static func authorize(_ f: FlowFixture, _ query: [String: String], nonce: String? = nil) async throws -> Authorization {
        try await f.server.authorize(AuthorizationRequest(nonce: nonce, parameters: query))
    }

    /// A request object: `claims` signed with ES256 by `key` (kid `kid`), typed `typ`.
    static func requestObject(_ claims: [String: JSON], key: P256.Signing.PrivateKey = key, kid: String? = "k1",
                              typ: String? = "oauth-authz-req+jwt") throws -> String {
        var header: [String: JSON] = ["alg": "ES256"]
        header["kid"] = kid.map(JSON.string)
        header["typ"] = typ.map(JSON.string)
        return try CompactJWS.sign(claims: claims, header: header, using: key)
    }

    /// The claims of a good request object for `exchange`, now (the fixture's clock) valid for a minute.
    static func claims(_ f: FlowFixture, state: String = "signed-state") -> [String: JSON] {
        ["iss": "exchange", "aud": .string(issuer), "client_id": "exchange", "response_type": "code",
         "redirect_uri": .string(FlowFixture.redirect), "state": .string(state), "scope": "given_name",
         "exp": .integer(Int64(f.clock.now.timeIntervalSince1970) + 60)]
    }

    /// The page `/authorize` answers, or the JSON error `/par` answers, with its message.
    static func refusal(_ body: () async throws -> some Any) async -> (status: Int, error: String, message: String)? {
        switch await flowError(body) {
        case .page(let status, _, let message)?: (status, "page", message)
        case .oauth(let status, let error, let description, _)?: (status, error, description)
        default: nil
        }
    }

    // MARK: PAR

    @Test func aPushedRequestIsTakenOnceAndOnlyItsParametersCount() async throws {
        let f = try await Self.fixture()
        let pushed = try await Self.push(f)
        #expect(pushed.requestURI.hasPrefix("urn:ietf:params:oauth:request_uri:") && pushed.requestURI.count > 60)
        #expect(pushed.expiresIn == 60)
        // The query's other parameters are ignored (RFC 9126 §4): state, scope and redirect_uri come from the pushed request.
        let started = try await Self.authorize(f, ["client_id": "exchange", "request_uri": pushed.requestURI, "state": "query-state",
                                                   "scope": "given_name", "redirect_uri": "https://evil.example/cb"])
        #expect(started.session.state == "pushed-state" && started.session.redirectURI == FlowFixture.redirect)
        #expect(await f.verifier.created.map { $0.claims } == [["family_name"]])
        // The flow runs on to a token.
        await f.verifier.answer(started.verification.id, with: .success(FlowFixture.credential))
        try await f.server.notification(verificationID: started.verification.id) { _ in nil }
        let location = try await f.server.finalize(verificationID: started.verification.id, state: "pushed-state",
                                                   bindingCookie: started.bindingCookie)
        #expect(try await f.token(code: try FlowFixture.code(in: location)).access_token.isEmpty == false)
        // Used once: the second use is refused with a page, not a crash.
        let again = await Self.refusal { try await Self.authorize(f, ["client_id": "exchange", "request_uri": pushed.requestURI]) }
        #expect(again?.status == 400 && again?.message.contains("used already") == true)
        #expect(await f.verifier.created.count == 1)
    }

    @Test func aPushedRequestExpiresAndThePurgeDeletesIt() async throws {
        let f = try await Self.fixture(extraConfig: "PUSHED_AUTHORIZATION_REQUEST_TTL_SECONDS = 30\n")
        let late = try await Self.push(f)
        _ = try await Self.push(f)
        #expect(late.expiresIn == 30)
        f.clock.advance(30)
        let expired = await Self.refusal { try await Self.authorize(f, ["client_id": "exchange", "request_uri": late.requestURI]) }
        #expect(expired?.status == 400 && expired?.message.contains("expired") == true)
        #expect(try await f.server.purge(retention: 0).deletedPushedRequests == 1)   // the other one; the late one was taken
        #expect(await f.verifier.created.isEmpty)
    }

    @Test func aRequestURIOfAnotherClientOrNotFromPARIsRefused() async throws {
        let f = try await Self.fixture()
        let pushed = try await Self.push(f)
        let foreign = await Self.refusal { try await Self.authorize(f, ["client_id": "other", "request_uri": pushed.requestURI]) }
        #expect(foreign?.status == 400 && foreign?.message.contains("another client") == true)
        // Taken all the same: it cannot be tried again.
        let after = await Self.refusal { try await Self.authorize(f, ["client_id": "exchange", "request_uri": pushed.requestURI]) }
        #expect(after?.message.contains("used already") == true)
        let fetched = await Self.refusal {
            try await Self.authorize(f, ["client_id": "exchange", "request_uri": "https://client.example/request.jwt"])
        }
        #expect(fetched?.message.contains("not issued by this server") == true)
        let both = await Self.refusal {
            try await Self.authorize(f, ["client_id": "exchange", "request_uri": pushed.requestURI, "request": "e30.e30.x"])
        }
        #expect(both?.message.contains("not both") == true)
    }

    @Test func parAnswersEveryRefusalAsJSON() async throws {
        let f = try await Self.fixture()
        func pushed(_ change: [String: String], secret: String = FlowFixture.secret) async -> (status: Int, error: String, message: String)? {
            await Self.refusal { try await Self.push(f, Self.parameters.merging(change) { $1 }, secret: secret) }
        }
        #expect(await pushed(["redirect_uri": "https://evil.example/cb"])?.error == "invalid_request")
        #expect(await pushed(["response_type": "token"])?.error == "unsupported_response_type")
        #expect(await pushed(["scope": "portrait"])?.error == "invalid_scope")
        #expect(await pushed(["code_challenge_method": "plain", "code_challenge": String(repeating: "a", count: 43)])?.error == "invalid_request")
        #expect(await pushed(["state": String(repeating: "s", count: 513)])?.error == "invalid_request")
        let nested = await pushed(["request_uri": "urn:ietf:params:oauth:request_uri:abc"])
        #expect(nested?.error == "invalid_request" && nested?.message.contains("request_uri") == true)
        let wrongSecret = await pushed([:], secret: "secret-token:wrong")
        #expect(wrongSecret?.status == 401 && wrongSecret?.error == "invalid_client")
        let anonymous = await Self.refusal { try await f.server.pushAuthorizationRequest(TokenRequest(form: Self.parameters, authorization: nil)) }
        #expect(anonymous?.status == 401 && anonymous?.error == "invalid_client")
        // HTTP Basic works as at /token, for the client it names.
        let basic = "Basic " + Data("exchange:\(FlowFixture.secret)".utf8).base64EncodedString()
        _ = try await f.server.pushAuthorizationRequest(TokenRequest(form: Self.parameters, authorization: basic))
        let foreign = await Self.refusal {
            try await f.server.pushAuthorizationRequest(TokenRequest(form: Self.parameters.merging(["client_id": "other"]) { $1 }, authorization: basic))
        }
        #expect(foreign?.status == 400 && foreign?.error == "invalid_request")
        #expect(await f.verifier.created.isEmpty)
    }

    @Test func aClientThatMustPushIsRefusedAtPlainAuthorize() async throws {
        for (clientSettings, extraConfig) in [("REQUIRE_PUSHED_AUTHORIZATION_REQUESTS = yes", ""),
                                               ("", "REQUIRE_PUSHED_AUTHORIZATION_REQUESTS = yes\n")] {
            let f = try await Self.fixture(clientSettings: clientSettings, extraConfig: extraConfig)
            let plain = await Self.refusal { try await f.authorize(nonce: nil) }
            #expect(plain?.status == 400 && plain?.message.contains("/par") == true)
            let withNonce = await Self.refusal { try await f.authorize(nonce: try await f.setup()) }
            #expect(withNonce?.message.contains("/par") == true)
            let pushed = try await Self.push(f)
            _ = try await Self.authorize(f, ["client_id": "exchange", "request_uri": pushed.requestURI])
            #expect(f.server.metadata()?["require_pushed_authorization_requests"] == .bool(!extraConfig.isEmpty))
        }
    }

    /// Whether a pushed request comes with a `/setup` nonce is known only at `/authorize`: a client that must use `/setup`
    /// may push, and its pushed request starts the nonce's session, not a new one.
    @Test func aPushedRequestMayComeWithASetupNonce() async throws {
        let f = try await Self.fixture(clientSettings: "ALLOW_AUTHORIZE_WITHOUT_SETUP = no")
        let withoutNonce = try await Self.push(f)
        guard case .redirect(let location)? = await flowError({
            try await Self.authorize(f, ["client_id": "exchange", "request_uri": withoutNonce.requestURI])
        }) else { Issue.record("no error redirect"); return }
        #expect(location.contains("error=unauthorized_client") && location.contains("state=pushed-state"))
        let nonce = try await f.setup()
        let started = try await Self.authorize(f, ["client_id": "exchange", "request_uri": try await Self.push(f).requestURI], nonce: nonce)
        #expect(started.session.nonce == nonce && started.session.state == "pushed-state")
    }

    @Test func metadataNamesPARAndRequestObjects() async throws {
        let f = try await Self.fixture()
        let m = try #require(f.server.metadata())
        #expect(m["pushed_authorization_request_endpoint"] == "https://kych.example.com/par")
        #expect(m["require_pushed_authorization_requests"] == false)
        #expect(m["request_parameter_supported"] == true && m["request_uri_parameter_supported"] == false)
        let algorithms = (m["request_object_signing_alg_values_supported"]?.arrayValue ?? []).compactMap { $0.stringValue }
        #expect(algorithms == ClientSignedJWT.algorithms)
        #expect(algorithms.contains("ES256") && !algorithms.contains("none") && !algorithms.contains { $0.hasPrefix("HS") })
    }

    // MARK: JAR

    @Test func aSignedRequestObjectReplacesTheQueryAtAuthorizeAndAtPAR() async throws {
        let f = try await Self.fixture()
        let object = try Self.requestObject(Self.claims(f))
        let started = try await Self.authorize(f, ["client_id": "exchange", "request": object, "state": "query-state", "scope": "family_name"])
        #expect(started.session.state == "signed-state")
        #expect(await f.verifier.created.map { $0.claims } == [["given_name"]])
        // Pushed: the request object's parameters are what is stored; plain JWT typ and no typ are accepted too.
        for typ in ["JWT", nil] {
            let pushed = try await Self.push(f, ["client_id": "exchange", "request": try Self.requestObject(Self.claims(f, state: "p"), typ: typ)])
            let taken = try await Self.authorize(f, ["client_id": "exchange", "request_uri": pushed.requestURI])
            #expect(taken.session.state == "p")
        }
    }

    @Test func requestObjectsThatAreNotTheClientsAreRefused() async throws {
        let f = try await Self.fixture()
        let good = Self.claims(f)
        func refused(_ object: String) async -> (authorize: String?, par: String?) {
            let page = await Self.refusal { try await Self.authorize(f, ["client_id": "exchange", "request": object]) }
            let json = await Self.refusal { try await Self.push(f, ["client_id": "exchange", "request": object]) }
            #expect(page?.status == 400 && page?.error == "page")
            #expect(json?.status == 400 && json?.error == "invalid_request_object", "\(String(describing: json))")
            return (page?.message, json?.message)
        }
        func changed(_ change: [String: JSON]) -> [String: JSON] { good.merging(change) { $1 } }
        // Another key, under the client's kid and without a kid.
        #expect(await refused(try Self.requestObject(good, key: Self.otherKey)).authorize != nil)
        #expect(await refused(try Self.requestObject(good, key: Self.otherKey, kid: nil)).authorize != nil)
        // alg none, and HS256 keyed with the client's own secret.
        let payload = Base64URL.encode(JSONText.serialize(good))
        #expect(await refused(Base64URL.encode(JSONText.serialize(["alg": "none"])) + "." + payload + ".").par != nil)
        let hs256 = try CompactJWS.sign(payload: JSONText.serialize(good), header: ["alg": "HS256", "typ": "JWT"]) {
            Data(HMAC<SHA256>.authenticationCode(for: $0, using: SymmetricKey(data: Data(FlowFixture.secret.utf8))))
        }
        #expect(await refused(hs256).par != nil)
        #expect(await refused(try Self.requestObject(changed(["client_id": "other"]))).par?.contains("client_id") == true)
        #expect(await refused(try Self.requestObject(good.filter { $0.key != "client_id" })).par?.contains("client_id") == true)
        #expect(await refused(try Self.requestObject(changed(["iss": "other"]))).par?.contains("iss") == true)
        #expect(await refused(try Self.requestObject(changed(["aud": "https://elsewhere.example"]))).par?.contains("aud") == true)
        let past = JSON.integer(Int64(f.clock.now.timeIntervalSince1970) - 1)
        #expect(await refused(try Self.requestObject(changed(["exp": past]))).par?.contains("exp") == true)
        #expect(await refused(try Self.requestObject(changed(["request_uri": "urn:x"]))).par?.contains("request_uri") == true)
        #expect(await refused(try Self.requestObject(changed(["request": "e30.e30."]))).par?.contains("request") == true)
        #expect(await refused(try Self.requestObject(good, typ: "dpop+jwt")).par?.contains("typ") == true)
        #expect(await refused("not a jws").par != nil)
        #expect(await f.verifier.created.isEmpty)
    }

    @Test func aClientWithoutKeysCannotSendRequestObjects() async throws {
        let f = try await FlowFixture(extraConfig: "BASE_URL = \(Self.issuer)\n")
        let object = try Self.requestObject(Self.claims(f))
        let refused = await Self.refusal { try await Self.authorize(f, ["client_id": "exchange", "request": object]) }
        #expect(refused?.status == 400 && refused?.message.contains("request object") == true)
    }

    @Test func aClientThatMustSignIsRefusedWithoutARequestObject() async throws {
        let f = try await Self.fixture(clientSettings: "REQUIRE_SIGNED_REQUEST_OBJECT = yes")
        let plain = await Self.refusal { try await f.authorize(nonce: nil) }
        #expect(plain?.status == 400 && plain?.message.contains("signed request object") == true)
        let pushedPlain = await Self.refusal { try await Self.push(f) }
        #expect(pushedPlain?.error == "invalid_request" && pushedPlain?.message.contains("signed request object") == true)
        // Signed, directly or pushed: accepted.
        _ = try await Self.authorize(f, ["client_id": "exchange", "request": try Self.requestObject(Self.claims(f, state: "a"))])
        let pushed = try await Self.push(f, ["client_id": "exchange", "request": try Self.requestObject(Self.claims(f, state: "b"))])
        #expect(try await Self.authorize(f, ["client_id": "exchange", "request_uri": pushed.requestURI]).session.state == "b")
    }

    /// A client's keys as its JWKS_URI would serve them: the set before a rotation until it is fetched again.
    final class RotatedKeys: ClientKeySource, Sendable {
        let refreshes = Mutex(0)
        let before: [String: JSON], after: [String: JSON]
        init(before: [String: JSON], after: [String: JSON]) {
            self.before = before
            self.after = after
        }
        func keySet(for client: Client, refresh: Bool) async throws -> [String: JSON] {
            refreshes.withLock { if refresh { $0 += 1 } }
            return refreshes.withLock { $0 } == 0 ? before : after
        }
    }

    @Test func theKeySetIsFetchedAgainOnceWhenNoKeyMatched() async throws {
        func set(_ key: P256.Signing.PrivateKey, kid: String) -> [String: JSON] {
            var jwk = P256PublicJWK(key.publicKey).jsonObject
            jwk["kid"] = .string(kid)
            return ["keys": [.object(jwk)]]
        }
        let keys = RotatedKeys(before: set(Self.key, kid: "k1"), after: set(Self.otherKey, kid: "k2"))
        let f = try await Self.fixture(clientKeys: keys)
        _ = try await Self.authorize(f, ["client_id": "exchange", "request": try Self.requestObject(Self.claims(f), key: Self.otherKey, kid: "k2")])
        #expect(keys.refreshes.withLock { $0 } == 1)
        // A kid the set holds whose signature fails is not worth a fetch, and neither is alg none.
        let forged = try Self.requestObject(Self.claims(f), key: Self.key, kid: "k2")
        #expect(await Self.refusal { try await Self.authorize(f, ["client_id": "exchange", "request": forged]) } != nil)
        let unsigned = Base64URL.encode(JSONText.serialize(["alg": "none"])) + "." + Base64URL.encode(JSONText.serialize(Self.claims(f))) + "."
        #expect(await Self.refusal { try await Self.authorize(f, ["client_id": "exchange", "request": unsigned]) } != nil)
        #expect(keys.refreshes.withLock { $0 } == 1)
    }
}
