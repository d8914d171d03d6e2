import Foundation
import Hummingbird
import KychCore
import KychStorage
import KychVerifier
import KychVerifierModel
import Logging
import ServiceLifecycle

/// The built-in verifier served by the gateway itself, when the gateway's configuration file has
/// `[kych-verifier]` with `EMBEDDED = yes`. Its endpoints join the gateway's routes; it stores its
/// verifications in the gateway's database (sharing the gateway's pool or SQLite connection) unless
/// its own `DATABASE` names another one.
package struct EmbeddedVerifier: Sendable {
    package let routes: VerifierRoutes
    /// The verifier's maintenance, and the stores it opened itself, to run with the gateway.
    package let services: [any Service]

    /// The verifier the gateway's configuration embeds (``GatewayConfig/verifier``, validated with it), or `nil`
    /// when its `[kych-verifier]` section is missing or not `EMBEDDED = yes`. `sealing` is the gateway's: it seals the
    /// verifier's keys in a database of its own too.
    package static func open(_ config: VerifierConfig?, gatewayStores: Stores, sealing: SecretSealing,
                             logger: Logger) async throws -> EmbeddedVerifier? {
        guard let config, config.embedded else { return nil }
        var stores = gatewayStores
        if !config.database.isEmpty, try DatabaseLocation(parsing: config.database) != gatewayStores.location {
            stores = try await Stores.open(config.database, sealing: sealing, logger: logger)
        }
        let components = try VerifierComponents(config: config, store: stores.verifications, logger: logger)
        let ownServices = stores.location == gatewayStores.location ? [] : stores.services
        return EmbeddedVerifier(routes: components.routes, services: ownServices + [components.maintenance])
    }
}
