import Foundation
import Hummingbird
import KychCore
import KychHTTP
import KychOAuth
import KychStorage
import Logging

/// Turns every error into a response in one place: OAuth JSON errors, error pages, redirects.
/// Nothing unexpected leaks: an unknown error is a JSON `server_error` and one log line. A database that cannot serve
/// now (down, restarting, out of connections) is a 503 with `Retry-After`, a page for the person's browser routes.
struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as FlowError {
            return Self.response(for: error, request: request)
        } catch let error as any HTTPResponseError {
            let status = error.status
            let code = status == .notFound ? "not_found" : status.code == 405 ? "method_not_allowed" : "invalid_request"
            let description = status == .notFound ? "no such endpoint" : status.reasonPhrase
            return Self.json(status: status, ["error": code, "error_description": description])
        } catch where Stores.isUnavailable(error) {
            logger.warning("database unavailable", metadata: ["path": "\(request.uri.path)", "error": "\(Stores.describe(error))"])
            return Self.databaseUnavailable(request: request)
        } catch {
            logger.error("request failed", metadata: ["path": "\(request.uri.path)", "error": "\(String(reflecting: type(of: error)))"])
            return Self.json(status: .internalServerError, ["error": "server_error", "error_description": "internal error; please retry later"])
        }
    }

    static func response(for error: FlowError, request: Request) -> Response {
        switch error {
        case .oauth(let status, let code, let description, let challenge):
            var response = json(status: .init(code: status), ["error": code, "error_description": description])
            if let challenge { response.headers[.wwwAuthenticate] = challenge }
            return response
        case .page(let status, let kind, let message):
            if request.wantsJSON {
                return json(status: .init(code: status), ["error": Self.oauthCode(status), "error_description": message])
            }
            return Pages.error(status: .init(code: status), kind: kind, message: message, request: request)
        case .retryLater(let status, let kind, let seconds, let message):
            var answer = if let kind {
                response(for: .page(status: status, kind: kind, message: message), request: request)
            } else {
                json(status: .init(code: status), ["error": "temporarily_unavailable", "error_description": message])
            }
            answer.headers[.retryAfter] = String(seconds)
            return answer
        case .redirect(let location):
            // The error redirect's URL carries the client's state: no Referer leaks it further.
            return Response(status: .found, headers: [.location: location, .cacheControl: "no-store", .referrerPolicy: "no-referrer"])
        }
    }

    /// 503 with `Retry-After`: the error page for the routes a person's browser opens (`GET /authorize…`,
    /// `/finalize…`, `/`) unless JSON was asked for, else `temporarily_unavailable` (RFC 6749 §4.1.2.1).
    static func databaseUnavailable(request: Request) -> Response {
        let path = request.uri.path
        let browserRoute = request.method == .get && (path == "/" || path.hasPrefix("/authorize") || path.hasPrefix("/finalize"))
        let description = "the service cannot reach its database right now; retry later"
        var response = browserRoute && !request.wantsJSON
            ? Pages.error(status: .serviceUnavailable, kind: PageError(status: 503), message: description, request: request)
            : json(status: .serviceUnavailable, ["error": "temporarily_unavailable", "error_description": description])
        response.headers[.retryAfter] = Response.retryAfterSeconds
        return response
    }

    static func oauthCode(_ status: Int) -> String {
        switch status {
        case 429, 502, 503: "temporarily_unavailable"
        case 500...: "server_error"
        case 404: "not_found"
        case 410: "expired"
        default: "invalid_request"
        }
    }

    /// A JSON error: `error` and `error_description`, and the request's id (`request_id`, an extra member RFC 6749 §5.2
    /// allows) for the operator to find its log lines.
    static func json(status: HTTPResponse.Status, _ body: [String: String]) -> Response {
        var body = body
        if let id = RequestID.current { body["request_id"] = id }
        let text = JSON.object(body.mapValues(JSON.string)).serialized()
        return Response(status: status, headers: [.contentType: "application/json", .cacheControl: "no-store"],
                        body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}

extension Request {
    /// Whether the client asked for JSON rather than a page.
    var wantsJSON: Bool {
        headers[.accept]?.lowercased().contains("application/json") == true
    }
}
