import Foundation

/// A PostgreSQL connection string, `postgres://user:password@host:port/database`.
///
/// A Unix socket is selected libpq-style, by a `host` query parameter naming a directory
/// (`postgres:///kych?host=/var/run/postgresql`) or by a percent-encoded path as the host
/// (`postgres://%2Fvar%2Frun%2Fpostgresql/kych`). Credentials are percent-decoded.
package struct DatabaseURL: Sendable, Equatable {
    package enum Endpoint: Sendable, Equatable {
        case tcp(host: String, port: Int)
        case unixSocket(path: String)
    }

    package var endpoint: Endpoint
    package var username: String
    package var password: String?
    package var database: String
    /// `sslmode=require` (or stricter) asks for TLS.
    package var requireTLS: Bool

    package init(endpoint: Endpoint, username: String, password: String?, database: String, requireTLS: Bool = false) {
        self.endpoint = endpoint
        self.username = username
        self.password = password
        self.database = database
        self.requireTLS = requireTLS
    }

    /// Parses `string`; throws a message suitable for the operator (credentials never echoed).
    package init(parsing string: String) throws(DatabaseURLError) {
        guard let components = URLComponents(string: string), let scheme = components.scheme?.lowercased() else {
            throw DatabaseURLError(message: "not a URL of the form postgres://user:password@host:port/database")
        }
        guard scheme == "postgres" || scheme == "postgresql" else {
            throw DatabaseURLError(message: "unsupported scheme \"\(scheme)\" (expected postgres://)")
        }
        var query: [String: String] = [:]
        for item in components.queryItems ?? [] { query[item.name.lowercased()] = item.value ?? "" }
        let port = components.port ?? query["port"].flatMap(Int.init) ?? 5432
        let user = components.percentEncodedUser?.removingPercentEncoding ?? query["user"] ?? "postgres"
        let password = components.percentEncodedPassword?.removingPercentEncoding ?? query["password"]
        var db = components.path
        if db.hasPrefix("/") { db.removeFirst() }
        db = db.removingPercentEncoding ?? db
        if db.isEmpty { db = query["dbname"] ?? user }
        let host = components.percentEncodedHost?.removingPercentEncoding ?? ""
        if let dir = query["host"], dir.hasPrefix("/") {
            endpoint = .unixSocket(path: "\(dir)/.s.PGSQL.\(port)")
        } else if host.hasPrefix("/") {
            endpoint = .unixSocket(path: "\(host)/.s.PGSQL.\(port)")
        } else if host.isEmpty {
            endpoint = .unixSocket(path: "/var/run/postgresql/.s.PGSQL.\(port)")
        } else {
            endpoint = .tcp(host: host, port: port)
        }
        username = user
        self.password = password
        database = db
        requireTLS = ["require", "verify-ca", "verify-full"].contains(query["sslmode"]?.lowercased() ?? "")
    }

    /// The same connection with another database name.
    package func with(database: String) -> DatabaseURL {
        var copy = self
        copy.database = database
        return copy
    }

    /// A description safe for logs: no password.
    package var redacted: String {
        switch endpoint {
        case .tcp(let host, let port): "postgres://\(username)@\(host):\(port)/\(database)"
        case .unixSocket(let path): "postgres://\(username)@[\(path)]/\(database)"
        }
    }
}

package struct DatabaseURLError: Error, Sendable, CustomStringConvertible {
    package var message: String
    package var description: String { "invalid DATABASE: \(message)" }
}

/// Where KyCH keeps its data: PostgreSQL (`postgres://…`) or an embedded SQLite file
/// (`sqlite:///path/to/kych.db`, or `sqlite::memory:` for a throwaway in-memory database).
package enum DatabaseLocation: Sendable, Equatable {
    case postgres(DatabaseURL)
    /// nil: in memory.
    case sqlite(path: String?)

    package init(parsing string: String) throws(DatabaseURLError) {
        let lower = string.lowercased()
        if lower == "sqlite::memory:" || lower == "sqlite://:memory:" {
            self = .sqlite(path: nil)
        } else if lower.hasPrefix("sqlite:") {
            var path = String(string.dropFirst("sqlite:".count))
            if path.hasPrefix("//") { path.removeFirst(2) }
            guard !path.isEmpty else { throw DatabaseURLError(message: "sqlite: needs a file path, e.g. sqlite:///var/lib/kych/kych.db") }
            self = .sqlite(path: path.removingPercentEncoding ?? path)
        } else {
            self = .postgres(try DatabaseURL(parsing: string))
        }
    }

    /// A description safe for logs and prompts: no password.
    package var redacted: String {
        switch self {
        case .postgres(let url): url.redacted
        case .sqlite(let path): path.map { "sqlite://\($0)" } ?? "sqlite::memory:"
        }
    }
}
