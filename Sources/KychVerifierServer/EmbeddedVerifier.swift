import Foundation
import Hummingbird
import KychCore
import KychSDJWT
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
    let components: VerifierComponents
    /// The stores it opened itself (its own `DATABASE`), to run with the gateway.
    let ownServices: [any Service]

    package var routes: VerifierRoutes { components.routes }

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
        return EmbeddedVerifier(components: try VerifierComponents(config: config, stores: stores, logger: logger),
                                ownServices: stores.location == gatewayStores.location ? [] : stores.services)
    }

    /// The verifier's maintenance, and the stores it opened itself, to run with the gateway. `localRecipient` takes the
    /// webhook events of the gateway's own sessions in process (the outbox row is still written, and removed once
    /// handled); events it does not take go to `WEBHOOK_CALLBACK_URI`.
    package func services(localRecipient: @escaping WebhookDispatcher.LocalRecipient) -> [any Service] {
        ownServices + [components.maintenance(localRecipient: localRecipient)]
    }

    // MARK: the management API in process

    /// `EXTERNAL_URL` and the management path: what a client's `VERIFIER_URL` and management path make for this verifier.
    package var verificationsEndpoint: String { components.service.settings.externalURL + VerifierRoutes.managementPath }

    /// `POST /management/api/verifications` without HTTP: the status and JSON body its route answers with.
    @Sendable package func createVerification(body: Data) async throws -> (Int, JSONValue) {
        try await answer { try await components.service.createVerification(body: body) }
    }

    /// `GET /management/api/verifications/{id}` without HTTP: the status and JSON body its route answers with.
    @Sendable package func verificationResult(id: String) async throws -> (Int, JSONValue) {
        try await answer { try await components.service.verificationResult(id: id) }
    }

    private func answer(_ body: () async throws -> JSONValue) async throws -> (Int, JSONValue) {
        do {
            return (200, try await body())
        } catch let error as VerifierAPIError {
            return (error.status, .object(error.body))
        }
    }
}
