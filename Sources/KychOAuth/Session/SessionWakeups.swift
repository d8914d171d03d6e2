import Foundation
import KychCore
import Synchronization

/// Wakes the long polls of `/status` when a session's status changes, so a waiting poll reads the store once
/// per change instead of on a timer. A lost signal costs latency, never correctness: every wait also ends at
/// the deadline its caller gives (the session's expiry, the next verifier check, a fallback of a few seconds).
package protocol SessionWakeups: Sendable {
    /// Counts the signals of `verificationID` until the matching ``unwatch(_:)``: a poll watches before it first reads
    /// its session, so a signal between a read and the wait after it is not lost.
    func watch(_ verificationID: String)
    func unwatch(_ verificationID: String)
    /// How many signals named `verificationID` while watched (0 when not watched).
    func signals(_ verificationID: String) -> UInt64
    /// Returns when `signal(verificationID:)` names this verification, at once if it did since ``signals(_:)`` answered
    /// `seen`, at `deadline`, or when the task is cancelled.
    func wait(verificationID: String, after seen: UInt64, until deadline: ContinuousClock.Instant) async
    /// Wakes every poll of this process waiting for `verificationID`. The other processes on a shared database hear
    /// of the change from the store, which announces it in the statement that applies it (``SessionEvent/wakesPolls``).
    func signal(verificationID: String) async
}

extension SessionWakeups {
    /// Waits for the next signal of a verification nobody needs to have watched.
    package func wait(verificationID: String, until deadline: ContinuousClock.Instant) async {
        await wait(verificationID: verificationID, after: signals(verificationID), until: deadline)
    }
}

/// The waiters of one process, keyed by verification id: a parked continuation each, no timer loop.
/// Serves SQLite and the in-memory store alone, and the local side of ``SessionWakeups`` on PostgreSQL.
package final class LocalSessionWakeups: SessionWakeups {
    private struct Waiters {
        var byVerification: [String: [Int: CheckedContinuation<Void, Never>]] = [:]
        var lastTicket = 0
        /// The watched verifications: how many polls watch each, and the signals since the first began.
        var watched: [String: (watchers: Int, signals: UInt64)] = [:]

        mutating func remove(_ verificationID: String, _ ticket: Int) -> CheckedContinuation<Void, Never>? {
            let continuation = byVerification[verificationID]?.removeValue(forKey: ticket)
            if byVerification[verificationID]?.isEmpty == true { byVerification[verificationID] = nil }
            return continuation
        }
    }

    private let waiters = Mutex(Waiters())

    package init() {}

    package func watch(_ verificationID: String) {
        waiters.withLock { $0.watched[verificationID, default: (0, 0)].watchers += 1 }
    }

    package func unwatch(_ verificationID: String) {
        waiters.withLock { w in
            guard let watch = w.watched[verificationID] else { return }
            w.watched[verificationID] = watch.watchers > 1 ? (watch.watchers - 1, watch.signals) : nil
        }
    }

    package func signals(_ verificationID: String) -> UInt64 {
        waiters.withLock { $0.watched[verificationID]?.signals ?? 0 }
    }

    package func wait(verificationID: String, after seen: UInt64, until deadline: ContinuousClock.Instant) async {
        let ticket = waiters.withLock { w in
            w.lastTicket += 1
            return w.lastTicket
        }
        // The process's one deadline timer ends the wait, not a timer of its own (``Deadlines``).
        let timer = Deadlines.shared.add(deadline) { [self] in waiters.withLock { $0.remove(verificationID, ticket) }?.resume() }
        defer { Deadlines.shared.remove(timer) }
        await park(verificationID, ticket: ticket, after: seen, until: deadline)
    }

    package func signal(verificationID: String) async {
        wake(waiters.withLock { w in
            w.watched[verificationID]?.signals += 1
            return w.byVerification.removeValue(forKey: verificationID)
        }.map { Array($0.values) } ?? [])
    }

    /// Wakes every waiter, so each reads its session again (after notifications may have been missed).
    package func signalAll() {
        wake(waiters.withLock { w in
            defer { w.byVerification = [:] }
            for verificationID in w.watched.keys { w.watched[verificationID]?.signals += 1 }
            return w.byVerification.values.flatMap(\.values)
        })
    }

    /// How many polls are parked now (for tests: none may be left behind).
    package var parkedCount: Int {
        waiters.withLock { $0.byVerification.values.reduce(0) { $0 + $1.count } }
    }

    private func wake(_ continuations: [CheckedContinuation<Void, Never>]) {
        for continuation in continuations { continuation.resume() }
    }

    /// Parks until signalled, cancelled or expired, unless signalled since `seen` or past `deadline`. The cancellation
    /// handler, the deadline and the parking all hold the lock, cancellation is flagged before its handler runs, and the
    /// deadline fires only once it has passed, so neither is missed.
    private func park(_ verificationID: String, ticket: Int, after seen: UInt64, until deadline: ContinuousClock.Instant) async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let parked = waiters.withLock { w in
                    guard !Task.isCancelled, (w.watched[verificationID]?.signals ?? 0) == seen,
                          ContinuousClock.now < deadline else { return false }
                    w.byVerification[verificationID, default: [:]][ticket] = continuation
                    return true
                }
                if !parked { continuation.resume() }
            }
        } onCancel: {
            waiters.withLock { $0.remove(verificationID, ticket) }?.resume()
        }
    }
}

/// Caps the long polls open at once, per verification and in total. A poll beyond a cap is answered at
/// once with the current status (one read, nothing held): the verification page then polls again after
/// its usual short pause, so a person with too many tabs still sees the result.
package final class LongPollLimits: Sendable {
    package let perVerification: Int
    package let total: Int
    private let open = Mutex((byVerification: [String: Int](), total: 0))

    package init(perVerification: Int = 4, total: Int = 4096) {
        self.perVerification = perVerification
        self.total = total
    }

    /// Takes a slot for a long poll on `verificationID`, or returns false when a cap is reached.
    package func admit(_ verificationID: String) -> Bool {
        open.withLock { open in
            guard open.total < total, open.byVerification[verificationID, default: 0] < perVerification else { return false }
            open.total += 1
            open.byVerification[verificationID, default: 0] += 1
            return true
        }
    }

    /// Gives back the slot ``admit(_:)`` took.
    package func release(_ verificationID: String) {
        open.withLock { open in
            open.total -= 1
            let left = open.byVerification[verificationID, default: 1] - 1
            open.byVerification[verificationID] = left > 0 ? left : nil
        }
    }
}
