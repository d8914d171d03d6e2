import Foundation
import Hummingbird
import KychCore
import Logging
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

/// The application serving `router` on `binding`: a Unix socket gets its configured mode once it exists.
package func makeServer<Context: RequestContext>(router: Router<Context>, binding: ServerBinding, serverName: String,
                                                 logger: Logger) -> Application<RouterResponder<Context>> {
    Application(
        router: router,
        configuration: .init(address: binding.bindAddress, serverName: serverName),
        onServerRunning: { _ in
            if case .unix(let path, let mode) = binding { chmod(path, mode_t(mode)) }
            logger.info("server started", metadata: ["server": "\(serverName)", "address": "\(binding.description)"])
        },
        logger: logger)
}

extension Router {
    /// `GET /health`: `{"status": "ok"}` when `check` (the database) answers.
    package func addHealth(_ check: @escaping @Sendable () async throws -> Void) {
        get("/health") { _, _ -> Response in
            try await check()
            return .json(["status": "ok"])
        }
    }
}

extension Response {
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
