import Foundation
import HTTPTypes
import Hummingbird
import KychCore
import KychHTTP
import KychSDJWT
import KychStorage
import KychVerifier
import KychVerifierModel
import Logging
import Metrics
import NIOFoundationCompat

/// The verifier's endpoints: thin adapters from HTTP to ``VerifierService``. Every handler answers
/// its own errors as JSON, so the routes behave the same on their own server and inside the gateway.
package struct VerifierRoutes: Sendable {
    package let service: VerifierService
    /// When set, `/management/**` requires `Authorization: Bearer <token>`.
    package let managementBearerToken: String?
    package let logger: Logger

    static let managementPath = "/management/api/verifications"
    static let walletPath = "/oid4vp/api"
    static let maxManagementBody = 1 << 20
    /// An encrypted presentation of every Beta-ID claim, portrait included, is well under 1 MiB; unauthenticated
    /// bodies beyond what the protocol needs only cost memory.
    static let maxWalletBody = 2 << 20
    static let apiVersionHeader = HTTPField.Name("SWIYU-API-Version")!

    package init(service: VerifierService, managementBearerToken: String?, logger: Logger) {
        self.service = service
        self.managementBearerToken = managementBearerToken
        self.logger = logger
    }

    /// Adds the management API and the wallet endpoints to `router`.
    package func register<Context: RequestContext>(on router: Router<Context>) {
        router.post(RouterPath(stringLiteral: Self.managementPath)) { request, _ in
            await respond(request) {
                try authorize(request)
                let body = try await collect(request, upTo: Self.maxManagementBody)
                return .json(try await service.createVerification(body: body))
            }
        }
        router.get(RouterPath(stringLiteral: Self.managementPath + "/:id")) { request, context in
            await respond(request) {
                try authorize(request)
                return .json(try await service.verificationResult(id: try context.parameters.require("id")))
            }
        }
        router.get(RouterPath(stringLiteral: Self.walletPath + "/openid-client-metadata.json")) { request, _ in
            await respond(request) { .json(service.clientMetadata) }
        }
        router.get(RouterPath(stringLiteral: Self.walletPath + "/request-object/:id")) { request, context in
            await respond(request) {
                let jwt = try await service.requestObject(id: try context.parameters.require("id"))
                return Response(status: .ok, headers: [.contentType: "application/\(RequestObject.type)", .cacheControl: "no-store"],
                                body: .init(byteBuffer: ByteBuffer(string: jwt)))
            }
        }
        router.post(RouterPath(stringLiteral: Self.walletPath + "/request-object/:id/response-data")) { request, context in
            await respond(request) {
                let body = try await collect(request, upTo: Self.maxWalletBody)
                let reply = try await Self.countingPresentation {
                    try await service.receiveWalletResponse(
                        id: try context.parameters.require("id"), body: String(decoding: body, as: UTF8.self),
                        apiVersion: request.headers[Self.apiVersionHeader])
                }
                return .json(reply)
            }
        }
    }

    /// Runs `body`; a ``VerifierAPIError`` becomes its JSON answer, a database that cannot serve now a 503 with
    /// `Retry-After`, anything else a logged 500. Each error body carries the request's id (`request_id`).
    private func respond(_ request: Request, _ body: () async throws -> Response) async -> Response {
        do {
            return try await body()
        } catch let error as VerifierAPIError {
            return Self.error(error.body, status: .init(code: error.status))
        } catch let error as any HTTPResponseError {
            return Self.error(["error_description": .string(error.status.reasonPhrase)], status: error.status)
        } catch where Stores.isUnavailable(error) {
            logger.warning("database unavailable", metadata: ["path": "\(request.uri.path)", "error": "\(Stores.describe(error))"])
            var response = Self.error(["error_description": "The database is unavailable. Please retry later"], status: .serviceUnavailable)
            response.headers[.retryAfter] = Response.retryAfterSeconds
            return response
        } catch {
            logger.error("verifier request failed", metadata: [
                "path": "\(request.uri.path)", "error": "\(String(reflecting: type(of: error)))",
            ])
            return Self.error(["error_description": "Internal Server Error. Please check again later"], status: .internalServerError)
        }
    }

    private static func error(_ body: [String: JSONValue], status: HTTPResponse.Status) -> Response {
        var body = body
        if let id = RequestID.current { body["request_id"] = .string(id) }
        return .json(.object(body), status: status)
    }

    /// Counts a wallet's answer in `kych_verifier_presentations_total`: `accepted` (the verification is finished, verified
    /// or declined by the person), or `refused` with the error code the wallet is told (a fixed vocabulary).
    private static func countingPresentation<T>(_ receive: () async throws -> T) async throws -> T {
        func count(_ result: String, _ code: String) {
            Counter(label: "kych_verifier_presentations_total", dimensions: [("result", result), ("error_code", code)]).increment()
        }
        do {
            let reply = try await receive()
            count("accepted", "none")
            return reply
        } catch let error as VerifierAPIError {
            count("refused", error.body["error_code"]?.stringValue ?? error.body["error"]?.stringValue ?? "http_\(error.status)")
            throw error
        }
    }

    private func authorize(_ request: Request) throws(VerifierAPIError) {
        guard let expected = managementBearerToken else { return }
        guard Secrets.constantTimeEqual(request.bearerCredential ?? "", expected) else {
            throw VerifierAPIError.unauthorized
        }
    }

    /// The request body; a larger one is answered 413 (an `HTTPResponseError`).
    private func collect(_ request: Request, upTo limit: Int) async throws -> Data {
        Data(buffer: try await request.body.collect(upTo: limit))
    }
}
