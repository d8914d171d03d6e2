import KychCore
import Logging
import Metrics
import NIOConcurrencyHelpers
import PostgresNIO

extension PostgresDatabase {
    /// Runs `body` with a running connection pool for `url`, checking the server first so that a wrong
    /// address or password fails at once with ``DatabaseUnavailable``.
    package static func withPool<T: Sendable>(_ url: DatabaseURL, logger: Logger,
                                             _ body: @Sendable (PostgresClient) async throws -> T) async throws -> T {
        try await preflight(url, logger: logger)
        let client = PostgresClient(configuration: clientConfiguration(url, maxConnections: 4), backgroundLogger: logger)
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask {
                await client.run()
                return nil
            }
            defer { group.cancelAll() }
            return try await body(client)
        }
    }
}

/// The pool the stores use: PostgresNIO's client with a bound on waiting for a connection. While the database is
/// down the client queues requests until its circuit breaker trips a minute later; here a request that has no
/// connection after ``acquisitionTimeout`` fails with ``DatabaseUnavailable`` instead, so the HTTP layer can answer
/// 503 at once. A request that got its connection is never cut short.
package struct PostgresPool: Sendable {
    package let client: PostgresClient
    package let acquisitionTimeout: Duration

    /// How long a request waits for a connection (the database down, or every connection busy).
    package static let defaultAcquisitionTimeout: Duration = .seconds(5)

    package init(_ client: PostgresClient, acquisitionTimeout: Duration = defaultAcquisitionTimeout) {
        self.client = client
        self.acquisitionTimeout = acquisitionTimeout
    }

    /// Runs `query` on a pooled connection. Once sent, a query runs to its end (PostgresNIO does not cancel it).
    @discardableResult
    package func query(_ query: PostgresQuery, logger: Logger) async throws -> PostgresRowSequence {
        try await bounded { _ in try await client.query(query, logger: logger) }
    }

    /// Runs the prepared statement of `Statement` on a pooled connection (prepared there at its first use, so
    /// PostgreSQL parses and plans it once per connection, not per request) with the values of `values`, a query of
    /// placeholders only (`"\(a)\(b)"`, in the order of the statement's `$1`, `$2`, …), so each value is bound as in an
    /// ad hoc query; its rows.
    @discardableResult
    package func rows<Statement: HotStatement>(_ statement: Statement.Type, _ values: PostgresQuery,
                                               logger: Logger) async throws -> [PostgresRow] {
        try await bounded { _ in
            var rows: [PostgresRow] = []
            for try await row in try await client.execute(Prepared<Statement>(bindings: values.binds), logger: logger) {
                rows.append(row)
            }
            return rows
        }
    }

    /// Runs `body` with a leased connection.
    package func withConnection<R: Sendable>(_ body: @escaping @Sendable (PostgresConnection) async throws -> R) async throws -> R {
        try await bounded { leased in
            try await client.withConnection { connection in
                try leased()
                return try await body(connection)
            }
        }
    }

    /// Runs `body` in a transaction on a leased connection (committed when it returns, rolled back when it throws).
    package func withTransaction<R: Sendable>(logger: Logger,
                                              _ body: @escaping @Sendable (PostgresConnection) async throws -> R) async throws -> R {
        try await bounded { leased in
            try await client.withConnection { connection in
                try leased()
                return try await connection.withTransaction(logger: logger) { try await body($0) }
            }
        }
    }

    /// Runs `operation` bounded by the acquisition timeout. `operation` calls `leased` once it holds a connection: from
    /// then on the timeout no longer applies; after the timeout `leased` throws, so a late connection goes back unused.
    /// Without that call (``query(_:logger:)``) the timeout cancels the operation, which PostgresNIO honours only
    /// while it waits for a connection. The operation runs in a task of its own so that it can be cancelled; its
    /// deadline is kept by ``Deadlines``, one timer for all of them (a timer per statement cost about a
    /// fifth of the gateway's CPU per `/info`, docs/performance.md).
    private func bounded<R: Sendable>(
        _ operation: @escaping @Sendable (_ leased: @escaping @Sendable () throws -> Void) async throws -> R
    ) async throws -> R {
        let state = NIOLockedValueBox(Acquisition.waiting)
        let requested = ContinuousClock.now
        let timeout = acquisitionTimeout
        let unavailable = DatabaseUnavailable(reason: "no database connection within \(timeout)")
        let leased: @Sendable () throws -> Void = {
            try state.withLockedValue { state in
                guard state == .waiting else { throw unavailable }
                state = .leased
            }
            Metrics.Timer(label: "kych_db_pool_wait_seconds").record(duration: ContinuousClock.now - requested)
        }
        let task = Task { try await operation(leased) }
        let deadline = Deadlines.shared.add(requested + timeout) {
            // Give up the wait unless the operation already holds its connection.
            let expired = state.withLockedValue { state in
                if state == .waiting { state = .timedOut }
                return state == .timedOut
            }
            if expired { task.cancel() }
        }
        defer { Deadlines.shared.remove(deadline) }
        do {
            return try await withTaskCancellationHandler { try await task.value } onCancel: { task.cancel() }
        } catch {
            // After the timeout the operation fails as cancelled while waiting, or by `leased`.
            if state.withLockedValue({ $0 }) == .timedOut { throw unavailable }
            throw error
        }
    }

    private enum Acquisition { case waiting, leased, timedOut }
}

/// A statement the hot paths run on every request (a token at `/info`, a code at `/token`, a session at `/status`, a
/// wallet's answer): its SQL becomes a server-side prepared statement of each pooled connection
/// (``PostgresPool/rows(_:_:logger:)``), parsed and planned once instead of per request (issue 13: parsing and planning
/// were about a quarter of PostgreSQL's CPU per flow).
package protocol HotStatement {
    /// The prepared statement's name: unique, and at most 63 bytes, since PostgreSQL cuts longer names short (two
    /// statements whose names begin alike would then be one; ``HotStatementTests`` checks both).
    static var name: String { get }
    static var sql: String { get }
}

/// ``HotStatement`` as PostgresNIO's prepared statement, named after the statement, its rows left to the caller to decode.
struct Prepared<Read: HotStatement>: PostgresPreparedStatement {
    typealias Row = PostgresRow
    static var name: String { Read.name }
    static var sql: String { Read.sql }
    let bindings: PostgresBindings

    func makeBindings() -> PostgresBindings { bindings }
    func decodeRow(_ row: PostgresRow) -> PostgresRow { row }
}

extension PostgresDatabase {
    /// Every ``HotStatement`` of the stores, whose names must differ within PostgreSQL's 63 bytes.
    package static let hotStatements: [any HotStatement.Type] = [
        PostgresFlowStore.CreateSession.self, PostgresFlowStore.RedeemCode.self, PostgresFlowStore.SessionByNonce.self,
        PostgresFlowStore.SessionByVerification.self, PostgresFlowStore.CodeByHash.self, PostgresFlowStore.TokenByHash.self,
        PostgresFlowStore.ApplyTransition.self, PostgresFlowStore.ApplyTransitionIssuingCode.self,
        PostgresVerificationStore.Create.self, PostgresVerificationStore.ByID.self, PostgresVerificationStore.Claim.self,
        PostgresVerificationStore.Finish.self, PostgresVerificationStore.Delivered.self,
    ]
}
