import KychCore
import KychOAuth
import Logging

/// ``SessionWakeups`` for every process on one PostgreSQL database: ``PostgresFlowStore`` sends
/// `NOTIFY kych_session, '<verification id>'` in the statement that applies a transition polls wait for (delivered
/// when it commits, no round trip of its own); each process keeps one connection that `LISTEN`s (``listen()``) and
/// wakes its own waiters. The payload is the verification id only.
package struct PostgresSessionWakeups: SessionWakeups {
    package static let channel = "kych_session"
    let url: DatabaseURL
    let logger: Logger
    /// This process's waiters.
    package let local = LocalSessionWakeups()
    /// The pause before the listener connects again after its connection dropped.
    package var reconnectDelay: Duration = .seconds(1)

    package init(url: DatabaseURL, logger: Logger) {
        self.url = url
        self.logger = logger
    }

    package func watch(_ verificationID: String) { local.watch(verificationID) }
    package func unwatch(_ verificationID: String) { local.unwatch(verificationID) }
    package func signals(_ verificationID: String) -> UInt64 { local.signals(verificationID) }

    package func wait(verificationID: String, after seen: UInt64, until deadline: ContinuousClock.Instant) async {
        await local.wait(verificationID: verificationID, after: seen, until: deadline)
    }

    package func signal(verificationID: String) async {
        await local.signal(verificationID: verificationID)
    }

    /// Listens until cancelled (``PostgresDatabase/listen(_:channel:reconnectDelay:logger:listening:interrupted:received:)``).
    /// Each (re)connection wakes every local waiter once, so a poll re-reads what changed while none could arrive.
    package func listen() async {
        await PostgresDatabase.listen(url, channel: Self.channel, reconnectDelay: reconnectDelay, logger: logger,
                                      listening: { local.signalAll() }, received: { await local.signal(verificationID: $0) })
    }
}
