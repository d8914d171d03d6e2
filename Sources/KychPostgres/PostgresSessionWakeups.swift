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

extension PostgresDatabase {
    /// Listens on `channel` on a connection of its own until cancelled, connecting again after `reconnectDelay` when the
    /// connection drops: `listening` runs once `LISTEN` is in effect, `received` with each notification's payload, and
    /// `interrupted` when the connection ended (notifications may be lost until the next `listening`).
    package static func listen(_ url: DatabaseURL, channel: String, reconnectDelay: Duration, logger: Logger,
                               listening: @escaping @Sendable () async -> Void, interrupted: @escaping @Sendable () async -> Void = {},
                               received: @escaping @Sendable (String) async -> Void) async {
        while !Task.isCancelled {
            do {
                try await withConnection(url, logger: logger) { connection in
                    try await connection.listen(on: channel) { notifications in
                        await listening()
                        for try await notification in notifications { await received(notification.payload) }
                    }
                }
            } catch let error where !Task.isCancelled {
                logger.warning("notifications interrupted; reconnecting", metadata: ["channel": "\(channel)", "error": "\(describe(error))"])
            } catch {
                await interrupted()
                return
            }
            await interrupted()
            try? await Task.sleep(for: reconnectDelay)
        }
    }
}
