import Foundation
import Hummingbird
import KychCore
import KychHTTP
import KychStorage
import KychVerifier
import KychVerifierModel
import Logging
import ServiceLifecycle

/// The parts of a running verifier, for its own server and for a gateway that embeds it: the
/// routes, and the background service (webhook outbox, cleanup of expired verifications).
package struct VerifierComponents: Sendable {
    package let routes: VerifierRoutes
    package let maintenance: VerifierMaintenance

    /// Loads (or creates) the signing key and wires the verifier onto `store`.
    package init(config: VerifierConfig, store: any VerificationStore, logger: Logger) throws {
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
package func buildVerifierApplication(_ config: VerifierConfig, logger: Logger) async throws -> some ApplicationProtocol {
    guard let binding = config.binding else {
        throw VerifierSettingsError("the verifier is EMBEDDED: the gateway serves it (run kych-oauth2-gateway)")
    }
    let stores = try await Stores.open(config.database, sealing: config.sealing, logger: logger)
    let verifier = try VerifierComponents(config: config, store: stores.verifications, logger: logger)
    let metrics = ServerMetrics(listener: config.metricsBinding)
    let router = Router()
    router.add(middleware: RequestObservation(metrics: metrics))
    // Its signing key was loaded above (or the start failed): ready once the database is.
    router.addHealth { await stores.health(.verifier) }
    router.addAPIDescription(.verifier)
    verifier.routes.register(on: router)
    var app = makeServer(router: router, binding: binding, requestTimeout: config.requestTimeout, serverName: "kych-verifier",
                         logger: logger)
    app.addServices(stores.services.map(metrics.bind))
    app.addServices(metrics.bind(verifier.maintenance))
    if let listener = config.metricsBinding {
        app.addServices(metrics.listener(on: listener, serverName: "kych-verifier", logger: logger))
    }
    return app
}

/// Delivers webhook events every `WEBHOOK_INTERVAL` and deletes expired verifications every
/// `purgeInterval`. On graceful shutdown the delivery under way completes, so no event stays leased.
package struct VerifierMaintenance: Service {
    let store: any VerificationStore
    let dispatcher: WebhookDispatcher?
    let logger: Logger
    var purgeInterval: Duration = .seconds(420)

    package func run() async throws {
        var tasks = [PeriodicTask("verification purge", every: purgeInterval, waitFirst: true, logger: logger, describe: Stores.describe) {
            let deleted = try await store.purgeExpired(now: Date())
            if deleted > 0 { logger.info("expired verifications deleted", metadata: ["count": "\(deleted)"]) }
        }]
        if let dispatcher {
            tasks.append(PeriodicTask("webhook delivery", every: dispatcher.interval, waitFirst: true, logger: logger, describe: Stores.describe) {
                try await dispatcher.deliverDueEvents { !Task.isShuttingDownGracefully }
            })
        }
        await withDiscardingTaskGroup { group in
            for task in tasks { group.addTask { try? await task.run() } }
        }
    }
}
