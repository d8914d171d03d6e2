import KychCore
import KychPostgres
import Testing

/// Issue 13 (RSS growing under sustained flows): each time a connection beyond the warm ones goes back to PostgresNIO's
/// pool, the pool starts an idle timer that the next lease cancels, and a cancelled `Task.sleep` keeps its task and
/// dispatch timer until its deadline. A heap profile of 3,000 flows found some 15,000 of them alive (10 MB) with 8 warm
/// connections and an idle timeout of 600 s, and none with 19 warm. These pin the pool settings that keep it so.
@Suite struct PostgresPoolTimerTests {
    @Test func underLoadNoConnectionIsParkedWithATimer() {
        #expect(PostgresDatabase.warmConnections(of: 20, environment: [:]) == 19)
        #expect(PostgresDatabase.warmConnections(of: 20, environment: ["KYCH_PG_WARM_CONNECTIONS": "0"]) == 0)
        #expect(PostgresDatabase.warmConnections(of: 4, environment: ["KYCH_PG_WARM_CONNECTIONS": "50"]) == 3)
    }

    @Test func aParkedConnectionsTimerLivesAtMostAMinute() throws {
        let options = PostgresDatabase.clientConfiguration(try DatabaseURL(parsing: "postgres://kych@127.0.0.1/kych")).options
        #expect(options.keepAliveBehavior == nil, "a keep-alive timer on every return to the pool")
        #expect(options.connectionIdleTimeout <= .seconds(60), "a cancelled idle timer's memory lives as long")
    }
}
