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
    /// Behind ``SealedClientRepository`` (on PostgreSQL also ``CachedClientRepository``): secrets are sealed and opened with the `sealing` the stores were opened with.
    package let clients: any ClientRepository
    package let flow: any FlowStore
    /// The keys signing ID tokens and JWT access tokens.
    package let signingKeys: any SigningKeyStore
    /// Wakes `/status` long polls when a session changes: across processes on PostgreSQL, in-process on SQLite.
    package let wakeups: any SessionWakeups
    /// The built-in verifier's store (its schema must be installed: `kych-dbinit`; SQLite has it always).
    package let verifications: any VerificationStore
    /// Other processes' webhook events as they commit (PostgreSQL); `nil` on SQLite, which one process serves.
    package let outboxNotifications: (any OutboxNotifications)?
    /// Background work the stores need while the process runs (the PostgreSQL pool), for a ServiceGroup.
    package let services: [any Service]
    /// Why the store cannot serve a server needing `schemas` (the database unavailable, its schema not installed), or
    /// `nil` when it can. Bounded in time like every store request.
    package let health: @Sendable (_ schemas: SchemaParts) async -> String?
    /// What `DATABASE` named.
    package let location: DatabaseLocation

    /// Opens the stores for a server. PostgreSQL is checked first so a wrong address fails at once;
    /// SQLite creates its file and schema if needed. `sealing` (from `KEY_ENCRYPTION_SECRET`) seals the secrets the
    /// stores keep: clients' verifier bearer tokens and webhook keys, the verifier's response-encryption keys.
    package static func open(_ database: String, sealing: SecretSealing, logger: Logger) async throws -> Stores {
        let location = try DatabaseLocation(parsing: database)
        switch location {
        case .postgres(let url):
            try await PostgresDatabase.preflight(url, logger: logger)
            try await SchemaInstaller.upgradeInstalledSchema(url, logger: logger)
            let client = PostgresClient(configuration: PostgresDatabase.clientConfiguration(url), backgroundLogger: logger)
            let pool = PostgresPool(client)
            let wakeups = PostgresSessionWakeups(url: url, logger: logger)
            let clients = CachedClientRepository(SealedClientRepository(PostgresClientRepository(client: client, logger: logger), sealing: sealing))
            return Stores(clients: clients,
                          flow: PostgresFlowStore(client: client, logger: logger),
                          signingKeys: PostgresSigningKeyStore(client: client, logger: logger), wakeups: wakeups,
                          verifications: PostgresVerificationStore(client: client, sealing: sealing, logger: logger),
                          outboxNotifications: PostgresOutboxNotifications(url: url, logger: logger),
                          services: [client, NotificationListener(listen: wakeups.listen),
                                     NotificationListener(listen: PostgresClientChanges(url: url, cache: clients, logger: logger).listen)],
                          health: { schemas in
                              await problem {
                                  let patches = (schemas.contains(.gateway) ? SchemaInstaller.gatewayPatches : [])
                                      + (schemas.contains(.verifier) ? SchemaInstaller.verifierPatches : [])
                                  return try await SchemaInstaller.missingPatches(patches, pool: pool, logger: logger)
                              }
                          }, location: location)
        case .sqlite(let path):
            let db = try await SQLiteDatabase.open(path: path, logger: logger)
            return Stores(clients: SealedClientRepository(SQLiteClientRepository(db: db), sealing: sealing), flow: SQLiteFlowStore(db: db),
                          signingKeys: SQLiteSigningKeyStore(db: db), wakeups: LocalSessionWakeups(),
                          verifications: SQLiteVerificationStore(db: db, sealing: sealing), outboxNotifications: nil, services: [SQLiteCloser(db: db)],
                          health: { _ in await problem { try await db.missingMigrations() } }, location: location)
        }
    }

    /// Opens the stores, runs `body` with their services running, then stops them: for command-line tools.
    package static func with<T: Sendable>(_ database: String, sealing: SecretSealing, logger: Logger,
                                          _ body: @Sendable (Stores) async throws -> T) async throws -> T {
        let stores = try await open(database, sealing: sealing, logger: logger)
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

/// Runs a PostgreSQL listener (session changes, client changes) while the process runs; a graceful shutdown ends it.
struct NotificationListener: Service {
    let listen: @Sendable () async -> Void

    func run() async throws {
        await cancelWhenGracefulShutdown { await listen() }
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
