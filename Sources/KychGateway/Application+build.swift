import Foundation
import Hummingbird
import KychCore
import KychHTTP
import KychOAuth
import KychSDJWT
import KychStorage
import KychSwiyuClient
import KychVerifier
import KychVerifierServer
import Logging
import Metrics
import NIOCore
import NIOPosix
import ServiceLifecycle

/// Builds the gateway application for `config`: the composition root.
package func buildApplication(_ config: GatewayConfig, logger: Logger) async throws -> some ApplicationProtocol {
    try await buildApplication(config, stores: try await Stores.open(config.database, sealing: config.sealing, logger: logger), logger: logger)
}

/// Builds the gateway application for `config` on `stores` (opened from `config.database` with `config.sealing`), which
/// it runs and closes.
/// `extraRoutes` adds routes only some executables serve (kych-demo's demo wallet); `offersDemoWallet` makes the
/// verification page link to ``DemoWalletLink``, which such routes must then serve. Client secrets are checked on
/// `hashing`.
package func buildApplication(
    _ config: GatewayConfig, stores: Stores, logger: Logger, hashing: SecretHashingPool = .shared, offersDemoWallet: Bool = false,
    extraRoutes: (Router<GatewayRequestContext>, AuthorizationServer) throws -> Void = { _, _ in }
) async throws -> some ApplicationProtocol {
    let metrics = ServerMetrics(listener: config.metricsBinding)
    let signingKeys = SigningKeys(store: stores.signingKeys, encryptionSecret: config.keyEncryptionSecret)
    // The dummy hash that unknown client ids are checked against is made at start, not in the first such request.
    _ = Secrets.unknownClientHash
    let embeddedVerifier = try await EmbeddedVerifier.open(config.verifier, gatewayStores: stores, sealing: config.sealing, logger: logger)
    // Clients of the embedded verifier reach it in process, and its results reach the flow in process: no loopback HTTP.
    let inProcess = embeddedVerifier.map {
        InProcessVerifier(verificationsEndpoint: $0.verificationsEndpoint, create: $0.createVerification, result: $0.verificationResult)
    }
    var flow = AuthorizationServer(
        config: config,
        clients: stores.clients,
        store: stores.flow,
        verifier: SwiyuVerifierClient(builder: VerificationRequestBuilder(config: config), logger: logger, inProcess: inProcess),
        signingKeys: signingKeys,
        clientKeys: FetchedClientKeys(),
        // vp_token-bearer presentations: issuer keys from did:jwk, or did:web of the scope's accepted issuers only (no
        // fetching for anyone else), and status lists like the built-in verifier's.
        presentationVerifier: { issuers, checksStatusList in
            SDJWTVerifier(resolver: VerifierDIDResolver(fetchableDIDs: Set(issuers)),
                          statusListChecker: checksStatusList ? RemoteStatusListChecker(resolver: VerifierDIDResolver()) : StatusNotChecked())
        },
        // bcrypt is slow on purpose: it runs on its own bounded threads, never on an event loop or the database's.
        checkSecret: hashing.checkSecret,
        events: FlowCounters(factory: metrics.factory),
        logger: logger)
    flow.wakeups = stores.wakeups
    let server = flow

    let router = Router(context: GatewayRequestContext.self)
    router.add(middleware: RequestObservation(metrics: metrics))
    router.add(middleware: ErrorMiddleware(logger: logger))
    let embedsVerifier = config.verifier?.embedded == true
    let schemas: SchemaParts = embedsVerifier ? [.gateway, .verifier] : .gateway
    let startup = StartupChecks([StoredSecretsCheck.step])
    router.addHealth(startup: startup) { await stores.health(schemas) }
    router.addAPIDescription(embedsVerifier ? .gateway.union(.verifier) : .gateway)
    GatewayRoutes(flow: flow, logger: logger, demoWallet: offersDemoWallet).register(on: router)
    PageRoutes.register(on: router)
    KeyRoutes.register(on: router, keys: signingKeys)
    try extraRoutes(router, flow)
    embeddedVerifier?.routes.register(on: router)

    var app = makeServer(router: router, binding: config.binding, requestTimeout: config.requestTimeout, serverName: "KyCH",
                         logger: logger)
    app.addServices(stores.services.map(metrics.bind))
    app.addServices(StoredSecretsCheck(keys: signingKeys, clients: stores.clients, startup: startup))
    app.addServices(metrics.bind(purgeService(flow, logger: logger)))
    app.addServices((embeddedVerifier?.services { try await server.verifierFinished(verificationID: $0) } ?? []).map(metrics.bind))
    if let listener = config.metricsBinding {
        app.addServices(metrics.listener(on: listener, serverName: "KyCH", logger: logger))
    }
    return app
}

/// The request context of every gateway route.
package struct GatewayRequestContext: RequestContext {
    package var coreContext: CoreRequestContextStorage
    /// The connection's peer (nil when unknown, as in router tests): see ``Request/sourceAddress(peer:)``.
    package var peer: SocketAddress?
    package init(source: Source) {
        coreContext = .init(source: source)
        peer = source.channel.remoteAddress
    }
}

/// Marks expired sessions and deletes dead rows once a minute (the rules: ``AuthorizationServer/purge(retention:)``).
func purgeService(_ server: AuthorizationServer, logger: Logger, every interval: Duration = .seconds(60),
                  retention: TimeInterval = 86_400) -> PeriodicTask {
    PeriodicTask("purge", every: interval, waitFirst: false, logger: logger, describe: Stores.describe) {
        let report = try await server.purge(retention: retention)
        Counter(label: "kych_flows_expired_total").increment(by: report.expiredSessions + report.abandonedSessions)
        if report != PurgeReport() {
            logger.info("purge", metadata: [
                "expired_sessions": "\(report.expiredSessions)", "abandoned_sessions": "\(report.abandonedSessions)",
                "deleted_sessions": "\(report.deletedSessions)", "erased_claims": "\(report.erasedClaims)",
                "deleted_codes": "\(report.deletedCodes)", "deleted_tokens": "\(report.deletedTokens)",
            ])
        }
    }
}
