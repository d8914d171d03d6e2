import KychCore
import KychVerifierModel
import Logging
import PostgresNIO

extension PostgresDatabase {
    /// Listens on `channel` on a connection of its own until the task is cancelled, connecting again after
    /// `reconnectDelay` when the connection drops. `connected` runs on each (re)connection, before the first
    /// notification: what changed while none could arrive must be looked at then.
    static func listen(_ url: DatabaseURL, channel: String, reconnectDelay: Duration, logger: Logger, connected: @Sendable () -> Void,
                       notified: @Sendable (_ payload: String) async -> Void) async {
        while !Task.isCancelled {
            do {
                try await withConnection(url, logger: logger) { connection in
                    try await connection.listen(on: channel) { notifications in
                        connected()
                        for try await notification in notifications { await notified(notification.payload) }
                    }
                }
            } catch let error where !Task.isCancelled {
                logger.warning("database notifications interrupted; reconnecting", metadata: [
                    "channel": "\(channel)", "error": "\(describe(error))",
                ])
            } catch {
                return
            }
            try? await Task.sleep(for: reconnectDelay)
        }
    }
}

/// ``OutboxNotifications`` on PostgreSQL: `LISTEN` on ``PostgresVerificationStore/outboxChannel``, on which every
/// process's webhook events are announced as they commit.
package struct PostgresOutboxNotifications: OutboxNotifications {
    let url: DatabaseURL
    let logger: Logger
    /// The pause before the listener connects again after its connection dropped.
    package var reconnectDelay: Duration = .seconds(1)

    package init(url: DatabaseURL, logger: Logger) {
        self.url = url
        self.logger = logger
    }

    package func listen(_ wake: @escaping @Sendable () -> Void) async {
        await PostgresDatabase.listen(url, channel: PostgresVerificationStore.outboxChannel, reconnectDelay: reconnectDelay,
                                      logger: logger, connected: wake, notified: { _ in wake() })
    }
}
