import Foundation
import Synchronization

/// When each verification last made a webhook ask the verifier, so that forged or repeated
/// notifications cost at most one verifier request per verification and interval in this process
/// (the `/status` poll has its own, store-wide claim). It remembers only verifications that
/// notifications named recently: entries older than the interval are dropped as new ones come.
package final class NotificationThrottle: Sendable {
    package let interval: TimeInterval
    private let lastAdmitted = Mutex<[String: Date]>([:])
    /// Above this many entries, stale ones are dropped before a new one is added.
    private static let pruneAbove = 1024

    package init(interval: TimeInterval) {
        self.interval = interval
    }

    /// Whether a notification about `verificationID` may ask the verifier at `now`; if so, counts it.
    package func admit(_ verificationID: String, now: Date) -> Bool {
        lastAdmitted.withLock { last in
            if let previous = last[verificationID], abs(now.timeIntervalSince(previous)) < interval { return false }
            if last.count > Self.pruneAbove { last = last.filter { abs(now.timeIntervalSince($0.value)) < interval } }
            last[verificationID] = now
            return true
        }
    }
}
