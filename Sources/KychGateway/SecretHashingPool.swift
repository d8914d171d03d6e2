import KychCore
import KychOAuth
import NIOCore
import NIOPosix
import Synchronization

/// bcrypt's own threads, apart from the event loops and from `NIOThreadPool.singleton`, where SQLite does its
/// I/O: a flood of secrets to check waits here, not in front of every other request. At most `capacity` checks
/// run or wait; the next is answered 503 with `Retry-After` at once instead of queueing without bound.
package final class SecretHashingPool: Sendable {
    /// The gateway's pool: half the cores (at least one thread), up to 16 waiting checks per thread.
    package static let shared = SecretHashingPool()

    private let pool: NIOThreadPool
    private let admitted = Atomic<Int>(0)
    /// Checks running and waiting at most.
    package let capacity: Int

    package init(threads: Int = max(1, System.coreCount / 2), waiting: Int? = nil) {
        pool = NIOThreadPool(numberOfThreads: threads)
        pool.start()
        capacity = threads + (waiting ?? 16 * threads)
    }

    /// Runs `work` on the pool; throws ``FlowError/retryLater(status:description:seconds:)`` (503) when full.
    package func run<T: Sendable>(_ work: @escaping @Sendable () -> T) async throws -> T {
        guard admitted.add(1, ordering: .relaxed).newValue <= capacity else {
            admitted.subtract(1, ordering: .relaxed)
            throw FlowError.retryLater(status: 503, description: "too many client secrets to check at once; retry shortly", seconds: 1)
        }
        defer { admitted.subtract(1, ordering: .relaxed) }
        return try await pool.runIfActive(work)
    }

    /// Whether `secret` matches the bcrypt `hash`, checked on the pool: the server's ``ClientAuthenticator/SecretCheck``.
    package func checkSecret(_ secret: String, hash: String) async throws -> Bool {
        try await run { Secrets.verifySecret(secret, hash: hash) }
    }

    /// Stops the threads once the checks under way are done (the shared pool lives as long as the process).
    package func shutdown() async throws {
        try await pool.shutdownGracefully()
    }
}
