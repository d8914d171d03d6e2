import Foundation
import Hummingbird
import KychCore
import KychPostgres
import KychVerifier
import Logging
import PostgresNIO
import ServiceLifecycle

/// The built-in verifier served by the gateway itself, when the gateway's configuration file has
/// `[kych-verifier]` with `EMBEDDED = yes`. Its endpoints join the gateway's routes; it stores its
/// verifications in its own `DATABASE`, or in the gateway's when that is not set (PostgreSQL only).
public struct EmbeddedVerifier: Sendable {
    public let routes: VerifierRoutes
    /// The verifier's PostgreSQL pool and maintenance, to run with the gateway.
    public let services: [any Service]

    /// The embedded verifier `configFile` asks for, or `nil` when it has no embedded `[kych-verifier]`
    /// (or, for configurations built in memory, no file).
    public static func open(configFile: String, gatewayDatabase: String, logger: Logger) async throws -> EmbeddedVerifier? {
        guard let ini = try? IniFile.load(path: configFile), ini.section(VerifierConfig.section) != nil else { return nil }
        let config: VerifierConfig
        do {
            config = try VerifierConfig.validate(ini)
        } catch {
            throw CLIError("invalid configuration:\n" + error.errors.map { "  \($0)" }.joined(separator: "\n"))
        }
        guard config.embedded else { return nil }
        let database = config.database.isEmpty ? gatewayDatabase : config.database
        let url: DatabaseURL
        do {
            url = try DatabaseURL(parsing: database)
        } catch {
            throw CLIError("[kych-verifier] EMBEDDED needs a PostgreSQL DATABASE (its own or the gateway's): \(error)")
        }
        try await PostgresDatabase.preflight(url, logger: logger)
        let postgres = PostgresClient(configuration: PostgresDatabase.clientConfiguration(url), backgroundLogger: logger)
        let components = try VerifierComponents(
            config: config, store: PostgresVerificationStore(client: postgres, logger: logger), logger: logger)
        return EmbeddedVerifier(routes: components.routes, services: [postgres, components.maintenance])
    }
}
