import Foundation
import KychCore
import KychPostgres
import NIOConcurrencyHelpers
import PostgresNIO
import Testing

/// Issue 12's outage bound (a statement without a connection fails after the acquisition timeout, one that holds its
/// connection is never cut short) kept by one deadline timer for all statements (issue 13: a timer per statement cost
/// about a fifth of the gateway's CPU per `/info`).
@Suite struct PostgresPoolBoundTests {
    @Test func aDeadlineFiresOnceAndARemovedOneNever() async throws {
        let fired = NIOLockedValueBox<[String]>([])
        let (stream, continuation) = AsyncStream.makeStream(of: String.self)
        let deadlines = Deadlines.shared
        let soon = ContinuousClock.now + .milliseconds(50)
        _ = deadlines.add(soon) { fired.withLockedValue { $0.append("kept") }; continuation.yield("kept") }
        let removed = deadlines.add(soon) { fired.withLockedValue { $0.append("removed") } }
        deadlines.remove(removed)
        for await name in stream { #expect(name == "kept"); break }
        try await Task.sleep(for: Deadlines.tick * 3)
        #expect(fired.withLockedValue { $0 } == ["kept"])
    }

    @Test func aStatementWithoutAConnectionFailsAsUnavailable() async throws {
        // Nothing listens on port 1: PostgresNIO keeps retrying the connection while the statement waits for one.
        try await withPool(try DatabaseURL(parsing: "postgres://kych@127.0.0.1:1/kych"), acquisitionTimeout: .milliseconds(200)) { pool in
            await #expect(throws: DatabaseUnavailable.self) { try await pool.query("SELECT 1", logger: TestEnvironment.logger) }
            await #expect(throws: DatabaseUnavailable.self) {
                try await pool.withConnection { connection in try await connection.query("SELECT 1", logger: TestEnvironment.logger) }
            }
        }
    }

    @Test func aCancelledRequestStopsWaitingAtOnce() async throws {
        try await withPool(try DatabaseURL(parsing: "postgres://kych@127.0.0.1:1/kych"), acquisitionTimeout: .seconds(20)) { pool in
            let waiting = Task { try await pool.query("SELECT 1", logger: TestEnvironment.logger) }
            try await Task.sleep(for: .milliseconds(100))
            waiting.cancel()
            // Not the acquisition timeout (20 s, then DatabaseUnavailable): the request's own cancellation reached the wait.
            let result = await waiting.result
            #expect(throws: (any Error).self) { try result.get() }
            if case .failure(let error) = result { #expect(!(error is DatabaseUnavailable), "\(error)") }
        }
    }

    @Test(.enabled(if: ProcessInfo.processInfo.environment["KYCH_TEST_DATABASE_URL"] != nil))
    func aStatementThatHoldsItsConnectionOutlivesTheTimeout() async throws {
        try await withPool(try TestEnvironment.serverURL(), acquisitionTimeout: .seconds(2)) { pool in
            // A connection first, with time to spare (a loaded machine may take seconds to open one or to run the
            // pool's task), then a statement that holds it three times as long as the bound.
            try await PostgresPool(pool.client, acquisitionTimeout: .seconds(120)).query("SELECT 1", logger: TestEnvironment.logger)
            let slept = try await pool.withConnection { connection in
                let rows = try await connection.query("SELECT pg_sleep(6)::text, 42", logger: TestEnvironment.logger)
                var answers: [Int] = []
                for try await (_, answer) in rows.decode((String, Int).self) { answers.append(answer) }
                return answers
            }
            #expect(slept == [42])
        }
    }

    private func withPool(_ url: DatabaseURL, acquisitionTimeout: Duration,
                          _ body: @Sendable (PostgresPool) async throws -> Void) async throws {
        let client = PostgresClient(configuration: PostgresDatabase.clientConfiguration(url),
                                    backgroundLogger: TestEnvironment.logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            defer { group.cancelAll() }
            try await body(PostgresPool(client, acquisitionTimeout: acquisitionTimeout))
        }
    }
}
