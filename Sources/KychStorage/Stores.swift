import KychCore
import KychOAuth
import KychPostgres
import KychSQLite
import KychVerifierModel
import Logging
import PostgresNIO
import ServiceLifecycle

/// The stores of one process, on the backend `DATABASE` names: one PostgreSQL pool or one SQLite
/// connection serves them all.
package struct Stores: Sendable {
    package let clients: any ClientRepository
    package let flow: any FlowStore
    /// The keys signing ID tokens and JWT access tokens.
    package let signingKeys: any SigningKeyStore
    /// The built-in verifier's store (its schema must be installed: `kych-dbinit`; SQLite has it always).
    package let verifications: any VerificationStore
    /// Background work the stores need while the process runs (the PostgreSQL pool), for a ServiceGroup.
    package let services: [any Service]
    /// Why the store cannot serve a server needing `schemas` (the database unavailable, its schema not installed), or
    /// `nil` when it can. Bounded in time like every store request.
    package let health: @Sendable (_ schemas: SchemaParts) async -> String?
    /// What `DATABASE` named.
    package let location: DatabaseLocation

    /// Opens the stores for a server. PostgreSQL is checked first so a wrong address fails at once;
    /// SQLite creates its file and schema if needed.
    package static func open(_ database: String, logger: Logger) async throws -> Stores {
        let location = try DatabaseLocation(parsing: database)
        switch location {
        case .postgres(let url):
            try await PostgresDatabase.preflight(url, logger: logger)
            try await SchemaInstaller.upgradeInstalledSchema(url, logger: logger)
            let client = PostgresClient(configuration: PostgresDatabase.clientConfiguration(url), backgroundLogger: logger)
            let pool = PostgresPool(client)
            return Stores(clients: PostgresClientRepository(client: client, logger: logger),
                          flow: PostgresFlowStore(client: client, logger: logger),
                          signingKeys: PostgresSigningKeyStore(client: client, logger: logger),
                          verifications: PostgresVerificationStore(client: client, logger: logger), services: [client],
                          health: { schemas in
                              await problem {
                                  let patches = (schemas.contains(.gateway) ? SchemaInstaller.gatewayPatches : [])
                                      + (schemas.contains(.verifier) ? SchemaInstaller.verifierPatches : [])
                                  return try await SchemaInstaller.missingPatches(patches, pool: pool, logger: logger)
                              }
                          }, location: location)
        case .sqlite(let path):
            let db = try await SQLiteDatabase.open(path: path, logger: logger)
            return Stores(clients: SQLiteClientRepository(db: db), flow: SQLiteFlowStore(db: db), signingKeys: SQLiteSigningKeyStore(db: db),
                          verifications: SQLiteVerificationStore(db: db), services: [SQLiteCloser(db: db)],
                          health: { _ in await problem { try await db.missingMigrations() } }, location: location)
        }
    }

    /// Opens the stores, runs `body` with their services running, then stops them: for command-line tools.
    package static func with<T: Sendable>(_ database: String, logger: Logger, _ body: @Sendable (Stores) async throws -> T) async throws -> T {
        let stores = try await open(database, logger: logger)
        return try await withThrowingTaskGroup(of: T?.self) { group in
            for service in stores.services {
                group.addTask {
                    try await service.run()
                    return nil
                }
            }
            defer { group.cancelAll() }
            return try await body(stores)
        }
    }
}

/// The parts of KyCH's schema a server needs in its database.
package struct SchemaParts: OptionSet, Sendable {
    package let rawValue: Int
    package init(rawValue: Int) { self.rawValue = rawValue }
    /// The gateway's tables (PostgreSQL schema `oauth2gw`).
    package static let gateway = SchemaParts(rawValue: 1)
    /// The built-in verifier's tables (PostgreSQL schema `verifier`).
    package static let verifier = SchemaParts(rawValue: 2)
}

extension Stores {
    /// What `/health` reports for a check that found `missing` schema parts or failed.
    static func problem(_ missing: () async throws -> [String]) async -> String? {
        do {
            let missing = try await missing()
            guard !missing.isEmpty else { return nil }
            return "the database schema is not installed or not up to date (missing \(missing.joined(separator: ", "))): run kych-dbinit -c FILE"
        } catch where isUnavailable(error) {
            return "database unavailable: \(describe(error))"
        } catch {
            return PostgresDatabase.operatorMessage(error)
        }
    }

    /// Whether `error` means the database cannot serve now, so a retry may succeed: answered with 503 and `Retry-After`.
    package static func isUnavailable(_ error: any Error) -> Bool {
        PostgresDatabase.isUnavailable(error)
    }

    /// A short description of a store error for logs and operators (no query text, no bound values).
    package static func describe(_ error: any Error) -> String {
        PostgresDatabase.describe(error)
    }
}

/// Keeps the SQLite connection open while the process runs and closes it on shutdown or cancellation.
struct SQLiteCloser: Service {
    let db: SQLiteDatabase

    func run() async throws {
        try? await gracefulShutdown()
        try await db.close()
    }
}
