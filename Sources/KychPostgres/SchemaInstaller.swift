import Foundation
import KychCore
import Logging
import PostgresNIO

/// Applies KyCH's SQL patch files (the same files an operator runs with `psql -f`), skipping
/// patches already recorded in `_v.patches`.
package struct SchemaInstaller: Sendable {
    /// The patch files of the gateway, in order; `versioning.sql` comes first, always.
    package static let gatewayPatches = ["oauth2gw-0001", "oauth2gw-0002", "oauth2gw-0003", "oauth2gw-0004", "oauth2gw-0005", "oauth2gw-0006",
                                               "oauth2gw-0007", "oauth2gw-0008", "oauth2gw-0009", "oauth2gw-0010",
                                               "oauth2gw-0011", "oauth2gw-0012", "oauth2gw-0013"]
    /// Schemas `--reset` drops.
    package static let gatewaySchemas = ["oauth2gw"]

    package var directory: URL
    package var logger: Logger

    package init(directory: URL, logger: Logger) {
        self.directory = directory
        self.logger = logger
    }

    /// Finds the `oauth2_gatewaydb` directory: `explicit`, then `$KYCH_SQL_DIR`, then next to or above the
    /// running executable (source tree or `PREFIX/share/kych/oauth2_gatewaydb`), then the current directory's
    /// (where the manual's `psql -f oauth2_gatewaydb/…` commands run, for binaries built with `--scratch-path`
    /// elsewhere or installed without `share/kych`), then `/usr/local/share` and `/usr/share`.
    package static func locateSQLDirectory(explicit: String? = nil) -> URL? {
        let fm = FileManager.default
        func valid(_ url: URL) -> Bool { fm.fileExists(atPath: url.appendingPathComponent("versioning.sql").path) }
        if let explicit { return URL(fileURLWithPath: explicit) }
        if let env = ProcessInfo.processInfo.environment["KYCH_SQL_DIR"], !env.isEmpty { return URL(fileURLWithPath: env) }
        // The executable's own path: argv[0] is a bare name when the program was found on PATH.
        let executable = (try? fm.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var dir = URL(fileURLWithPath: executable).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<8 {
            for candidate in [dir.appendingPathComponent("oauth2_gatewaydb"),
                              dir.appendingPathComponent("share/kych/oauth2_gatewaydb")] where valid(candidate) {
                return candidate
            }
            dir = dir.deletingLastPathComponent()
        }
        let currentDirectory = URL(fileURLWithPath: fm.currentDirectoryPath).appendingPathComponent("oauth2_gatewaydb")
        for url in [currentDirectory] + ["/usr/local/share/kych/oauth2_gatewaydb", "/usr/share/kych/oauth2_gatewaydb"].map(URL.init(fileURLWithPath:))
        where valid(url) {
            return url
        }
        return nil
    }

    /// Applies `versioning.sql` and every patch not yet applied. Returns the names of the patches applied now.
    @discardableResult
    package func install(on connection: PostgresConnection, patches: [String] = SchemaInstaller.gatewayPatches) async throws -> [String] {
        try await run(file: "versioning", on: connection)
        var applied: [String] = []
        for patch in patches {
            let rows = try await connection.query("SELECT 1 FROM _v.patches WHERE patch_name = \(patch)", logger: logger)
            var exists = false
            for try await _ in rows { exists = true }
            if exists { continue }
            try await run(file: patch, on: connection)
            applied.append(patch)
            logger.info("database patch applied", metadata: ["patch": "\(patch)"])
        }
        return applied
    }

    /// Brings installed schemas up to date: a database set up with the manual's psql commands (or by an
    /// earlier release) gets the later gateway and verifier patches when a KyCH program opens it. A schema
    /// not installed is left alone (installing it stays the operator's step). An advisory lock makes
    /// instances that start together apply each patch once.
    package static func upgradeInstalledSchema(_ url: DatabaseURL, logger: Logger) async throws {
        try await PostgresDatabase.withConnection(url, logger: logger) { connection in
            func strings(_ query: PostgresQuery) async throws -> [String] {
                var out: [String] = []
                for try await value in try await connection.query(query, logger: logger).decode(String?.self) { out.append(value ?? "") }
                return out
            }
            guard try await strings("SELECT to_regclass('_v.patches')::text") != [""] else { return }
            let applied = Set(try await strings("SELECT patch_name FROM _v.patches"))
            let missing = [gatewayPatches, verifierPatches].flatMap { patches in
                patches.first.map(applied.contains) == true ? patches.filter { !applied.contains($0) } : []
            }
            guard !missing.isEmpty else { return }
            guard let directory = locateSQLDirectory() else {
                throw SchemaInstallerError(message: "the database lacks the patches \(missing.joined(separator: ", ")) and their SQL files "
                    + "were not found; run kych-dbinit -c FILE, or psql -f each oauth2_gatewaydb/<patch>.sql")
            }
            // Held until this connection closes, right after the upgrade.
            _ = try await connection.query("SELECT pg_advisory_lock(\(advisoryLock))", logger: logger)
            _ = try await SchemaInstaller(directory: directory, logger: logger).install(on: connection, patches: missing)
        }
    }

    /// Which of `patches` the database lacks (all of them when `_v.patches` does not exist): what `/health` checks.
    package static func missingPatches(_ patches: [String], pool: PostgresPool, logger: Logger) async throws -> [String] {
        var applied: Set<String> = []
        do {
            for try await name in try await pool.query("SELECT patch_name FROM _v.patches", logger: logger).decode(String.self) {
                applied.insert(name)
            }
        } catch where PostgresDatabase.sqlState(error) == "42P01" || PostgresDatabase.sqlState(error) == "3F000" {
            return patches
        }
        return patches.filter { !applied.contains($0) }
    }

    /// The advisory lock key of schema upgrades ("KyCHsche").
    static let advisoryLock: Int64 = 0x4B79_4348_7363_6865

    /// Drops the given schemas and their `_v` records, so `install` recreates them.
    package func reset(on connection: PostgresConnection, schemas: [String] = SchemaInstaller.gatewaySchemas,
                      patches: [String] = SchemaInstaller.gatewayPatches) async throws {
        let drops = schemas.map { "DROP SCHEMA IF EXISTS \($0) CASCADE;" }.joined(separator: "\n")
        let names = patches.map { "'\($0)'" }.joined(separator: ",")
        try await simple("""
            BEGIN;
            \(drops)
            DO $$ BEGIN
              IF to_regclass('_v.patches') IS NOT NULL THEN
                DELETE FROM _v.patches WHERE patch_name IN (\(names));
              END IF;
            END $$;
            COMMIT;
            """, on: connection)
        logger.info("database schemas dropped", metadata: ["schemas": "\(schemas.joined(separator: ","))"])
    }

    private func run(file name: String, on connection: PostgresConnection) async throws {
        let url = directory.appendingPathComponent("\(name).sql")
        guard let data = FileManager.default.contents(atPath: url.path), let sql = String(data: data, encoding: .utf8) else {
            throw SchemaInstallerError(message: "cannot read \(url.path)")
        }
        do {
            try await simple(sql, on: connection)
        } catch {
            throw SchemaInstallerError(message: "\(url.lastPathComponent): \(PostgresDatabase.describe(error))")
        }
    }

    /// Runs a script statement by statement; if one fails inside the script's transaction, rolls it back.
    /// The statements of an SQL script, split as ``SchemaInstaller`` runs them.
    package static func statements(_ sql: String) -> [String] { SQLScript.statements(sql) }

    private func simple(_ sql: String, on connection: PostgresConnection) async throws {
        do {
            for statement in SQLScript.statements(sql) {
                try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
            }
        } catch {
            _ = try? await connection.query("ROLLBACK", logger: logger)
            throw error
        }
    }
}

package struct SchemaInstallerError: Error, CustomStringConvertible {
    package var message: String
    package var description: String { message }
}
