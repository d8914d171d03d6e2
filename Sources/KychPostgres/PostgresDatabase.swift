import Foundation
import KychCore
import Logging
import NIOCore
import NIOSSL
import PostgresNIO
import _ConnectionPoolModule

/// Opens PostgreSQL connections for KyCH from a ``DatabaseURL``, failing fast with a clear message.
package enum PostgresDatabase {
    /// PostgresNIO pool configuration for `url`.
    package static func clientConfiguration(_ url: DatabaseURL, maxConnections: Int = 20) -> PostgresClient.Configuration {
        var config: PostgresClient.Configuration
        switch url.endpoint {
        case .tcp(let host, let port):
            config = .init(host: host, port: port, username: url.username, password: url.password,
                           database: url.database, tls: url.requireTLS ? .require(.makeClientConfiguration()) : .disable)
        case .unixSocket(let path):
            config = .init(unixSocketPath: path, username: url.username, password: url.password, database: url.database)
        }
        config.options.maximumConnections = maxConnections
        // PostgresNIO schedules a keep-alive timer, and an idle-timeout timer for a connection beyond the minimum, each
        // time a connection goes back to the pool: about 15 % of the gateway's CPU and memory that grew under load
        // (issue 13). Warm connections get no idle timer, and without keep-alive none gets the other; a connection the
        // server or network dropped fails its next query, which is answered 503 like any outage and then replaced.
        config.options.minimumConnections = warmConnections(of: maxConnections)
        config.options.keepAliveBehavior = nil
        config.options.connectionIdleTimeout = idleTimeout
        // A database host that drops packets fails a connection attempt here, not after PostgresNIO's 10 s.
        config.options.connectTimeout = PostgresPool.defaultAcquisitionTimeout
        return config
    }

    /// How long a connection beyond the warm ones stays open unused. Each time such a connection goes back to the
    /// pool, PostgresNIO starts an idle timer (`Task.sleep`) that the next lease cancels; a cancelled sleep keeps its
    /// task and its dispatch timer (about 700 bytes) until its deadline (swiftlang/swift#60441), so this bounds how long
    /// that garbage lives: with 600 s the gateway's RSS grew for ten minutes under sustained flows (issue 13).
    package static let idleTimeout: Duration = .seconds(60)

    /// The connections a pool keeps open while idle: all but one of the pool's, so that under load no connection is
    /// parked with an idle timer (with 8 warm, flows at concurrency 16 parked some 5 per flow, see ``idleTimeout``).
    /// `KYCH_PG_WARM_CONNECTIONS` lowers it (the test suite sets 0: it opens hundreds of pools on one server at once).
    package static func warmConnections(of maxConnections: Int,
                                        environment: [String: String] = ProcessInfo.processInfo.environment) -> Int {
        let warm = environment["KYCH_PG_WARM_CONNECTIONS"].flatMap { Int($0) }.map { max(0, $0) } ?? maxConnections
        return max(0, min(warm, maxConnections - 1))
    }

    static func connectionConfiguration(_ url: DatabaseURL) throws -> PostgresConnection.Configuration {
        switch url.endpoint {
        case .tcp(let host, let port):
            .init(host: host, port: port, username: url.username, password: url.password, database: url.database,
                  tls: url.requireTLS ? .require(try NIOSSLContext(configuration: .makeClientConfiguration())) : .disable)
        case .unixSocket(let path):
            .init(unixSocketPath: path, username: url.username, password: url.password, database: url.database)
        }
    }

    /// Opens one connection for `body`, then closes it. Connection failures become ``DatabaseUnavailable``
    /// at once (the pool would retry for a minute).
    package static func withConnection<T: Sendable>(_ url: DatabaseURL, logger: Logger,
                                                   _ body: (PostgresConnection) async throws -> T) async throws -> T {
        let connection: PostgresConnection
        do {
            connection = try await PostgresConnection.connect(configuration: try connectionConfiguration(url), id: 1, logger: logger)
        } catch {
            throw DatabaseUnavailable(url: url, reason: describe(error))
        }
        do {
            let result = try await body(connection)
            try? await connection.close()
            return result
        } catch {
            try? await connection.close()
            throw error
        }
    }

    /// Checks that the database answers, so a server can refuse to start with a clear message.
    package static func preflight(_ url: DatabaseURL, logger: Logger) async throws {
        try await withConnection(url, logger: logger) { connection in
            _ = try await connection.query("SELECT 1", logger: logger)
        }
    }

    /// A short operator-facing description of a PostgreSQL error (no query text, no binds).
    package static func describe(_ error: any Error) -> String {
        if let e = error as? PSQLError {
            if let message = e.serverInfo?[.message] { return message }
            if let underlying = e.underlying { return "\(underlying)" }
            return "\(e.code)"
        }
        return "\(error)"
    }

    /// A database error as an operator should read it, with a hint when the schema is missing.
    package static func operatorMessage(_ error: any Error) -> String {
        if sqlState(error) == "42P01" || sqlState(error) == "3F000" {
            return "database error: \(describe(error)) (is the schema installed? run kych-dbinit -c FILE, or the psql commands of the manual)"
        }
        return "database error: \(describe(error))"
    }

    /// Whether `error` means the database cannot serve now (down, restarting, out of connections, no connection in
    /// time) rather than that the request or the schema is wrong: such a request may succeed when retried.
    package static func isUnavailable(_ error: any Error) -> Bool {
        if error is DatabaseUnavailable || error is ConnectionPoolError { return true }
        guard let e = error as? PSQLError else { return false }
        switch e.code {
        case .connectionError, .serverClosedConnection, .clientClosedConnection, .uncleanShutdown, .poolClosed, .queryCancelled:
            return true
        case .server:
            // 08: connection exception; 53: insufficient resources (too many connections); 57P01-57P03: the server is
            // shutting down, crashed or starting.
            guard let state = sqlState(e) else { return false }
            return state.hasPrefix("08") || state.hasPrefix("53") || ["57P01", "57P02", "57P03"].contains(state)
        default:
            return false
        }
    }

    /// The SQLSTATE of a server error, if any (e.g. "23505" unique violation).
    static func sqlState(_ error: any Error) -> String? {
        (error as? PSQLError)?.serverInfo?[.sqlState]
    }
}

/// The database could not be reached, refused the login, or gave no connection in time.
package struct DatabaseUnavailable: Error, CustomStringConvertible {
    package var url: DatabaseURL?
    package var reason: String
    package var description: String {
        guard let url else { return "database unavailable: \(reason)" }
        return "cannot connect to the database \(url.redacted): \(reason)"
    }
}
