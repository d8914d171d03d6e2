import Foundation
import HTTPTypes
import Hummingbird
import KychCore
import KychHTTP
import KychOAuth
import Logging
import ServiceLifecycle

/// The KyCH endpoints: thin adapters from HTTP to ``AuthorizationServer``.
struct GatewayRoutes {
    let flow: AuthorizationServer
    let logger: Logger
    /// The verification page offers "Use the demo wallet" (`DEMO_WALLET`).
    var demoWallet = false
    static let bindingCookie = "kych_binding"

    func register(on router: Router<GatewayRequestContext>) {
        router.post("/setup/:client_id", use: setup)
        router.get("/authorize/:nonce", use: authorize)
        router.get("/authorize", use: authorize)
        router.post("/notification", use: notification)
        router.get("/status/:verification_id", use: status)
        router.get("/finalize/:verification_id", use: finalize)
        router.post("/token", use: token)
        router.get("/info", use: info)
    }

    @Sendable func setup(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let clientID = try context.parameters.require("client_id")
        let nonce = try await flow.setup(clientID: clientID, authorization: request.headers[.authorization])
        return .json(["nonce": .string(nonce)])
    }

    @Sendable func authorize(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let query = request.uri.query ?? ""
        if let repeated = Self.repeatedParameter(FormURLEncoding.names(query)) {
            throw FlowError.page(status: 400, kind: .invalidRequest, message: "The parameter \(repeated) appears more than once.")
        }
        guard let parameters = FormURLEncoding.decode(query) else {
            throw FlowError.page(status: 400, kind: .invalidRequest, message: "The query is not valid percent-encoded UTF-8.")
        }
        let result = try await flow.authorize(AuthorizationRequest(nonce: context.parameters.get("nonce"), parameters: parameters))
        var response: Response
        if request.wantsJSON {
            var body: [String: JSON] = [
                "verification_id": .string(result.verification.id),
                "verification_url": .string(result.verification.verificationURL),
                "verification_deeplink": .string(result.verification.deeplink),
            ]
            body["state"] = result.session.state.map(JSON.string) ?? .null
            response = .json(.object(body))
        } else {
            response = Pages.verification(result, request: request, demoWallet: demoWallet)
        }
        if let cookie = result.bindingCookie {
            let maxAge = max(60, Int(result.session.expiresAt.timeIntervalSinceNow) + 600)
            response.headers[values: .setCookie].append(
                "\(Self.bindingCookie)=\(cookie); Path=/finalize/\(result.verification.id.urlEscaped); Max-Age=\(maxAge); Secure; HttpOnly; SameSite=Lax")
        }
        return response
    }

    @Sendable func notification(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let body = try await request.body.collect(upTo: 64 * 1024)
        guard let json = try? JSON.parse(Data(buffer: body)), let id = json["verification_id"]?.stringValue, !id.isEmpty else {
            throw FlowError.oauth(status: 400, error: "invalid_request", description: "expected JSON {\"verification_id\": ..., \"timestamp\": ...}")
        }
        try await flow.notification(verificationID: id) { name in HTTPField.Name(name).flatMap { request.headers[$0] } }
        return Response(status: .noContent)
    }

    @Sendable func status(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let id = try context.parameters.require("verification_id")
        let q = try request.formQuery()
        let timeout = q["timeout_ms"].flatMap { Int($0) }.map { Duration.milliseconds(max(0, $0)) } ?? .zero
        let status = try await flow.status(verificationID: id, state: q["state"], timeout: timeout,
                                           stopWaiting: { Task.isShuttingDownGracefully })
        return .json(["status": .string(status.rawValue)])
    }

    @Sendable func finalize(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let id = try context.parameters.require("verification_id")
        let location = try await flow.finalize(verificationID: id, state: try request.formQuery()["state"],
                                               bindingCookie: request.cookies[Self.bindingCookie]?.value)
        return Response(status: .found, headers: [.location: location, .cacheControl: "no-store", .referrerPolicy: "no-referrer"])
    }

    @Sendable func token(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let body = try await request.body.collect(upTo: 64 * 1024)
        let text = String(buffer: body)
        let names = FormURLEncoding.names(text)
        if let repeated = Self.repeatedParameter(names) {
            throw FlowError.invalidRequest("the parameter \(repeated) appears more than once")
        }
        guard let form = FormURLEncoding.decode(text) else { throw FlowError.invalidRequest("the form body is not valid percent-encoded UTF-8") }
        let response = try await flow.token(TokenRequest(form: form, authorization: request.headers[.authorization]))
        return .json(["access_token": .string(response.access_token), "token_type": .string(response.token_type),
                      "expires_in": .integer(Int64(response.expires_in))])
    }

    @Sendable func info(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let info = try await flow.info(bearerToken: request.bearerCredential)
        var body: [String: JSON] = [
            "id": .string(info.id), "status": .string(info.status), "claims": .object(info.claims),
            "credential": .object(["vct": info.credential.vct.map(JSON.string) ?? .null,
                                   "issuer": info.credential.issuer.map(JSON.string) ?? .null]),
        ]
        body["verified_at"] = info.verified_at.map(JSON.string) ?? .null
        return .json(.object(body))
    }
}

extension Request {
    /// The query's parameters, form-decoded (`+` is a space, RFC 6749 appendix B); a repeated name keeps its first value.
    package func formQuery() throws(FlowError) -> [String: String] {
        guard let parameters = FormURLEncoding.decode(uri.query ?? "") else {
            throw .invalidRequest("the query is not valid percent-encoded UTF-8")
        }
        return parameters
    }
}

extension GatewayRoutes {
    /// RFC 6749 §3.1: a request parameter must not appear twice.
    static func repeatedParameter(_ names: [String]) -> String? {
        var seen = Set<String>()
        return names.first { !seen.insert($0).inserted }
    }
}
