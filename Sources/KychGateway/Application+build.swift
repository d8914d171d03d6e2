import Foundation
import Hummingbird
import KychCore
import KychPostgres
import Logging
import NIOCore
import PostgresNIO

/// Builds the gateway application for `config`: the composition root.
public func buildApplication(_ config: GatewayConfig, logger: Logger) throws -> some ApplicationProtocol {
    let url = try DatabaseURL(parsing: config.database)
    let postgres = PostgresClient(configuration: PostgresDatabase.clientConfiguration(url), backgroundLogger: logger)
    let router = Router(context: GatewayRequestContext.self)
    router.get("/health") { _, _ in
        try await postgres.query("SELECT 1", logger: logger)
        return HealthStatus(status: "ok")
    }
    var app = Application(
        router: router,
        configuration: .init(address: config.binding.bindAddress, serverName: "KyCH"),
        onServerRunning: { _ in
            if case .unix(let path, let mode) = config.binding { chmod(path, mode_t(mode)) }
            logger.info("server started", metadata: ["address": "\(config.binding)"])
        },
        logger: logger)
    app.addServices(postgres)
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
}
