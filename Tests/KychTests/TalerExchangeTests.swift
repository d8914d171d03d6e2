import Foundation
import Hummingbird
import HummingbirdTesting
import KychCore
import KychOAuth
import KychSDJWT
import KychVerifier
import KychVerifierModel
import KychWallet
import Testing

/// Replays the GNU Taler exchange's OAuth2 KYC plugin byte for byte (shared/docs/taler-exchange-client.md)
/// and judges every answer by the exchange's own acceptance rules.
struct TalerExchange {
    /// `KYC_OAUTH2_AUTHORIZE_URL` etc.; KyCH is served at `https://kych.example.com`.
    var authorizeURL: String
    var clientID = "taler-exchange"
    var clientSecret = "secret-token:taler-exchange-secret"
    var redirectURI = "https://exchange.example.com/kyc-proof/kych"
    /// The exchange's state: Crockford base32 of a 32-byte hash, 52 characters, the same for every attempt of an account.
    var state = "5ZKQ4C3QW0N5QHF7D2GGS4VB3T0R8CNMQ5VCXA1B2K9W7YJ0H3EG"
    static let host = "https://kych.example.com"

    /// The plugin's #setup rule: cut the URL before its last '/', append /setup/{client_id}.
    var setupURL: String? {
        guard let hash = authorizeURL.firstIndex(of: "#") else { return nil }
        precondition(authorizeURL[hash...].lowercased() == "#setup")
        let base = authorizeURL[..<hash]
        return String(base[..<base.lastIndex(of: "/")!]) + "/setup/" + clientID
    }

    var authorizeBase: String { String(authorizeURL.split(separator: "#", maxSplits: 1)[0]) }

    /// The browser URL the exchange hands out: nonce appended after '/', parameters in this order, client_id raw.
    func browserURL(nonce: String?) -> String {
        authorizeBase + (nonce.map { "/" + $0 } ?? "")
            + "?response_type=code&client_id=\(clientID)&redirect_uri=\(redirectURI.urlEscaped)&state=\(state)"
    }

    /// The token request body, fields in the plugin's order, escaped as libcurl does; state raw.
    func tokenBody(code: String) -> String {
        "client_id=\(clientID.urlEscaped)&redirect_uri=\(redirectURI.urlEscaped)&state=\(state)"
            + "&client_secret=\(clientSecret.urlEscaped)&code=\(code.urlEscaped)&grant_type=authorization_code"
    }

    static func path(_ url: String) -> String {
        precondition(url.hasPrefix(host))
        return String(url.dropFirst(host.count))
    }

    /// GNUnet's curl helper parses a body only under exactly this content type.
    static func acceptsJSON(_ response: TestResponse) -> Bool {
        guard let type = response.headers[.contentType]?.lowercased() else { return false }
        return type == "application/json" || type.hasPrefix("application/json;") || type.hasPrefix("application/json ")
    }

    /// `handle_curl_login_finished`: 200, JSON, access_token without space/;/CR/LF, token_type bearer, integer expires_in.
    static func acceptsTokenResponse(_ response: TestResponse) -> Bool {
        guard response.status == .ok, acceptsJSON(response),
              let token = response.json["access_token"]?.stringValue, !token.isEmpty,
              !token.contains(where: { " ;\r\n".contains($0) }),
              response.json["token_type"]?.stringValue?.lowercased() == "bearer" else { return false }
        let raw = String(buffer: response.body)
        return raw.range(of: #""expires_in":[0-9]+[,}]"#, options: .regularExpression) != nil
    }

    /// A refusal the exchange records as a failure: JSON with string error and error_description.
    static func acceptsErrorBody(_ response: TestResponse) -> Bool {
        acceptsJSON(response) && response.json["error"]?.stringValue != nil && response.json["error_description"]?.stringValue != nil
    }
}


@Suite struct TalerExchangeTests {
    static let clientSection = """
        [client_taler]
        CLIENT_ID = taler-exchange
        CLIENT_SECRET = secret-token:taler-exchange-secret
        VERIFIER_URL = %VERIFIER%
        REDIRECT_URI = https://exchange.example.com/kyc-proof/kych
        ACCEPTED_ISSUER_DIDS = {%ISSUER%}
        DEFAULT_SCOPE = {given_name, family_name, birth_date}
        FAILURE_ERROR = unauthorized_client
        """

    private func harness(verifier: GatewayHarness.VerifierKind = .builtIn()) async throws -> GatewayHarness {
        try await GatewayHarness.make(verifier: verifier, extraClients: Self.clientSection)
    }

    /// The wallet presents the credential `credential` from the verification page's "Open in swiyu wallet" link.
    private static func present(_ credential: String? = nil, expect status: Int = 200) -> Outcome {
        { flow, _, deeplink in
            let reply = try await flow.harness.wallet.answer(deeplink, credential: credential)
            #expect(reply.status == status, "\(reply.body)")
        }
    }

    /// What happens at the verifier between the page and /finalize: given the flow, the verification id
    /// and the deeplink the page offers.
    typealias Outcome = @Sendable (FlowClient, String, String) async throws -> Void

    /// Drives one KYC attempt as exchange + browser; returns the redirect's query as the exchange's /kyc-proof sees it.
    private func attempt(_ exchange: TalerExchange, _ flow: FlowClient, outcome: Outcome) async throws -> [String: String] {
        var nonce: String?
        if let setupURL = exchange.setupURL {
            let setup = try await flow.request(TalerExchange.path(setupURL), .post, headers: [
                .authorization: "Bearer \(exchange.clientSecret)", .contentType: "application/x-www-form-urlencoded",
            ], body: "")
            #expect(setup.status == .ok && TalerExchange.acceptsJSON(setup))
            nonce = try #require(setup.json["nonce"]?.stringValue)
            #expect(nonce!.allSatisfy { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" } && nonce!.count >= 43)
        }
        // The browser opens the URL and gets the page with the binding cookie.
        let page = try await flow.request(TalerExchange.path(exchange.browserURL(nonce: nonce)), headers: [.accept: "text/html"])
        #expect(page.status == .ok, "\(page.text)")
        let cookie = String(try #require(page.headers[.setCookie]).split(separator: ";")[0])
        // The verification id in the page's status URL, and the same-device link a wallet opens.
        let id = try #require(page.text.captures(#"data-status-url="/status/([^?"]+)\?"#).first)
        let deeplink = try #require(page.text.captures(#"id="open-wallet" href="([^"]+)""#).first?.htmlUnescaped)
        #expect(deeplink.hasPrefix("swiyu-verify://?client_id=") && deeplink.contains(id))
        try await outcome(flow, id, deeplink)
        #expect(try await flow.notify(id).status == .noContent)
        let finalize = try await flow.request("/finalize/\(id)?state=\(exchange.state)", headers: [.cookie: cookie])
        #expect(finalize.status == .found)
        let location = try #require(finalize.headers[.location])
        #expect(location.hasPrefix(exchange.redirectURI + "?"))
        #expect(location.contains("&state=\(exchange.state)&"))          // byte for byte; RFC 9207 iss follows (the exchange ignores it)
        return try #require(URLComponents(string: location)?.queryItems).reduce(into: [:]) { $0[$1.name] = $1.value }
    }

    /// Steps 4-6: token, info, converter — as the exchange does them after /kyc-proof.
    private func proof(_ exchange: TalerExchange, _ flow: FlowClient, code: String) async throws -> JSON {
        let token = try await flow.request("/token", .post, headers: [.contentType: "application/x-www-form-urlencoded"],
                                           body: exchange.tokenBody(code: code))
        #expect(TalerExchange.acceptsTokenResponse(token), "\(token.text)")
        let accessToken = try #require(token.json["access_token"]?.stringValue)
        let info = try await flow.request("/info", headers: [.authorization: "Bearer \(accessToken)"])
        #expect(info.status == .ok && TalerExchange.acceptsJSON(info))
        let converted = try await Converter.run(String(buffer: info.body))
        #expect(converted.status == 0, "\(converted.stderr)")
        return try JSON.parse(Data(converted.stdout.utf8))
    }

    @Test func setupConfigurationCompleteFlow() async throws {
        let harness = try await harness()
        let exchange = TalerExchange(authorizeURL: "https://kych.example.com/authorize#setup")
        #expect(exchange.setupURL == "https://kych.example.com/setup/taler-exchange")
        try await harness.run { flow in
            let query = try await attempt(exchange, flow, outcome: Self.present())
            #expect(query["error"] == nil)
            let stored = try JSON.parse(Data(try #require(try await harness.verifierRows("dcql_query::text").last).utf8))
            #expect(stored["credentials"]?.arrayValue?.first?["claims"]
                    == [["path": ["given_name"]], ["path": ["family_name"]], ["path": ["birth_date"]]])   // DEFAULT_SCOPE, no scope sent
            let attributes = try await proof(exchange, flow, code: try #require(query["code"]))
            // The wallet's Beta-ID credential (KychWallet's sample): Helvetia National, born 1848-09-12.
            #expect(attributes["full_name"] == "Helvetia National" && attributes["birthdate"] == "1848-09-12")
            #expect(attributes["id"]?.stringValue?.isEmpty == false)
        }
    }

    @Test func literalManualConfigurationWithoutSetup() async throws {
        let harness = try await harness()
        let exchange = TalerExchange(authorizeURL: "https://kych.example.com/authorize")
        #expect(exchange.setupURL == nil)
        try await harness.run { flow in
            let query = try await attempt(exchange, flow, outcome: Self.present())
            let attributes = try await proof(exchange, flow, code: try #require(query["code"]))
            #expect(attributes["full_name"] == "Helvetia National")
        }
    }

    @Test func failuresReachTheExchangeInTheFormItActsOn() async throws {
        let harness = try await harness()
        let statusServer = try await LoopbackServer()
        defer { statusServer.stop() }
        try harness.wallet.issueWithStatus(index: 1, name: "revoked", statusServer: statusServer)
        // A status list the issuer names but nobody serves: the verifier cannot check it.
        var unlisted = Wallet.Issuance()
        unlisted.status = StatusReference(uri: statusServer.baseURL + "/status/missing.jwt", index: 1)
        try harness.wallet.issue(unlisted, name: "unlisted")
        let exchange = TalerExchange(authorizeURL: "https://kych.example.com/authorize#setup")
        try await harness.run { flow in
            // A declined wallet and a revoked credential: unauthorized_client (the client's FAILURE_ERROR).
            let declined: Outcome = { flow, _, deeplink in
                let reply = try await flow.harness.wallet.answer(deeplink, decline: true)
                #expect(reply.status == 200)
            }
            for (outcome, code) in [(declined, "access_denied"), (Self.present("revoked", expect: 400), "credential_revoked")] {
                let query = try await attempt(exchange, flow, outcome: outcome)
                #expect(query["error"] == "unauthorized_client" && query["code"] == nil)
                #expect(query["error_description"]?.contains(code) == true && query["state"] == exchange.state, "\(query)")
            }
            // A verifier-side fault (a registry outage): server_error.
            let query = try await attempt(exchange, flow, outcome: Self.present("unlisted", expect: 400))
            #expect(query["error"] == "server_error" && query["state"] == exchange.state, "\(query)")
            #expect(try await harness.db.strings("SELECT failure_code FROM oauth2gw.verification_sessions ORDER BY session_serial")
                    == ["access_denied", "credential_revoked", "unresolvable_status_list"])
            // The same state served every attempt: it is never treated as unique.
            #expect(try await harness.db.strings("SELECT count(DISTINCT session_serial)::text FROM oauth2gw.verification_sessions WHERE state = '\(exchange.state)'") == ["3"])
        }
    }

    /// A FAILED result without an error code, which no wallet answer makes the built-in verifier
    /// report: the fault-injecting stand-in. The exchange gets server_error.
    @Test func aFailureWithoutErrorCodeIsAServerError() async throws {
        let harness = try await harness(verifier: .faultInjecting())
        let exchange = TalerExchange(authorizeURL: "https://kych.example.com/authorize#setup")
        try await harness.run { flow in
            for _ in 0..<2 {
                let query = try await attempt(exchange, flow) { flow, id, _ in flow.harness.standIn.fail(id, code: nil) }
                #expect(query["error"] == "server_error" && query["code"] == nil && query["state"] == exchange.state)
                #expect(query["error_description"]?.isEmpty == false)
            }
            #expect(try await harness.db.strings("SELECT count(DISTINCT session_serial)::text FROM oauth2gw.verification_sessions WHERE state = '\(exchange.state)'") == ["2"])
        }
    }

    @Test func setupIgnoresTheBodyAndErrorsAreWellFormed() async throws {
        let harness = try await harness()
        let exchange = TalerExchange(authorizeURL: "https://kych.example.com/authorize#setup")
        try await harness.run { flow in
            // Challenger's deflated JSON body arrives labelled as a form: ignored.
            let deflated = String(decoding: [0x78, 0x9c, 0xab, 0x56, 0xca, 0xff, 0x00] as [UInt8], as: UTF8.self)
            let setup = try await flow.request("/setup/taler-exchange", .post, headers: [
                .authorization: "Bearer \(exchange.clientSecret)", .contentType: "application/x-www-form-urlencoded",
            ], body: deflated)
            #expect(setup.status == .ok && setup.json["nonce"]?.stringValue != nil)
            let wrong = try await flow.request("/setup/taler-exchange", .post, headers: [.authorization: "Bearer nope"], body: "")
            #expect(wrong.status == .unauthorized && TalerExchange.acceptsErrorBody(wrong))
            let token = try await flow.request("/token", .post, headers: [.contentType: "application/x-www-form-urlencoded"],
                                               body: exchange.tokenBody(code: "unknown"))
            #expect(token.status == .badRequest && TalerExchange.acceptsErrorBody(token))
            let info = try await flow.request("/info", headers: [.authorization: "Bearer unknown"])
            #expect(info.status == .unauthorized && TalerExchange.acceptsErrorBody(info))
        }
    }
}

/// Runs contrib/taler-exchange-kyc-kych-converter.sh as the exchange does: JSON on stdin, no arguments.
enum Converter {
    static let path = TestEnvironment.packageRoot.appendingPathComponent("contrib/taler-exchange-kyc-kych-converter.sh").path
    static func run(_ input: String) async throws -> ProcessResult { try await Run.program(path, [], stdin: input) }
}

@Suite struct ConverterTests {
    @Test func mapsBetaIDClaimsToTalerAttributes() async throws {
        let result = try await Converter.run(#"{"id":"4f1c","status":"success","claims":{"given_name":"Helvetia","family_name":"National","birth_date":"1848-09-12","nationality":"CH","age_over_18":true},"credential":{"vct":"betaid-sdjwt","issuer":"did:x"},"verified_at":"2026-01-01T00:00:00Z"}"#)
        #expect(result.status == 0)
        #expect(try JSON.parse(Data(result.stdout.utf8)) == ["id": "4f1c", "full_name": "Helvetia National", "birthdate": "1848-09-12", "nationalities": "CH"])
        let year = try await Converter.run(#"{"id":"x","status":"success","claims":{"age_birth_year":1848}}"#)
        #expect(try JSON.parse(Data(year.stdout.utf8)) == ["id": "x", "birthdate": "1848-00-00"])
    }

    @Test func refusesWhatItCannotMap() async throws {
        for (input, message) in [("not json", "cannot convert"), (#"{"status":"success","claims":{}}"#, "no string field id"),
                                 (#"{"id":"x","status":"failed"}"#, "did not succeed"),
                                 (#"{"id":"x","status":"success","claims":{"birth_date":"12.09.1848"}}"#, "birth_date is not YYYY-MM-DD"),
                                 ("[1,2]", "not a JSON object")] {
            let result = try await Converter.run(input)
            #expect(result.status != 0 && result.stdout.isEmpty, "\(input)")
            #expect(result.stderr.contains(message), "\(input): \(result.stderr)")
        }
    }
}
