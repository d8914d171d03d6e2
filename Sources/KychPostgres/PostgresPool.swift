import KychCore
import Logging
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
