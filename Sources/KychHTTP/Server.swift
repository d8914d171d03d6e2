import Foundation
import Hummingbird
import KychCore
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

/// Hummingbird glue that the gateway and the verifier servers share: binding, start-up, `/health` (and `/live`,
/// `/ready`), JSON answers, bearer credentials and periodic background work.
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
    /// `GET /health`: `{"status": "ok"}` when `check` (the database and its schema) finds nothing wrong, else 503 with
    /// `Retry-After` and `{"status": "unavailable", "reason": …}`. `GET /health/ready`: the same, and 503 too until
    /// `startup` has finished (a load balancer sends no request before). `GET /health/live`: `{"status": "ok"}` whenever
    /// the process answers (it does not touch the database).
    package func addHealth(startup: StartupChecks = StartupChecks(), _ check: @escaping @Sendable () async -> String?) {
        get("/health") { _, _ -> Response in
            guard let reason = await check() else { return .json(["status": "ok"]) }
            return .unavailable(reason)
        }
        get("/health/ready") { _, _ -> Response in
            if let reason = startup.pending { return .unavailable(reason) }
            guard let reason = await check() else { return .json(["status": "ok"]) }
            return .unavailable(reason)
        }
        get("/health/live") { _, _ -> Response in .json(["status": "ok"]) }
    }
}

/// What must have happened once since the start before a server is ready (e.g. its signing keys opened): the first
/// step not done yet, which `/health/ready` reports.
package final class StartupChecks: Sendable {
    private let state: Mutex<[String]>

    /// `steps`: what is still to be done, as `/health/ready` says it (e.g. "signing keys not loaded yet").
    package init(_ steps: [String] = []) {
        state = Mutex(steps)
    }

    /// The first step still to be done, if any.
    package var pending: String? { state.withLock { $0.first } }

    /// Marks `step` done.
    package func done(_ step: String) {
        state.withLock { $0.removeAll { $0 == step } }
    }
}

extension Response {
    /// `Retry-After` of a 503 answered while the database is unavailable: about when a retry may succeed.
    package static let retryAfterSeconds = "5"

    /// 503 with `Retry-After`: `{"status": "unavailable", "reason": …}`.
    static func unavailable(_ reason: String) -> Response {
        var response = Response.json(["status": "unavailable", "reason": .string(reason)], status: .serviceUnavailable)
        response.headers[.retryAfter] = Response.retryAfterSeconds
        return response
    }

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
