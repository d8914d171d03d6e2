import AsyncHTTPClient
import Foundation
import KychCore
import KychSDJWT
import KychVerifierModel
import KychWallet
import NIOCore
import NIOFoundationCompat
import NIOHTTP1

/// One OAuth client of the gateway, with its users' browsers and wallets: each step is the request a Taler
/// exchange, a browser or a swiyu wallet sends, checked as they would check it.
struct BenchClient: Sendable {
    let http: HTTPClient
    let gateway: String
    let clientID: String
    let clientSecret: String
    let redirectURI: String
    let wallet: Wallet
    /// The token and resource endpoints: KyCH's `/token` and `/info`, or a peer's (the benchmark's glewlwyd).
    var tokenPath = "/token"
    var infoPath = "/info"

    /// setup → authorize → presentation → status → finalize → token → info.
    func completeFlow() async throws {
        let token = try await token(code: try await flowUntilCode())
        try await info(token: token)
    }

    /// `POST /setup/{client_id}`; returns the session's nonce.
    func setup() async throws -> String {
        let reply = try await send(.POST, "/setup/\(clientID)", headers: [("Authorization", "Bearer \(clientSecret)")])
        return try reply.field("nonce", of: "setup")
    }

    /// The flow up to the code the client's redirect URI receives from `/finalize`.
    func flowUntilCode() async throws -> String {
        let nonce = try await setup()
        let state = UUID().uuidString
        let query = FormURLEncoding.encode([("response_type", "code"), ("client_id", clientID),
                                            ("redirect_uri", redirectURI), ("state", state)])
        let authorize = try await send(.GET, "/authorize/\(nonce)?\(query)", headers: [("Accept", "application/json")])
        let verificationID = try authorize.field("verification_id", of: "authorize")
        let deeplink = try authorize.field("verification_deeplink", of: "authorize")
        guard let binding = authorize.cookie("kych_binding") else { throw BenchError("authorize set no kych_binding cookie") }

        let presented = try await wallet.present(try await PresentationRequest.fetch(deeplink))
        guard presented.accepted else { throw BenchError("the verifier answered the presentation with HTTP \(presented.status)") }

        var status = "pending"
        while status == "pending" || status == "authorized" {
            status = try await send(.GET, "/status/\(verificationID)?state=\(state)&timeout_ms=10000").field("status", of: "status")
        }
        guard status == "verified" else { throw BenchError("the flow ended \(status), not verified") }

        let finalize = try await send(.GET, "/finalize/\(verificationID)?state=\(state)", headers: [("Cookie", "kych_binding=\(binding)")])
        guard finalize.status == 302, let location = finalize.headers.first(name: "Location"),
              let code = URLComponents(string: location)?.queryItems?.first(where: { $0.name == "code" })?.value else {
            throw BenchError("finalize answered HTTP \(finalize.status) without a code")
        }
        return code
    }

    /// `POST /token` (client_secret_post); returns the access token.
    func token(code: String) async throws -> String {
        let form = FormURLEncoding.encode([("grant_type", "authorization_code"), ("code", code), ("redirect_uri", redirectURI),
                                           ("client_id", clientID), ("client_secret", clientSecret)])
        let reply = try await send(.POST, tokenPath, headers: [("Content-Type", "application/x-www-form-urlencoded")], body: form)
        return try reply.field("access_token", of: "token")
    }

    /// `GET /info` (or the peer's userinfo) with the access token: a 200 JSON object.
    func info(token: String) async throws {
        let reply = try await send(.GET, infoPath, headers: [("Authorization", "Bearer \(token)")])
        guard reply.status == 200, (try? JSONText.parseObject(reply.body)) != nil else {
            throw BenchError("info answered HTTP \(reply.status): \(String(decoding: reply.body.prefix(200), as: UTF8.self))")
        }
    }

    private func send(_ method: HTTPMethod, _ path: String, headers: [(String, String)] = [], body: String? = nil) async throws -> Reply {
        var request = HTTPClientRequest(url: gateway + path)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(ByteBuffer(string: body)) }
        let response = try await http.execute(request, timeout: .seconds(30))
        return Reply(status: Int(response.status.code), headers: response.headers,
                     body: Data(buffer: try await response.body.collect(upTo: 1 << 20)))
    }
}

/// A gateway answer.
struct Reply {
    var status: Int
    var headers: HTTPHeaders
    var body: Data

    /// The string `name` of a 200 JSON answer.
    func field(_ name: String, of step: String) throws -> String {
        guard status == 200 else { throw BenchError("\(step) answered HTTP \(status): \(String(decoding: body.prefix(200), as: UTF8.self))") }
        guard let value = (try? JSONText.parseObject(body))?[name]?.stringValue else { throw BenchError("\(step) answered no \(name)") }
        return value
    }

    /// The value of the cookie `name` the answer sets.
    func cookie(_ name: String) -> String? {
        for header in headers["Set-Cookie"] {
            let pair = header.prefix { $0 != ";" }.split(separator: "=", maxSplits: 1)
            if pair.count == 2, pair[0] == name { return String(pair[1]) }
        }
        return nil
    }
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
