import Foundation
import Hummingbird
import KychCore
import Logging
import NIOCore
import ServiceLifecycle

/// Hummingbird glue that the gateway and the verifier servers share: binding, start-up, `/health`,
/// JSON answers, bearer credentials and periodic background work.
extension ServerBinding {
    package var bindAddress: BindAddress {
        switch self {
        case .tcp(let host, let port): .hostname(host, port: port)
        case .unix(let path, _): .unixDomainSocket(path: path)
        }
    }

    package var description: String {
        switch self {
        case .tcp(let host, let port): "\(host):\(port)"
        case .unix(let path, _): "unix:\(path)"
        }
    }
}

/// The application serving `router` on `binding`: a Unix socket gets its configured mode once it exists. A connection
/// must deliver each request within `requestTimeout` of opening or of its previous answer (``RequestDeadline``).
package func makeServer<Context: RequestContext>(router: Router<Context>, binding: ServerBinding, requestTimeout: Duration,
                                                 serverName: String, logger: Logger) -> Application<RouterResponder<Context>> {
    let timeout = TimeAmount(requestTimeout)
    return Application(
        router: router,
        server: .http1(configuration: .init(additionalChannelHandlers: [RequestDeadline(timeout: timeout)], idleTimeout: timeout)),
        configuration: .init(address: binding.bindAddress, serverName: serverName),
        onServerRunning: { _ in
            if case .unix(let path, let mode) = binding { chmod(path, mode_t(mode)) }
            logger.info("server started", metadata: ["server": "\(serverName)", "address": "\(binding.description)"])
        },
        logger: logger)
}

extension Router {
    /// `GET /health`: `{"status": "ok"}` when `check` (the database and its schema) finds nothing wrong, else 503
    /// with `Retry-After` and `{"status": "unavailable", "reason": …}`, the reason `check` gives.
    package func addHealth(_ check: @escaping @Sendable () async -> String?) {
        get("/health") { _, _ -> Response in
            guard let reason = await check() else { return .json(["status": "ok"]) }
            var response = Response.json(["status": "unavailable", "reason": .string(reason)], status: .serviceUnavailable)
            response.headers[.retryAfter] = Response.retryAfterSeconds
            return response
        }
    }
}

extension Response {
    /// `Retry-After` of a 503 answered while the database is unavailable: about when a retry may succeed.
    package static let retryAfterSeconds = "5"

    /// A JSON answer that must not be cached.
    package static func json(_ value: JSON, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "application/json", .cacheControl: "no-store"],
                 body: .init(byteBuffer: ByteBuffer(string: value.serialized())))
    }
}

extension Request {
    /// The credential of `Authorization: Bearer …`, if any.
    package var bearerCredential: String? { HTTPAuthorization.bearer(headers[.authorization]) }
}

/// Background work repeated every `interval` until graceful shutdown; a failed run is logged and retried at
/// the next one. With `waitFirst`, the first run comes after one interval (leaving a database pool time to start).
package struct PeriodicTask: Service {
    package let name: String
    package let interval: Duration
    package let waitFirst: Bool
    package let logger: Logger
    /// How a failure is logged (no query text, no bound values).
    package let describe: @Sendable (any Error) -> String
    package let body: @Sendable () async throws -> Void

    package init(_ name: String, every interval: Duration, waitFirst: Bool, logger: Logger,
                 describe: @escaping @Sendable (any Error) -> String, _ body: @escaping @Sendable () async throws -> Void) {
        self.name = name
        self.interval = interval
        self.waitFirst = waitFirst
        self.logger = logger
        self.describe = describe
        self.body = body
    }

    package func run() async throws {
        if waitFirst { await pause() }
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                try await body()
            } catch {
                logger.warning("\(name) failed", metadata: ["error": "\(describe(error))"])
            }
            await pause()
        }
    }

    private func pause() async {
        try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
    }
}
