import Foundation
import HTTPTypes
import Hummingbird
import KychCore
import KychOAuth
import Logging

/// The demo client: a tiny web site that uses KyCH as any client would. "Verify my identity" calls
/// `POST /setup/demo` server-side and sends the browser to `/authorize/{nonce}`; the callback checks the
/// `state`, redeems the code at `/token` and reads `/info`, all server-side, then shows the claims
/// (as JSON when asked for `application/json`). Its pages carry a strict CSP, as KyCH's do.
struct DemoSite: Sendable {
    let setup: DemoSetup
    let logger: Logger
    static let stateCookie = "kych_demo_state"

    func application() -> some ApplicationProtocol {
        let router = Router()
        router.get("/") { _, _ in Self.page(title: "Demo service", body: """
            <h1>Demo service</h1>
            <p>This site is a client of KyCH. Before it serves you, it wants to know your name and that you are of age.</p>
            <p><a class="button" id="verify" href="/start">Verify my identity</a></p>
            <p class="hint">KyCH asks your swiyu wallet; in this demo, its page also offers a demo wallet, so no phone is needed.</p>
            """)
        }
        router.get("/start") { _, _ in try await start() }
        router.get("/callback") { request, _ in try await callback(request) }
        return Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: setup.sitePort),
                                                                serverName: "kych-demo-site"), logger: logger)
    }

    /// A new session at KyCH, and the browser sent there with a fresh `state` remembered in a cookie.
    private func start() async throws -> Response {
        let setupReply = try await DemoHTTP.send(setup.gatewayURL + "/setup/\(DemoSetup.clientID)", method: .POST,
                                                 headers: [("Authorization", "Bearer \(setup.clientSecret)")])
        guard let nonce = setupReply.json["nonce"]?.stringValue else {
            return Self.failure("KyCH did not start a session (HTTP \(setupReply.status)).", status: .badGateway)
        }
        let state = Secrets.randomToken(bytes: 16)
        let authorize = RedirectURI.with(setup.gatewayURL + "/authorize/\(nonce.urlEscaped)", [
            ("response_type", "code"), ("client_id", DemoSetup.clientID), ("redirect_uri", setup.redirectURI), ("state", state),
        ])
        return Response(status: .found, headers: [
            .location: authorize, .cacheControl: "no-store",
            .setCookie: "\(Self.stateCookie)=\(state); Path=/; HttpOnly; SameSite=Lax",
        ])
    }

    /// KyCH's redirect back: the claims, or what went wrong.
    private func callback(_ request: Request) async throws -> Response {
        let query = request.uri.queryParameters
        let json = request.headers[.accept]?.contains("application/json") ?? false
        guard let state = query["state"].map(String.init), state == request.cookies[Self.stateCookie]?.value else {
            return reply(json, error: "invalid_state", "This answer does not belong to a verification started in this browser.")
        }
        if let error = query["error"] {
            return reply(json, error: String(error), query["error_description"].map(String.init) ?? "")
        }
        guard let code = query["code"].map(String.init) else { return reply(json, error: "invalid_request", "KyCH sent no code.") }
        let form = [("grant_type", "authorization_code"), ("code", code), ("redirect_uri", setup.redirectURI),
                    ("client_id", DemoSetup.clientID), ("client_secret", setup.clientSecret)]
            .map { "\($0)=\($1.urlEscaped)" }.joined(separator: "&")
        let token = try await DemoHTTP.send(setup.gatewayURL + "/token", method: .POST,
                                            headers: [("Content-Type", "application/x-www-form-urlencoded")], body: form)
        guard let accessToken = token.json["access_token"]?.stringValue else {
            return reply(json, error: token.json["error"]?.stringValue ?? "token_failed", token.json["error_description"]?.stringValue ?? "")
        }
        let info = try await DemoHTTP.send(setup.gatewayURL + "/info", headers: [("Authorization", "Bearer \(accessToken)")])
        guard info.status == 200, let claims = info.json["claims"]?.objectValue else {
            return reply(json, error: "info_failed", "KyCH's /info answered HTTP \(info.status).")
        }
        logger.notice("demo client received the verified claims", metadata: ["count": "\(claims.count)"])
        if json { return Self.json(info.json) }
        let rows = claims.sorted { $0.key < $1.key }.map { name, value in
            "<dt>\(name.htmlEscaped)</dt><dd>\(Self.display(value).htmlEscaped)</dd>"
        }.joined(separator: "\n")
        let issuer = info.json["credential"]?["issuer"]?.stringValue ?? "unknown"
        return Self.page(title: "Identity verified", body: """
            <h1 id="result">Identity verified</h1>
            <p>KyCH sent this site these claims from the credential, checked by the verifier:</p>
            <dl id="claims">
            \(rows)
            </dl>
            <p class="hint">Issuer: <code>\(issuer.htmlEscaped)</code></p>
            <p><a class="button" href="/">Start again</a></p>
            """)
    }

    private func reply(_ json: Bool, error: String, _ description: String) -> Response {
        if json { return Self.json(["error": .string(error), "error_description": .string(description)], status: .badRequest) }
        return Self.failure("\(error): \(description)", status: .badRequest)
    }

    private static func failure(_ message: String, status: HTTPResponse.Status) -> Response {
        page(title: "Verification not completed", status: status, body: """
            <h1 id="result">Verification not completed</h1>
            <p id="error">\(message.htmlEscaped)</p>
            <p><a class="button" href="/">Start again</a></p>
            """)
    }

    /// A claim value as text: strings as they are, booleans as yes/no, anything else as JSON.
    private static func display(_ value: JSON) -> String {
        switch value {
        case .string(let text): text
        case .bool(let flag): flag ? "yes" : "no"
        default: value.serialized()
        }
    }

    private static func json(_ value: JSON, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "application/json", .cacheControl: "no-store"],
                 body: .init(byteBuffer: ByteBuffer(string: value.serialized())))
    }

    private static func page(title: String, status: HTTPResponse.Status = .ok, body: String) -> Response {
        let nonce = Secrets.randomToken(bytes: 16)
        let html = """
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(title.htmlEscaped) – KyCH demo client</title>
            <style nonce="\(nonce)">
            body{margin:0;background:#f6f3ee;color:#1b1f24;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif}
            main{max-width:40rem;margin:2rem auto;background:#fff;border:1px solid #ddd3c4;border-radius:.75rem;padding:1.5rem 1.75rem}
            .brand{max-width:40rem;margin:1rem auto 0;padding:0 .25rem;font-weight:700;color:#7a4b12}
            h1{font-size:1.5rem;margin:0 0 .75rem}
            .button{display:inline-block;padding:.75rem 1.25rem;border-radius:.5rem;background:#7a4b12;color:#fff;font-weight:600;text-decoration:none}
            .button:hover{background:#5c380d}
            .hint{color:#5b6270;font-size:.9375rem}
            dl{display:grid;grid-template-columns:max-content 1fr;gap:.375rem 1rem;margin:1rem 0}
            dt{font-family:ui-monospace,monospace;color:#5b6270}
            dd{margin:0;font-weight:600}
            code{word-break:break-all}
            </style>
            </head>
            <body>
            <div class="brand">Demo service · a KyCH client</div>
            <main>
            \(body)
            </main>
            </body>
            </html>
            """
        return Response(status: status, headers: [
            .contentType: "text/html; charset=utf-8", .cacheControl: "no-store", .xContentTypeOptions: "nosniff",
            .contentSecurityPolicy: "default-src 'none'; style-src 'nonce-\(nonce)'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
        ], body: .init(byteBuffer: ByteBuffer(string: html)))
    }
}
