import KychCore
import KychOAuth
import Logging
import PostgresNIO

/// ``SessionWakeups`` for every process on one PostgreSQL database: a signal wakes this process's waiters and
/// sends `NOTIFY kych_session, '<verification id>'` right after the change committed; each process keeps one
/// connection that `LISTEN`s (``listen()``) and wakes its own waiters. The payload is the verification id only.
package struct PostgresSessionWakeups: SessionWakeups {
    package static let channel = "kych_session"
    let url: DatabaseURL
    let client: PostgresClient
    let logger: Logger
    /// This process's waiters.
    package let local = LocalSessionWakeups()
    /// The pause before the listener connects again after its connection dropped.
    package var reconnectDelay: Duration = .seconds(1)

    package init(url: DatabaseURL, client: PostgresClient, logger: Logger) {
        self.url = url
        self.client = client
        self.logger = logger
    }

    package func wait(verificationID: String, until deadline: ContinuousClock.Instant) async {
        await local.wait(verificationID: verificationID, until: deadline)
    }

    package func signal(verificationID: String) async {
        await local.signal(verificationID: verificationID)
        do {
            try await client.query("SELECT pg_notify(\(Self.channel), \(verificationID))", logger: logger)
        } catch {
            // The other instances' polls then see the change at their next fallback read.
            logger.warning("session change not announced to other instances", metadata: ["error": "\(PostgresDatabase.describe(error))"])
        }
    }

    /// Listens until cancelled (``PostgresDatabase/listen(_:channel:reconnectDelay:logger:listening:interrupted:received:)``).
    /// Each (re)connection wakes every local waiter once, so a poll re-reads what changed while none could arrive.
    package func listen() async {
        await PostgresDatabase.listen(url, channel: Self.channel, reconnectDelay: reconnectDelay, logger: logger,
                                      listening: { local.signalAll() }, received: { await local.signal(verificationID: $0) })
    }
}
