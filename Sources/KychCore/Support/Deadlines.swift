import Synchronization

/// The deadlines of a process (a database statement's wait for a connection, a `/status` long poll, the webhook
/// outbox's retry interval), checked by one timer task that runs while there are any: a deadline fires at most
/// ``tick`` late. A `Task.sleep` raced against each wait instead cost two child tasks and a dispatch timer per wait,
/// and a cancelled sleep's memory lived until its deadline (issue 13).
package final class Deadlines: Sendable {
    package static let shared = Deadlines()
    package static let tick: Duration = .milliseconds(100)

    private struct Deadline {
        let instant: ContinuousClock.Instant
        let expire: @Sendable () -> Void
    }
    private struct State {
        var pending: [UInt64: Deadline] = [:]
        var nextID: UInt64 = 0
        var watching = false
    }
    private let state = Mutex(State())

    /// Calls `expire` once `instant` has passed, unless ``remove(_:)`` came first.
    package func add(_ instant: ContinuousClock.Instant, expire: @escaping @Sendable () -> Void) -> UInt64 {
        let (id, startWatching) = state.withLock { state in
            state.nextID &+= 1
            state.pending[state.nextID] = Deadline(instant: instant, expire: expire)
            defer { state.watching = true }
            return (state.nextID, !state.watching)
        }
        if startWatching { Task.detached { await self.watch() } }
        return id
    }

    package func remove(_ id: UInt64) {
        _ = state.withLock { $0.pending.removeValue(forKey: id) }
    }

    private func watch() async {
        while true {
            try? await Task.sleep(for: Self.tick)
            let now = ContinuousClock.now
            let (expired, idle) = state.withLock { state in
                let expired = state.pending.filter { $0.value.instant <= now }
                for id in expired.keys { state.pending.removeValue(forKey: id) }
                if state.pending.isEmpty { state.watching = false }
                return (expired.values, state.pending.isEmpty)
            }
            for deadline in expired { deadline.expire() }
            if idle { return }
        }
    }
}
