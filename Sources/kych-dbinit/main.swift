import ArgumentParser
import Foundation
import KychCore
import KychOAuth
import KychPostgres
import KychSQLite
import KychStorage
import Logging

/// `kych-dbinit`: installs or upgrades KyCH's database schemas, idempotently.
@main
struct DBInit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kych-dbinit",
        abstract: "Create or upgrade the KyCH database schemas (same SQL files as the manual's psql commands; "
            + "a sqlite DATABASE gets its file and tables).",
        discussion: """
            A PostgreSQL DATABASE gets the patch files not yet recorded in _v.patches, from the first directory \
            holding versioning.sql among: --sql-dir, $KYCH_SQL_DIR, oauth2_gatewaydb or share/kych/oauth2_gatewaydb \
            next to or above the executable, the current directory's oauth2_gatewaydb (where the manual's psql -f \
            commands run), /usr/local/share/kych/oauth2_gatewaydb, /usr/share/kych/oauth2_gatewaydb.
            """)

    @Option(name: [.short, .long], help: "Configuration file (for the DATABASE setting).")
    var config: String = GatewayConfig.defaultPath
    @Option(help: "Directory holding versioning.sql and the patch files (default: $KYCH_SQL_DIR, else found as below).")
    var sqlDir: String?
    @Flag(help: "Drop KyCH's schemas (ALL DATA) and create them anew.")
    var reset = false
    @Flag(name: .short, help: "With --reset: do not ask for confirmation.")
    var y = false
    @Flag(help: "Then rotate the gateway's signing keys: add new ones, retire the present ones, delete those past retirement.")
    var rotateKeys = false
    @Option(help: "With --rotate-keys: seconds the new keys are published before they sign (relying parties' JWKS caches).")
    var publishAhead: Int = 3600
    @Option(help: "With --rotate-keys: seconds the replaced keys stay published after the new ones sign (the longest token lifetime).")
    var retain: Int = 86_400

    func validate() throws {
        guard publishAhead >= 0, retain >= 0 else { throw ValidationError("--publish-ahead and --retain must not be negative") }
    }

    func run() async throws {
        let plans = try SchemaPlan.plans(configPath: config)
        if reset && !y {
            guard isatty(STDIN_FILENO) == 1 else {
                throw CLIError("refusing to reset without confirmation: standard input is not a terminal (use -y)")
            }
            let databases = plans.map(\.location.redacted).joined(separator: ", ")
            FileHandle.standardError.write(Data("Drop all KyCH data in \(databases)? [y/N] ".utf8))
            let answer = readLine()?.trimmingCharacters(in: .whitespaces).lowercased() ?? ""
            guard answer == "y" || answer == "yes" else {
                print("Nothing changed.")
                throw ExitCode(1)
            }
        }
        var logger = Logger(label: "kych-dbinit")
        logger.logLevel = .error
        var applied: [String] = []
        for plan in plans {
            switch plan.location {
            case .postgres(let url):
                applied += try await installPostgres(plan, url: url, logger: logger)
            case .sqlite(nil):
                print("sqlite::memory: is created afresh by every process; nothing to initialise.")
            case .sqlite(let path?):
                let db = try await SQLiteDatabase.open(path: path, installingSchema: false, logger: logger)
                do {
                    let changes = try await db.installSchema()
                    let recreated = reset ? try await db.resetSchemas(plan.schemas) : []
                    try await db.close()
                    if let summary = Self.summary(changes, recreated: recreated) { applied.append("\(plan.location.redacted) (\(summary))") }
                } catch {
                    try? await db.close()
                    throw error
                }
            }
        }
        print(applied.isEmpty ? "Database is up to date." : "Applied: \(applied.joined(separator: ", "))")
        if rotateKeys { try await rotateSigningKeys(logger: logger) }
    }

    /// Rotates the gateway's signing keys (the rules: ``SigningKeys/rotate(publishAhead:retainAfterRetirement:)``) and
    /// prints the new kids.
    private func rotateSigningKeys(logger: Logger) async throws {
        let gateway = try CLISupport.loadConfig(config)
        let (deleted, new) = try await Stores.with(gateway.database, sealing: gateway.sealing, logger: logger) { stores in
            let keys = SigningKeys(store: stores.signingKeys, encryptionSecret: gateway.keyEncryptionSecret)
            let deleted = try await keys.deleteRetiredKeys()
            return (deleted, try await keys.rotate(publishAhead: TimeInterval(publishAhead), retainAfterRetirement: TimeInterval(retain)))
        }
        if deleted > 0 { print("Deleted \(deleted) retired signing key(s).") }
        for key in new {
            print("New \(key.algorithm.rawValue) signing key \(key.kid), signing from \(key.activatesAt.ISO8601Format())")
        }
    }

    /// "tables …; migrations …" for a SQLite file, nil if nothing happened to it.
    private static func summary(_ changes: SQLiteSchemaChanges, recreated: [String]) -> String? {
        var parts: [String] = []
        let tables = Set(changes.createdTables + recreated).sorted()
        if !tables.isEmpty { parts.append("tables " + tables.joined(separator: ", ")) }
        if !changes.migrations.isEmpty { parts.append("migrations " + changes.migrations.joined(separator: ", ")) }
        return parts.isEmpty ? nil : parts.joined(separator: "; ")
    }

    /// Applies the plan's patch files that are not yet recorded (after dropping its schemas with `--reset`).
    private func installPostgres(_ plan: SchemaPlan, url: DatabaseURL, logger: Logger) async throws -> [String] {
        guard let directory = SchemaInstaller.locateSQLDirectory(explicit: sqlDir) else {
            throw CLIError("cannot find the SQL files (oauth2_gatewaydb/versioning.sql); pass --sql-dir or set KYCH_SQL_DIR")
        }
        let installer = SchemaInstaller(directory: directory, logger: logger)
        let reset = reset
        return try await PostgresDatabase.withConnection(url, logger: logger) { connection in
            if reset { try await installer.reset(on: connection, schemas: plan.schemas, patches: plan.patches) }
            return try await installer.install(on: connection, patches: plan.patches)
        }
    }
}
