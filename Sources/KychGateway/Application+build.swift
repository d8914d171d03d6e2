import Foundation
import Hummingbird
import KychCore
import KychOAuth
import KychStorage
import KychSwiyuClient
import KychVerifierServer
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle

/// Builds the gateway application for `config`: the composition root.
public func buildApplication(_ config: GatewayConfig, logger: Logger) async throws -> some ApplicationProtocol {
    try await buildApplication(config, stores: try await Stores.open(config.database, logger: logger), logger: logger)
}

/// Builds the gateway application for `config` on `stores` (opened from `config.database`), which it runs and closes.
/// `extraRoutes` adds routes only some executables serve (kych-demo's demo wallet); `offersDemoWallet` makes the
/// verification page link to ``DemoWalletLink``, which such routes must then serve.
package func buildApplication(
    _ config: GatewayConfig, stores: Stores, logger: Logger, offersDemoWallet: Bool = false,
    extraRoutes: (Router<GatewayRequestContext>, AuthorizationServer) throws -> Void = { _, _ in }
) async throws -> some ApplicationProtocol {
    let flow = AuthorizationServer(
        config: config,
        clients: stores.clients,
        store: stores.flow,
        verifier: SwiyuVerifierClient(builder: VerificationRequestBuilder(config: config), logger: logger),
        // bcrypt is slow on purpose: run it on the thread pool, never on an event loop.
        checkSecret: { secret, hash in
            (try? await NIOThreadPool.singleton.runIfActive { Secrets.verifySecret(secret, hash: hash) }) ?? false
        },
        logger: logger)

    let router = Router(context: GatewayRequestContext.self)
    router.add(middleware: ErrorMiddleware(logger: logger))
    router.get("/health") { _, _ in
        try await stores.health()
        return HealthStatus(status: "ok")
    }
    GatewayRoutes(flow: flow, logger: logger, demoWallet: offersDemoWallet).register(on: router)
    PageRoutes.register(on: router)
    try extraRoutes(router, flow)
    let embeddedVerifier = try await EmbeddedVerifier.open(config.verifier, gatewayStores: stores, logger: logger)
    embeddedVerifier?.routes.register(on: router)

    var app = Application(
        router: router,
        configuration: .init(address: config.binding.bindAddress, serverName: "KyCH"),
        onServerRunning: { _ in
            if case .unix(let path, let mode) = config.binding { chmod(path, mode_t(mode)) }
            logger.info("server started", metadata: ["address": "\(config.binding.description)"])
        },
        logger: logger)
    app.addServices(stores.services)
    app.addServices(PurgeService(server: flow, logger: logger))
    app.addServices(embeddedVerifier?.services ?? [])
    return app
}

struct HealthStatus: ResponseEncodable {
    var status: String
}

/// The request context of every gateway route.
public struct GatewayRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public init(source: Source) {
        coreContext = .init(source: source)
    }
}

extension ServerBinding {
    var bindAddress: BindAddress {
        switch self {
        case .tcp(let host, let port): .hostname(host, port: port)
        case .unix(let path, _): .unixDomainSocket(path: path)
        }
    }

    var description: String {
        switch self {
        case .tcp(let host, let port): "\(host):\(port)"
        case .unix(let path, _): "unix:\(path)"
        }
    }
}

/// Marks expired sessions and deletes dead rows once a minute.
struct PurgeService: Service {
    let server: AuthorizationServer
    let logger: Logger
    var interval: Duration = .seconds(60)
    var retention: TimeInterval = 86_400

    func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                let report = try await server.purge(retention: retention)
                if report != PurgeReport() {
                    logger.info("purge", metadata: [
                        "expired_sessions": "\(report.expiredSessions)", "deleted_sessions": "\(report.deletedSessions)",
                        "deleted_codes": "\(report.deletedCodes)", "deleted_tokens": "\(report.deletedTokens)",
                    ])
                }
            } catch {
                logger.warning("purge failed", metadata: ["error": "\(Stores.describe(error))"])
            }
            try? await gracefulShutdownSleep(interval)
        }
    }

    private func gracefulShutdownSleep(_ duration: Duration) async throws {
        try await cancelWhenGracefulShutdown { try await Task.sleep(for: duration) }
    }
}
