import Foundation
import KychPostgres
import PostgresNIO
import Testing

/// The prepared statements of the hot paths (issue 13): PostgreSQL cuts a statement name to 63 bytes, so two names that
/// begin alike would be one statement on a connection ("prepared statement … already exists"), as
/// `KychPostgres.Prepared<KychPostgres.PostgresFlowStore.ApplyTransition…>` once were.
@Suite struct HotStatementTests {
    @Test func namesAreUniqueWithinPostgreSQLsLimit() {
        let names = PostgresDatabase.hotStatements.map { $0.name }
        #expect(names.allSatisfy { !$0.isEmpty && $0.utf8.count <= 63 }, "\(names)")
        #expect(Set(names).count == names.count, "\(names)")
        #expect(Set(names.map { String($0.utf8.prefix(63))! }).count == names.count)
    }

    @Test(.enabled(if: ProcessInfo.processInfo.environment["KYCH_TEST_DATABASE_URL"] != nil))
    func everyStatementIsValidSQLOnTheSchema() async throws {
        let database = try await TestDatabase.createWithVerifier()
        try await PostgresDatabase.withConnection(database.url, logger: TestEnvironment.logger) { connection in
            for statement in PostgresDatabase.hotStatements {
                try await connection.query(PostgresQuery(unsafeSQL: "PREPARE \(statement.name) AS \(statement.sql)"), logger: TestEnvironment.logger)
            }
        }
    }
}
