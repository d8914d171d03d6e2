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
        router.post(RouterPath(stringLiteral: EndpointPath.pushedAuthorizationRequest), use: pushAuthorizationRequest)
        router.post(RouterPath(stringLiteral: EndpointPath.nonce), use: presentationNonce)
        router.get("/info", use: info)
        router.post(RouterPath(stringLiteral: EndpointPath.revoke), use: revoke)
        router.post(RouterPath(stringLiteral: EndpointPath.introspect), use: introspect)
        router.get(RouterPath(stringLiteral: EndpointPath.authorizationServerMetadata), use: metadata)
        router.get(RouterPath(stringLiteral: EndpointPath.openIDConfiguration), use: openIDConfiguration)
        router.get(RouterPath(stringLiteral: EndpointPath.userInfo), use: userInfo)
        router.post(RouterPath(stringLiteral: EndpointPath.userInfo), use: userInfo)
        router.post(RouterPath(stringLiteral: EndpointPath.credential), use: credential)
        router.get(RouterPath(stringLiteral: EndpointPath.credentialIssuerMetadata), use: credentialIssuerMetadata)
        router.get(RouterPath(stringLiteral: EndpointPath.jwtVCIssuerMetadata), use: jwtVCIssuerMetadata)
        router.get(RouterPath(stringLiteral: EndpointPath.attestationType), use: attestationTypeMetadata)
        router.get(RouterPath(stringLiteral: EndpointPath.credentialOffers + "/:issuer_state"), use: credentialOffer)
        router.get(RouterPath(stringLiteral: EndpointPath.attestationStatusList), use: attestationStatusList)
    }

    @Sendable func setup(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let clientID = try context.parameters.require("client_id")
        let nonce = try await flow.setup(clientID: clientID, authorization: request.headers[.authorization],
                                         sourceAddress: request.sourceAddress(peer: context.peer))
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
        let result = try await flow.authorize(AuthorizationRequest(nonce: context.parameters.get("nonce"), parameters: parameters,
                                                                   sourceAddress: request.sourceAddress(peer: context.peer)))
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
        // A graceful shutdown cancels the wait; the poll then answers with the status it last read.
        let status = try await cancelWhenGracefulShutdown { [flow] in
            try await flow.status(verificationID: id, state: q["state"], timeout: timeout)
        }
        return .json(["status": .string(status.rawValue)])
    }

    @Sendable func finalize(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let id = try context.parameters.require("verification_id")
        let location = try await flow.finalize(verificationID: id, state: try request.formQuery()["state"],
                                               bindingCookie: request.cookies[Self.bindingCookie]?.value)
        return Response(status: .found, headers: [.location: location, .cacheControl: "no-store", .referrerPolicy: "no-referrer"])
    }

    /// The form body of a back-channel request (`/token`, `/par`, `/revoke`, `/introspect`), its `Authorization` header and source.
    func formRequest(_ request: Request, _ context: GatewayRequestContext) async throws -> TokenRequest {
        let body = try await request.body.collect(upTo: 64 * 1024)
        let text = String(buffer: body)
        if let repeated = Self.repeatedParameter(FormURLEncoding.names(text)) {
            throw FlowError.invalidRequest("the parameter \(repeated) appears more than once")
        }
        guard let form = FormURLEncoding.decode(text) else { throw FlowError.invalidRequest("the form body is not valid percent-encoded UTF-8") }
        return TokenRequest(form: form, authorization: request.headers[.authorization], sourceAddress: request.sourceAddress(peer: context.peer),
                            dpop: Self.dpop(request), endpoint: request.uri.path)
    }

    @Sendable func token(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        try await answeringDPoPNonce(request) {
            let response = try await flow.token(try await formRequest(request, context))
            var body: [String: JSON] = ["access_token": .string(response.access_token), "token_type": .string(response.token_type),
                                        "expires_in": .integer(Int64(response.expires_in))]
            body["id_token"] = response.id_token.map(JSON.string)
            body["authorization_details"] = response.authorization_details
            return .json(.object(body))
        }
    }

    /// `POST /par` (RFC 9126): 201 with the `request_uri` for `/authorize`.
    @Sendable func pushAuthorizationRequest(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let pushed = try await flow.pushAuthorizationRequest(try await formRequest(request, context))
        return .json(["request_uri": .string(pushed.requestURI), "expires_in": .integer(Int64(pushed.expiresIn))], status: .created)
    }

    /// `POST /nonce`: a nonce for the key binding of a `vp_token-bearer` presentation (single use, valid on every
    /// instance for ``PresentationNonces/lifetime`` seconds), shaped like OpenID4VCI's nonce endpoint.
    @Sendable func presentationNonce(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let nonce = try await flow.presentationNonces.issue(now: flow.now())
        var response = Response.json(["c_nonce": .string(nonce), "expires_in": .integer(Int64(PresentationNonces.lifetime))])
        response.headers[.cacheControl] = "no-store"
        return response
    }

    /// `POST /revoke` (RFC 7009): 200 with an empty body whether or not the token was live.
    @Sendable func revoke(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        try await answeringDPoPNonce(request) {
            try await flow.tokenManagement.revoke(try await formRequest(request, context))
            return Response(status: .ok, headers: [.cacheControl: "no-store"])
        }
    }

    /// `POST /introspect` (RFC 7662).
    @Sendable func introspect(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        try await answeringDPoPNonce(request) { .json(try await flow.tokenManagement.introspect(try await formRequest(request, context))) }
    }

    static let dpopHeader = HTTPField.Name("DPoP")!
    static let dpopNonceHeader = HTTPField.Name("DPoP-Nonce")!

    /// The request's `DPoP` headers and where it was sent; nil without one.
    static func dpop(_ request: Request) -> DPoPPresentation? {
        let proofs = request.headers[values: dpopHeader]
        return proofs.isEmpty ? nil : DPoPPresentation(proofs: proofs, method: request.method.rawValue, path: request.uri.path)
    }

    /// The answer to a request with a DPoP proof carries a fresh `DPoP-Nonce`, an error too (RFC 9449 §8, §9): what a
    /// client answered `use_dpop_nonce` retries with, and what keeps the proofs of a REQUIRE_DPOP_NONCE client fresh.
    func answeringDPoPNonce(_ request: Request, _ body: () async throws -> Response) async throws -> Response {
        guard request.headers[Self.dpopHeader] != nil else { return try await body() }
        var response: Response
        do {
            response = try await body()
        } catch let error as FlowError {
            response = ErrorMiddleware<GatewayRequestContext>.response(for: error, request: request)
        }
        response.headers[Self.dpopNonceHeader] = try await flow.dpop.nonces.current(now: flow.now())
        return response
    }

    /// The access token and DPoP proof of a request at a resource endpoint.
    static func resourceRequest(_ request: Request) -> ResourceRequest {
        ResourceRequest(authorization: request.headers[.authorization], dpop: dpop(request))
    }

    /// `GET /.well-known/oauth-authorization-server` (RFC 8414).
    @Sendable func metadata(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        try Self.discovery(flow.metadata())
    }

    /// `GET /.well-known/openid-configuration` (OpenID Connect Discovery 1.0).
    @Sendable func openIDConfiguration(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        try Self.discovery(flow.openIDConfiguration())
    }

    static func discovery(_ document: JSON?) throws -> Response {
        guard let document else {
            throw FlowError.oauth(status: 404, error: "not_found", description: "no metadata: set BASE_URL, the public URL that is the issuer identifier")
        }
        var response = Response.json(document)
        response.headers[.cacheControl] = "public, max-age=300"
        return response
    }

    /// `GET`/`POST /userinfo` (OpenID Connect Core §5.3), the access token in the header (Bearer, or DPoP with a proof).
    @Sendable func userInfo(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        try await answeringDPoPNonce(request) { .json(try await flow.userInfo(Self.resourceRequest(request))) }
    }

    @Sendable func info(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        try await answeringDPoPNonce(request) {
            let info = try await flow.info(Self.resourceRequest(request))
            var body: [String: JSON] = [
                "id": .string(info.id), "status": .string(info.status), "claims": .object(info.claims),
                "credential": .object(["vct": info.credential.vct.map(JSON.string) ?? .null,
                                       "issuer": info.credential.issuer.map(JSON.string) ?? .null]),
            ]
            body["verified_at"] = info.verified_at.map(JSON.string) ?? .null
            return .json(.object(body))
        }
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

    /// `POST /credential` (OpenID4VCI 1.0 §8): a JSON credential request with the access token in the header (Bearer, or
    /// DPoP with a proof); the KyCH attestation, never cached.
    @Sendable func credential(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        try await answeringDPoPNonce(request) {
            let body = try await request.body.collect(upTo: 64 * 1024)
            guard let json = try? JSON.parse(Data(buffer: body)) else {
                throw FlowError.oauth(status: 400, error: "invalid_credential_request", description: "the body is not JSON")
            }
            var response = Response.json(try await flow.credential(Self.resourceRequest(request), body: json))
            response.headers[.cacheControl] = "no-store"
            return response
        }
    }

    /// `GET /.well-known/openid-credential-issuer` (OpenID4VCI 1.0 §12.2.2).
    @Sendable func credentialIssuerMetadata(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        try Self.discovery(flow.credentialIssuer?.metadata())
    }

    /// `GET /.well-known/jwt-vc-issuer` (SD-JWT VC §5): the keys that sign KyCH attestations.
    @Sendable func jwtVCIssuerMetadata(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        try Self.discovery(try await flow.credentialIssuer?.jwtVCIssuerMetadata())
    }

    /// `GET /credentials/kyc-attestation`: the attestation's SD-JWT VC type metadata (its `vct` URL).
    @Sendable func attestationTypeMetadata(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        try Self.discovery(flow.credentialIssuer?.typeMetadata())
    }

    /// `GET /credential-offers/{issuer_state}`: a credential offer by reference (its `credential_offer_uri`).
    @Sendable func credentialOffer(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let state = try context.parameters.require("issuer_state")
        guard let offer = try await flow.credentialOffers?.offer(issuerState: state, now: flow.now()) else {
            throw FlowError.oauth(status: 404, error: "not_found", description: "no such credential offer, or it has expired")
        }
        var response = Response.json(offer)
        response.headers[.cacheControl] = "no-store"
        return response
    }

    /// `GET /status-lists/kych-attestations`: the attestations' status list token, cached at most its `ttl`.
    @Sendable func attestationStatusList(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        guard let issuer = flow.credentialIssuer else {
            throw FlowError.oauth(status: 404, error: "not_found", description: "credential issuance is not enabled (set BASE_URL)")
        }
        let token = try await issuer.statusListToken()
        return Response(status: .ok, headers: [.contentType: "application/statuslist+jwt", .cacheControl: "public, max-age=60"],
                        body: .init(byteBuffer: ByteBuffer(string: token)))
    }
}
