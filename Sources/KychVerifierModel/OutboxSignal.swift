import Synchronization

/// Wakes the webhook outbox's delivery when an event was committed, so a result goes out at once instead of at
/// the next `WEBHOOK_INTERVAL`. One process's delivery loop waits on it; the verifier signals it after its commits,
/// and on a shared PostgreSQL database ``OutboxNotifications`` signals it for the commits of other processes.
/// A signal given while nobody waits is kept (one pending flag), so an event committed during a delivery run is
/// picked up by the next; a lost signal costs latency only: the loop also runs every `WEBHOOK_INTERVAL`.
package final class OutboxSignal: Sendable {
    private struct State {
        var pending = false
        var waiter: CheckedContinuation<Void, Never>?
    }

    private let state = Mutex(State())

    package init() {}

    /// Wakes the waiting loop, or makes its next ``wait(until:)`` return at once.
    package func signal() {
        state.withLock { s -> CheckedContinuation<Void, Never>? in
            guard let waiter = s.waiter else {
                s.pending = true
                return nil
            }
            s.waiter = nil
            return waiter
        }?.resume()
    }

    /// Returns when signalled (or at once if a signal is pending), at `deadline`, or when the task is cancelled.
    /// One waiter at a time.
    package func wait(until deadline: ContinuousClock.Instant) async {
        if state.withLock({ s in defer { s.pending = false }; return s.pending }) { return }
        // Whichever ends first, the signal or the timer, cancels the other: nothing stays parked.
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.park() }
            group.addTask { try? await Task.sleep(until: deadline, clock: .continuous) }
            await group.next()
            group.cancelAll()
        }
    }

    /// Parks until signalled or cancelled; the lock orders parking against cancellation, so neither is missed.
    private func park() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let parked = state.withLock { s in
                    guard !Task.isCancelled, !s.pending else {
                        s.pending = false
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
