import Foundation
import Hummingbird
import KychCore
import KychHTTP
import KychStorage
import KychVerifier
import KychVerifierModel
import Logging
import ServiceLifecycle

/// The parts of a running verifier, for its own server and for a gateway that embeds it: the service, its
/// routes, and the background service (webhook outbox, cleanup of expired verifications).
package struct VerifierComponents: Sendable {
    package let service: VerifierService
    package let routes: VerifierRoutes
    let config: VerifierConfig
    let notifications: (any OutboxNotifications)?

    /// Loads (or creates) the signing key and wires the verifier onto `stores`.
    package init(config: VerifierConfig, stores: Stores, logger: Logger) throws {
        let (key, created) = try SigningKeyFile.loadOrCreate(path: config.signingKeyFile)
        if created {
            logger.notice("verifier signing key created", metadata: ["file": "\(config.signingKeyFile)"])
        } else if SigningKeyFile.isReadableByOthers(path: config.signingKeyFile) {
            logger.warning("verifier signing key file is readable by group or others", metadata: ["file": "\(config.signingKeyFile)"])
        }
        let settings = try VerifierSettings(config: config, signingKey: key)
        self.config = config
        notifications = stores.outboxNotifications
        service = VerifierService(settings: settings, store: stores.verifications, logger: logger)
        routes = VerifierRoutes(service: service, managementBearerToken: config.managementBearerToken, logger: logger)
        logger.info("verifier ready", metadata: ["client_id": "\(settings.clientID)", "external_url": "\(settings.externalURL)"])
    }

    /// The background service; `localRecipient` takes the webhook events of a gateway embedding the verifier in process.
    package func maintenance(localRecipient: WebhookDispatcher.LocalRecipient? = nil) -> VerifierMaintenance {
        let dispatcher = config.webhookCallbackURI.map { callback in
            var dispatcher = WebhookDispatcher(
                store: service.store, callbackURI: callback,
                apiKey: config.webhookAPIKeyHeader.map { ($0, config.webhookAPIKeyValue ?? "") },
                interval: .milliseconds(config.webhookIntervalMilliseconds), logger: service.logger, localRecipient: localRecipient)
            dispatcher.describe = Stores.describe
            return dispatcher
        }
        return VerifierMaintenance(store: service.store, dispatcher: dispatcher, outbox: service.outbox, notifications: notifications,
                                   logger: service.logger)
    }
}

/// Builds the standalone `kych-verifier` application for `config`: the composition root. Its store is
/// PostgreSQL or SQLite, as `DATABASE` says.
package func buildVerifierApplication(_ config: VerifierConfig, logger: Logger) async throws -> some ApplicationProtocol {
    guard let binding = config.binding else {
        throw VerifierSettingsError("the verifier is EMBEDDED: the gateway serves it (run kych-oauth2-gateway)")
    }
    let stores = try await Stores.open(config.database, sealing: config.sealing, logger: logger)
    let verifier = try VerifierComponents(config: config, stores: stores, logger: logger)
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
    app.addServices(metrics.bind(verifier.maintenance()))
    if let listener = config.metricsBinding {
        app.addServices(metrics.listener(on: listener, serverName: "kych-verifier", logger: logger))
    }
    return app
}

/// Delivers webhook events as they are committed (``WebhookDispatcher/run(signal:continuing:)``: at once in this
/// process, on LISTEN/NOTIFY from others, every `WEBHOOK_INTERVAL` for retries) and deletes expired verifications
/// every `purgeInterval`. On graceful shutdown the deliveries under way complete, so no event stays leased.
package struct VerifierMaintenance: Service {
    let store: any VerificationStore
    let dispatcher: WebhookDispatcher?
    let outbox: OutboxSignal
    let notifications: (any OutboxNotifications)?
    let logger: Logger
    var purgeInterval: Duration = .seconds(420)
    /// How often the outbox backlog is counted for `/metrics`.
    var backlogInterval: Duration = .seconds(15)

    package func run() async throws {
        let purge = PeriodicTask("verification purge", every: purgeInterval, waitFirst: true, logger: logger, describe: Stores.describe) {
            let deleted = try await store.purgeExpired(now: Date())
            if deleted > 0 { logger.info("expired verifications deleted", metadata: ["count": "\(deleted)"]) }
        }
        await withDiscardingTaskGroup { group in
            group.addTask { try? await purge.run() }
            guard let dispatcher else { return }
            let backlog = PeriodicTask("outbox backlog", every: backlogInterval, waitFirst: false, logger: logger, describe: Stores.describe) {
                WebhookMetrics.backlog(try await store.pendingEventCount())
            }
            group.addTask { try? await backlog.run() }
            let outbox = outbox
            group.addTask {
                // A graceful shutdown wakes the delivery loop, which then stops.
                await withGracefulShutdownHandler {
                    await dispatcher.run(signal: outbox) { !Task.isShuttingDownGracefully && !Task.isCancelled }
                } onGracefulShutdown: {
                    outbox.signal()
                }
            }
            if let notifications {
                group.addTask { await cancelWhenGracefulShutdown { await notifications.listen(outbox.signal) } }
            }
        }
    }
}
