import Foundation
import Hummingbird
import KychCore
import KychStorage
import KychVerifier
import KychVerifierModel
import Logging
import ServiceLifecycle

/// The parts of a running verifier, for its own server and for a gateway that embeds it: the
/// routes, and the background service (webhook outbox, cleanup of expired verifications).
public struct VerifierComponents: Sendable {
    public let routes: VerifierRoutes
    public let maintenance: VerifierMaintenance

    /// Loads (or creates) the signing key and wires the verifier onto `store`.
    public init(config: VerifierConfig, store: any VerificationStore, logger: Logger) throws {
        let (key, created) = try SigningKeyFile.loadOrCreate(path: config.signingKeyFile)
        if created {
            logger.notice("verifier signing key created", metadata: ["file": "\(config.signingKeyFile)"])
        } else if SigningKeyFile.isReadableByOthers(path: config.signingKeyFile) {
            logger.warning("verifier signing key file is readable by group or others", metadata: ["file": "\(config.signingKeyFile)"])
        }
        let settings = try VerifierSettings(config: config, signingKey: key)
        var dispatcher: WebhookDispatcher?
        if let callback = config.webhookCallbackURI {
            dispatcher = WebhookDispatcher(
                store: store, callbackURI: callback,
                apiKey: config.webhookAPIKeyHeader.map { ($0, config.webhookAPIKeyValue ?? "") },
                interval: .milliseconds(config.webhookIntervalMilliseconds), logger: logger)
        }
        routes = VerifierRoutes(service: VerifierService(settings: settings, store: store, logger: logger),
                                managementBearerToken: config.managementBearerToken, logger: logger)
        maintenance = VerifierMaintenance(store: store, dispatcher: dispatcher, logger: logger)
        logger.info("verifier ready", metadata: ["client_id": "\(settings.clientID)", "external_url": "\(settings.externalURL)"])
    }
}

/// Builds the standalone `kych-verifier` application for `config`: the composition root. Its store is
/// PostgreSQL or SQLite, as `DATABASE` says.
public func buildVerifierApplication(_ config: VerifierConfig, logger: Logger) async throws -> some ApplicationProtocol {
    guard let binding = config.binding else {
        throw VerifierSettingsError("the verifier is EMBEDDED: the gateway serves it (run kych-oauth2-gateway)")
    }
    let stores = try await Stores.open(config.database, logger: logger)
    let verifier = try VerifierComponents(config: config, store: stores.verifications, logger: logger)
    let router = Router()
    router.get("/health") { _, _ -> Response in
        try await stores.health()
        return .json(["status": "ok"])
    }
    verifier.routes.register(on: router)
    let (address, described): (BindAddress, String) = switch binding {
    case .tcp(let host, let port): (.hostname(host, port: port), "\(host):\(port)")
    case .unix(let path, _): (.unixDomainSocket(path: path), "unix:\(path)")
    }
    var app = Application(
        router: router,
        configuration: .init(address: address, serverName: "kych-verifier"),
        onServerRunning: { _ in
            if case .unix(let path, let mode) = binding { chmod(path, mode_t(mode)) }
            logger.info("verifier started", metadata: ["address": "\(described)"])
        },
        logger: logger)
    app.addServices(stores.services)
    app.addServices(verifier.maintenance)
    return app
}

/// Delivers webhook events every `WEBHOOK_INTERVAL` and deletes expired verifications every
/// `purgeInterval`. On graceful shutdown the delivery under way completes, so no event stays leased.
public struct VerifierMaintenance: Service {
    let store: any VerificationStore
    let dispatcher: WebhookDispatcher?
    let logger: Logger
    var purgeInterval: Duration = .seconds(420)

    public func run() async throws {
        await withDiscardingTaskGroup { group in
            if let dispatcher {
                group.addTask {
                    await repeatUntilShutdown(every: dispatcher.interval, "webhook delivery") {
                        try await dispatcher.deliverDueEvents { !Task.isShuttingDownGracefully }
                    }
                }
            }
            group.addTask {
                await repeatUntilShutdown(every: purgeInterval, "verification purge") {
                    let deleted = try await store.purgeExpired(now: Date())
                    if deleted > 0 { logger.info("expired verifications deleted", metadata: ["count": "\(deleted)"]) }
                }
            }
        }
    }

    /// Waits `interval`, then runs `body`, until graceful shutdown (waiting first leaves the
    /// database pool time to start); failures are logged and retried at the next run.
    private func repeatUntilShutdown(every interval: Duration, _ name: String, _ body: () async throws -> Void) async {
        while true {
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            guard !Task.isShuttingDownGracefully && !Task.isCancelled else { return }
            do {
                try await body()
            } catch {
                logger.warning("\(name) failed", metadata: ["error": "\(Stores.describe(error))"])
            }
        }
    }
}
