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
public struct EmbeddedVerifier: Sendable {
    public let routes: VerifierRoutes
    /// The verifier's maintenance, and the stores it opened itself, to run with the gateway.
    public let services: [any Service]

    /// The embedded verifier `configFile` asks for, or `nil` when it has no embedded `[kych-verifier]`
    /// (or, for configurations built in memory, no file).
    public static func open(configFile: String, gatewayStores: Stores, logger: Logger) async throws -> EmbeddedVerifier? {
        guard let ini = try? IniFile.load(path: configFile), ini.section(VerifierConfig.section) != nil else { return nil }
        let config: VerifierConfig
        do {
            config = try VerifierConfig.validate(ini)
        } catch {
            throw CLIError("invalid configuration:\n" + error.errors.map { "  \($0)" }.joined(separator: "\n"))
        }
        guard config.embedded else { return nil }
        var stores = gatewayStores
        if !config.database.isEmpty, try DatabaseLocation(parsing: config.database) != gatewayStores.location {
            stores = try await Stores.open(config.database, logger: logger)
        }
        let components = try VerifierComponents(config: config, store: stores.verifications, logger: logger)
        let ownServices = stores.location == gatewayStores.location ? [] : stores.services
        return EmbeddedVerifier(routes: components.routes, services: ownServices + [components.maintenance])
    }
}
