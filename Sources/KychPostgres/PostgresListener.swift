import KychCore
import KychVerifierModel
import Logging
import PostgresNIO

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
                                      logger: logger, listening: { wake() }, received: { _ in wake() })
    }
}
