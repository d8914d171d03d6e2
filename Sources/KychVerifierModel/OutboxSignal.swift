import KychCore
import Synchronization

/// Wakes the webhook outbox's delivery when an event was committed, so a result goes out at once instead of at
/// the next `WEBHOOK_INTERVAL`. One process's delivery loop waits on it; the verifier signals it after its commits,
/// and on a shared PostgreSQL database ``OutboxNotifications`` signals it for the commits of other processes.
/// A signal given while nobody waits is kept (one pending flag), so an event committed during a delivery run is
/// picked up by the next; a lost signal costs latency only: the loop also runs every `WEBHOOK_INTERVAL`. The events
/// this process records itself are handed over with ``hand(_:)`` instead: already leased, they need no query to find.
package final class OutboxSignal: Sendable {
    /// Why ``wait(until:takingHanded:)`` returned.
    package enum Wake: Sendable, Equatable {
        /// A signal: the outbox may hold due events.
        case signalled
        /// Only events handed over (``hand(_:)``), which need no lease.
        case handed
        /// The deadline passed (or the task was cancelled).
        case deadline
    }

    private struct State {
        var pending = false
        var handed: [WebhookEvent] = []
        var waiter: CheckedContinuation<Void, Never>?
    }

    private let state = Mutex(State())

    package init() {}

    /// Wakes the waiting loop, or makes its next ``wait(until:takingHanded:)`` return at once.
    package func signal() {
        state.withLock { s -> CheckedContinuation<Void, Never>? in
            s.pending = true
            defer { s.waiter = nil }
            return s.waiter
        }?.resume()
    }

    /// Hands the loop an event this process just recorded and leased to itself
    /// (``VerificationStore/finish(id:claim:status:outcome:eventLease:)``): delivered without a lease query.
    package func hand(_ event: WebhookEvent) {
        state.withLock { s -> CheckedContinuation<Void, Never>? in
            s.handed.append(event)
            defer { s.waiter = nil }
            return s.waiter
        }?.resume()
    }

    /// The oldest event handed over and not yet taken.
    package func nextHanded() -> WebhookEvent? {
        state.withLock { s in s.handed.isEmpty ? nil : s.handed.removeFirst() }
    }

    /// Returns when signalled (or at once if a signal is pending), when an event is handed over (or at once if one
    /// waits) if `takingHanded`, at `deadline`, or when the task is cancelled. One waiter at a time.
    package func wait(until deadline: ContinuousClock.Instant, takingHanded: Bool) async -> Wake {
        if !state.withLock({ s in s.pending || (takingHanded && !s.handed.isEmpty) }) {
            // The process's one deadline timer ends the wait, not a timer of its own (``Deadlines``).
            let timer = Deadlines.shared.add(deadline) { [self] in state.withLock { s in defer { s.waiter = nil }; return s.waiter }?.resume() }
            defer { Deadlines.shared.remove(timer) }
            await park(takingHanded: takingHanded, until: deadline)
        }
        return state.withLock { s in
            defer { s.pending = false }
            return s.pending ? .signalled : takingHanded && !s.handed.isEmpty ? .handed : .deadline
        }
    }

    /// Parks until woken, cancelled or expired; the lock orders parking against cancellation and the deadline (which
    /// fires only once it has passed), so neither is missed.
    private func park(takingHanded: Bool, until deadline: ContinuousClock.Instant) async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let parked = state.withLock { s in
                    guard !Task.isCancelled, !s.pending, !(takingHanded && !s.handed.isEmpty), ContinuousClock.now < deadline else {
                        return false
                    }
                    s.waiter = continuation
                    return true
                }
                if !parked { continuation.resume() }
            }
        } onCancel: {
            state.withLock { s in defer { s.waiter = nil }; return s.waiter }?.resume()
        }
    }
}

/// Other processes' outbox commits on a shared database (PostgreSQL `LISTEN`): ``listen(_:)`` calls `wake` for each,
/// and once on every (re)connection, for what was committed while no notification could arrive.
package protocol OutboxNotifications: Sendable {
    /// Runs until the task is cancelled.
    func listen(_ wake: @escaping @Sendable () -> Void) async
}
