import Foundation
import KychCore
import KychOAuth
import KychStorage
import Testing

/// Two gateway processes on one PostgreSQL database keep their clients in memory (issue 13); a change made through
/// either, or by `kych-client-management` in a third, reaches the other through the trigger's `NOTIFY kych_client`.
@Suite(.timeLimit(.minutes(2))) struct ClientCacheTests {
    @Test func aClientChangeOnOneInstanceReachesTheOther() async throws {
        let db = try await TestDatabase.create()
        let client = StoreContractTests.client
        try await Stores.with(db.connectionString, sealing: .unencrypted, logger: TestEnvironment.logger) { a in
            try await Stores.with(db.connectionString, sealing: .unencrypted, logger: TestEnvironment.logger) { b in
                try await Self.listening(db, count: 2)
                try await b.clients.createClient(client)
                try await Self.eventually { try await a.clients.client(id: "c1") == client }
                #expect(try await a.clients.client(id: "c1") == client)   // now from memory

                var changed = client
                changed.redirectURI = "https://moved.example/cb"
                try await b.clients.updateClient(changed)
                try await Self.eventually { try await a.clients.client(id: "c1") == changed }

                // A change made by hand in the database is announced too.
                _ = try await db.strings("UPDATE oauth2gw.clients SET client_name = 'Renamed'")
                try await Self.eventually { try await a.clients.client(id: "c1")?.clientName == "Renamed" }

                #expect(try await b.clients.deleteClient(id: "c1"))
                try await Self.eventually { try await a.clients.client(id: "c1") == nil }
                #expect(try await a.clients.listClients().isEmpty)
            }
        }
    }

    /// Waits until `count` connections LISTEN for client changes.
    static func listening(_ db: TestDatabase, count: Int) async throws {
        try await eventually {
            try await db.strings("""
                SELECT pid::text FROM pg_stat_activity WHERE datname = current_database() AND query ILIKE 'listen%kych_client%'
                """).count == count
        }
    }

    /// Polls `condition` for up to 5 s (a notification arrives in milliseconds).
    static func eventually(_ condition: () async throws -> Bool) async throws {
        for _ in 0..<250 {
            if try await condition() { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        Issue.record("the change did not arrive within 5 s")
    }
}
