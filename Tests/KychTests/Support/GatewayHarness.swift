import Foundation
import Hummingbird
import HummingbirdTesting
import KychCore
import KychOAuth
import KychGateway
import KychPostgres
import KychStorage
import KychWallet
import Logging
import Testing

/// A gateway on a fresh database with one registered client (and a second one, `other-client`) and
/// a verifier: the fixture of the flow tests. By default the verifier is the built-in one
/// (`KychVerifierServer`) in-process, on the same database, with a wallet holding a Beta-ID credential
/// from the issuer the clients accept; flows are completed by real presentations. Its webhook points
/// nowhere (the gateway under test has no port): the tests send `/notification` themselves, as the
/// verifier would, or let `/status` poll the verifier. `.faultInjecting` uses `FaultInjectingVerifier`
/// instead, only for what the built-in verifier cannot do (see there).
struct GatewayHarness {
    static let secret = "secret-token:test-secret-0123456789abcdefghij"
    static let redirect = "https://exchange.example.com/kyc-proof/kych"
    static let state = "0123456789ABCDEFGHJKMNPQRSTVWXYZ0123456789ABCDEFGHJKM"   // 52 chars, Taler-like
    /// The fault-injecting verifier's credential subject (the built-in verifier's claims come from the wallet's credential).
    static let claims: [String: JSON] = [
        "given_name": "Helvetia", "family_name": "National", "birth_date": "1848-09-12", "age_over_18": "true",
        "portrait": "iVBORw0KGgo", "personal_administrative_number": "756.3658.1881.91",
    ]
    /// The issuer the fault-injecting verifier reports, and its clients accept.
    static let standInIssuer = "did:tdw:trusted"

    enum VerifierKind {
        /// The built-in verifier; `settings` are extra `[kych-verifier]` lines (e.g. `MANAGEMENT_BEARER_TOKEN`).
        case builtIn(settings: String = "")
        /// The scripted stand-in, with its wire shape.
        case faultInjecting(shape: FaultInjectingVerifier.Shape = .v4)
    }

    let db: TestDatabase
    let config: GatewayConfig
    let builtInVerifier: BuiltInVerifier?
    let faultInjectingVerifier: FaultInjectingVerifier?

    /// The built-in verifier (only with `.builtIn`).
    var builtIn: BuiltInVerifier {
        guard let builtInVerifier else { preconditionFailure("this harness runs the fault-injecting verifier") }
        return builtInVerifier
    }

    /// The person's wallet (only with `.builtIn`): holds the Beta-ID credential `betaid`.
    var wallet: Wallet { builtIn.wallet }

    /// The scripted verifier (only with `.faultInjecting`).
    var standIn: FaultInjectingVerifier {
        guard let faultInjectingVerifier else { preconditionFailure("this harness runs the built-in verifier") }
        return faultInjectingVerifier
    }

    /// The issuer DID the clients accept (`%ISSUER%` in `extraClients`).
    let acceptedIssuer: String

    /// `clientSettings` adds lines to the `[client_test]` section (e.g. `FAILURE_ERROR = unauthorized_client`);
    /// `extraClients` adds sections, with `%VERIFIER%` standing for the verifier's URL and `%ISSUER%` for
    /// the accepted issuer's DID. With `backend: .sqlite` the gateway's store is SQLite; the built-in
    /// verifier keeps its PostgreSQL database.
    static func make(verifier kind: VerifierKind = .builtIn(), clientSettings: String = "", mainSettings: String = "",
                     extraClients: String = "", backend: Backend = .postgres) async throws -> GatewayHarness {
        var builtIn: BuiltInVerifier?
        var standIn: FaultInjectingVerifier?
        let db: TestDatabase
        let verifierURL: String, issuer: String
        switch kind {
        case .builtIn(let settings):
            db = try await TestDatabase.createWithVerifier()
            let verifier = try await BuiltInVerifier.start(database: db.connectionString, webhook: nil, settings: settings)
            try verifier.wallet.issue(name: "betaid")
            builtIn = verifier
            verifierURL = verifier.baseURL
            issuer = try verifier.wallet.issuerDID()
        case .faultInjecting(let shape):
            db = try await TestDatabase.create()
            let verifier = FaultInjectingVerifier(shape: shape)
            try await verifier.start()
            standIn = verifier
            verifierURL = verifier.baseURL
            issuer = standInIssuer
        }
        let database = backend == .postgres ? db.connectionString : try await backend.freshDatabase()
        let text = """
            [kych-oauth2-gateway]
            HOST = 127.0.0.1
            PORT = \(TestPorts.next())
            DATABASE = \(database)
            VC_CLAIMS = {given_name, family_name, birth_date, age_over_18, portrait, personal_administrative_number}
            \(mainSettings)
            [client_test]
            CLIENT_ID = test-client
            CLIENT_SECRET = \(secret)
            VERIFIER_URL = \(verifierURL)
            REDIRECT_URI = \(redirect)
            ACCEPTED_ISSUER_DIDS = {\(issuer)}
            DEFAULT_SCOPE = {given_name, family_name, birth_date, age_over_18}
            \(clientSettings)
            [client_other]
            CLIENT_ID = other-client
            CLIENT_SECRET = secret-token:other-client-0123456789abcdefghij
            VERIFIER_URL = \(verifierURL)
            REDIRECT_URI = https://other.example.com/cb
            \(extraClients.replacingOccurrences(of: "%VERIFIER%", with: verifierURL).replacingOccurrences(of: "%ISSUER%", with: issuer))
            """
        let config = try GatewayConfig.validate(try IniFile.parse(text, path: "test.conf", environment: [:]))
        _ = try await Stores.with(database, sealing: config.sealing, logger: TestEnvironment.logger) { stores in
            try await stores.clients.syncClients(config.clients.map { Client(config: $0) }, prune: false)
        }
        return GatewayHarness(db: db, config: config, builtInVerifier: builtIn, faultInjectingVerifier: standIn, acceptedIssuer: issuer)
    }

    /// Runs `body` against the in-process gateway, then stops the verifier (also when `body` throws).
    func run(_ body: @Sendable (FlowClient) async throws -> Void) async throws {
        try await whileVerifierRuns {
            let app = try await buildApplication(config, logger: TestEnvironment.logger)
            try await app.test(.router) { client in try await body(FlowClient(client: client, harness: self)) }
        }
    }

    /// Runs `body`, then stops the verifier, also when `body` throws (for tests that start gateway processes).
    func whileVerifierRuns<T>(_ body: () async throws -> T) async throws -> T {
        let result: T
        do {
            result = try await body()
        } catch {
            await stopVerifier()
            throw error
        }
        await stopVerifier()
        return result
    }

    func stopVerifier() async {
        faultInjectingVerifier?.stop()
        await builtInVerifier?.stop()
    }

    /// Rows of the built-in verifier's verifications (one per verification the gateway created).
    func verifierRows(_ column: String = "verification_id") async throws -> [String] {
        try await db.strings("SELECT \(column) FROM verifier.verifications ORDER BY verification_serial")
    }
}

/// Drives the flow's HTTP requests as a client, a browser and a verifier would send them.
struct FlowClient {
    let client: any TestClientProtocol
    let harness: GatewayHarness

    struct Started {
        var verificationID: String
        var cookie: String
        /// The `verification_deeplink` the wallet opens.
        var deeplink: String
    }

    @discardableResult
    func request(_ uri: String, _ method: HTTPRequest.Method = .get, headers: HTTPFields = [:], body: String? = nil) async throws -> TestResponse {
        try await client.execute(uri: uri, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) })
    }

    func setup(client id: String = "test-client", secret: String = GatewayHarness.secret) async throws -> TestResponse {
        try await request("/setup/\(id)", .post, headers: [.authorization: "Bearer \(secret)",
                                                           .contentType: "application/x-www-form-urlencoded"], body: "")
    }

    func nonce() async throws -> String {
        let response = try await setup()
        #expect(response.status == .ok)
        return try #require(response.json["nonce"]?.stringValue)
    }

    func authorizeURI(_ nonce: String?, scope: String? = nil, redirect: String = GatewayHarness.redirect,
                      responseType: String = "code", clientID: String = "test-client") -> String {
        var uri = "/authorize" + (nonce.map { "/\($0)" } ?? "")
        uri += "?response_type=\(responseType)&client_id=\(clientID)&redirect_uri=\(redirect.urlEscaped)&state=\(GatewayHarness.state)"
        if let scope { uri += "&scope=\(scope.urlEscaped)" }
        return uri
    }

    /// setup + authorize (JSON): the verification id and the browser-binding cookie. `extra` is appended to the query.
    func start(scope: String? = nil, extra: String = "") async throws -> Started {
        try await start(uri: authorizeURI(try await nonce(), scope: scope) + extra)
    }

    /// The authorization request `uri` (JSON): the verification id, the browser-binding cookie and the deeplink.
    func start(uri: String) async throws -> Started {
        let response = try await request(uri, headers: [.accept: "application/json"])
        #expect(response.status == .ok, "\(response.text)")
        let id = try #require(response.json["verification_id"]?.stringValue)
        #expect(response.json["state"]?.stringValue == GatewayHarness.state)
        let setCookie = try #require(response.headers[.setCookie])
        #expect(setCookie.contains("HttpOnly") && setCookie.contains("Secure") && setCookie.contains("SameSite=Lax"))
        let cookie = String(setCookie.split(separator: ";")[0])
        let deeplink = try #require(response.json["verification_deeplink"]?.stringValue)
        return Started(verificationID: id, cookie: cookie, deeplink: deeplink)
    }

    func notify(_ id: String, headers: HTTPFields = [:]) async throws -> TestResponse {
        var h = headers
        h[.contentType] = "application/json"
        return try await request("/notification", .post, headers: h,
                                 body: #"{"verification_id":"\#(id)","timestamp":"2026-08-21T11:35:46.123456Z"}"#)
    }

    func status(_ id: String, timeoutMS: Int = 0) async throws -> String? {
        try await request("/status/\(id)?state=\(GatewayHarness.state)&timeout_ms=\(timeoutMS)").json["status"]?.stringValue
    }

    /// /finalize with the cookie: the query items of the redirect, or nil if no redirect.
    func finalize(_ started: Started) async throws -> [String: String]? {
        let response = try await request("/finalize/\(started.verificationID)?state=\(GatewayHarness.state)",
                                          headers: [.cookie: started.cookie])
        guard response.status == .found, let location = response.headers[.location] else { return nil }
        #expect(location.hasPrefix(GatewayHarness.redirect + "?"))
        return URLComponents(string: location)?.queryItems?.reduce(into: [:]) { $0[$1.name] = $1.value }
    }

    /// The token request exactly as the Taler exchange sends it.
    func token(code: String, clientID: String = "test-client", secret: String = GatewayHarness.secret,
               redirect: String = GatewayHarness.redirect) async throws -> TestResponse {
        let body = "client_id=\(clientID)&redirect_uri=\(redirect.urlEscaped)&state=\(GatewayHarness.state)"
            + "&client_secret=\(secret.urlEscaped)&code=\(code.urlEscaped)&grant_type=authorization_code"
        return try await request("/token", .post, headers: [.contentType: "application/x-www-form-urlencoded"], body: body)
    }

    func info(_ token: String) async throws -> TestResponse {
        try await request("/info", headers: [.authorization: "Bearer \(token)"])
    }

    /// The person's wallet presents its Beta-ID credential for `started` (built-in verifier); the
    /// verifier must accept it.
    func present(_ started: Started, credential: String? = nil) async throws {
        let reply = try await harness.wallet.answer(started.deeplink, credential: credential)
        #expect(reply.status == 200, "\(reply.body)")
        try await expectVerifierState(started, "SUCCESS")
    }

    /// The state of the verification in the built-in verifier's store (`SUCCESS`, `FAILED`, `PENDING`
    /// as its management API names them), read from the shared database so that a management bearer
    /// token does not matter.
    func expectVerifierState(_ started: Started, _ state: String, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let stored = try await harness.db.strings(
            "SELECT status FROM verifier.verifications WHERE verification_id = '\(started.verificationID)'")
        #expect(stored == [state.lowercased()], sourceLocation: sourceLocation)
    }

    /// The whole happy path after `start`: the wallet presents (or, with the fault-injecting verifier,
    /// the verifier is told it succeeded), webhook or /status polling, finalize, token, info.
    func complete(_ started: Started, webhook: Bool = true) async throws -> JSON {
        if harness.builtInVerifier != nil {
            try await present(started)
        } else {
            harness.standIn.succeed(started.verificationID, claims: GatewayHarness.claims)
        }
        if webhook {
            #expect(try await notify(started.verificationID).status == .noContent)
            #expect(try await status(started.verificationID) == "verified")
        } else {
            #expect(try await status(started.verificationID, timeoutMS: 10_000) == "verified")
        }
        let redirect = try #require(try await finalize(started))
        #expect(redirect["state"] == GatewayHarness.state)
        let code = try #require(redirect["code"])
        let token = try await token(code: code)
        #expect(token.status == .ok, "\(token.text)")
        #expect(token.headers[.cacheControl] == "no-store")
        #expect(token.json["token_type"] == "Bearer" && token.json["expires_in"] == .integer(3600))
        let accessToken = try #require(token.json["access_token"]?.stringValue)
        let info = try await info(accessToken)
        #expect(info.status == .ok && info.headers[.contentType] == "application/json")
        return info.json
    }

    /// A verified session's authorization code: the wallet presents, the webhook arrives, /finalize redirects.
    func verifiedCode() async throws -> String {
        let started = try await start()
        try await present(started)
        #expect(try await notify(started.verificationID).status == .noContent)
        return try #require(try await finalize(started)?["code"])
    }
}

extension TestResponse {
    var text: String { String(buffer: body) }
    var json: JSON { (try? JSON.parse(Data(text.utf8))) ?? .null }

    /// An OAuth JSON error with both fields, as the Taler exchange requires.
    func expectOAuthError(_ code: String, status expected: HTTPResponse.Status, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(status == expected, "\(text)", sourceLocation: sourceLocation)
        #expect(headers[.contentType] == "application/json", sourceLocation: sourceLocation)
        #expect(json["error"]?.stringValue == code, "\(text)", sourceLocation: sourceLocation)
        #expect(json["error_description"]?.stringValue?.isEmpty == false, sourceLocation: sourceLocation)
    }
}
