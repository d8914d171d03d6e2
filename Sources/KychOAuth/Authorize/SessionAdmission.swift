import Foundation
import KychCore
import Synchronization

/// Token buckets keyed by a string (a source address, a client id), in this process's memory: a key may take
/// `perMinute` at once and earns them back evenly over a minute. A bucket that has filled up again is the same as
/// none, so such buckets are dropped whenever the table has doubled: memory follows the keys of the last minute.
package final class RateLimiter: Sendable {
    package let perMinute: Int
    private let table = Mutex(Table())

    private struct Table {
        var buckets: [String: (tokens: Double, at: Date)] = [:]
        var sweepAbove = 1024
    }

    package init(perMinute: Int) {
        self.perMinute = max(1, perMinute)
    }

    /// Takes one for `key` at `now`: nil when granted, else the whole seconds until one is available (for `Retry-After`).
    package func take(_ key: String, now: Date) -> Int? {
        let capacity = Double(perMinute), perSecond = capacity / 60
        return table.withLock { table in
            var bucket = table.buckets[key] ?? (tokens: capacity, at: now)
            bucket.tokens = min(capacity, bucket.tokens + max(0, now.timeIntervalSince(bucket.at)) * perSecond)
            bucket.at = now
            defer {
                table.buckets[key] = bucket
                if table.buckets.count > table.sweepAbove {
                    table.buckets = table.buckets.filter { $0.value.tokens + now.timeIntervalSince($0.value.at) * perSecond < capacity }
                    table.sweepAbove = max(1024, 2 * table.buckets.count)
                }
            }
            guard bucket.tokens >= 1 else { return max(1, Int(((1 - bucket.tokens) / perSecond).rounded(.up))) }
            bucket.tokens -= 1
            return nil
        }
    }

    /// How many keys are tracked (for tests of the sweep).
    package var trackedKeys: Int { table.withLock { $0.buckets.count } }
}

/// Admission of sessions that a nonce-less `/authorize` starts. Anyone may send such a request, and each one creates a
/// session and a verification at the client's verifier, so (issue 12, finding 5) they are limited per source address
/// (first, so one address cannot use up a client's share) and per client in this process, and a client's waiting
/// nonce-less sessions are capped across all instances by counting them in the store. The cap is soft: concurrent
/// requests may pass the count together and go a few over it.
package struct SessionAdmission: Sendable {
    package let limits: AuthorizeWithoutSetupLimits
    package let perAddress: RateLimiter
    package let perClient: RateLimiter
    /// What a refused request is told to wait when the cap is reached: waiting sessions end by the idle purge at the latest.
    static let capRetrySeconds = 60

    package init(limits: AuthorizeWithoutSetupLimits) {
        self.limits = limits
        perAddress = RateLimiter(perMinute: limits.perAddressPerMinute)
        perClient = RateLimiter(perMinute: limits.perClientPerMinute)
    }

    /// The statuses of a session still waiting for a wallet: what the cap counts and the idle purge ends.
    package static let waiting = SessionEvent.abandoned.from

    /// Throws ``FlowError/retryLater(status:kind:seconds:message:)`` when `client` may not start another session
    /// without `/setup` now for a request from `source` (nil: unknown, then only the client's limits apply).
    func admit(_ client: Client, source: String?, now: Date, store: any FlowStore) async throws {
        if let source, let wait = perAddress.take(source, now: now) {
            throw FlowError.retryLater(status: 429, kind: .tooManyRequests, seconds: wait,
                                       message: "Too many verifications were started from your network address. Please wait a moment and try again.")
        }
        if let wait = perClient.take(client.clientID, now: now) {
            throw FlowError.retryLater(status: 429, kind: .tooManyRequests, seconds: wait,
                                       message: "Too many verifications are being started for this service. Please wait a moment and try again.")
        }
        let waiting = try await store.countSessionsWithoutSetup(clientID: client.clientID, statuses: Self.waiting, expiringAfter: now,
                                                                limit: limits.maxPendingPerClient)
        if waiting >= limits.maxPendingPerClient {
            throw FlowError.retryLater(status: 503, kind: .busy, seconds: Self.capRetrySeconds,
                                       message: "Too many verifications for this service are waiting for a wallet. Please try again in a minute.")
        }
    }
}
