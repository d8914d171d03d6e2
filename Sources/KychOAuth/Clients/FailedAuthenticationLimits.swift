import Foundation
import Synchronization

/// Limits failed client authentications per client id and per source address, in memory (per process):
/// once `perClient` failures for one client id, or `perAddress` failures from one address, fall within a
/// fixed window (it starts at the first failure and lasts `window`), further attempts are refused until the
/// window ends, before any bcrypt runs. Refusing early is what keeps a wrong-secret flood from costing
/// the hashing threads. A success clears only the count of the address it came from.
package final class FailedAuthenticationLimits: Sendable {
    package struct Policy: Sendable, Equatable {
        package var perClient: Int
        package var perAddress: Int
        package var window: TimeInterval
        /// Keys tracked per kind; at the limit, expired windows and then the oldest are dropped (bounded memory).
        package var tracked: Int

        package init(perClient: Int = 10, perAddress: Int = 30, window: TimeInterval = 60, tracked: Int = 10_000) {
            self.perClient = perClient
            self.perAddress = perAddress
            self.window = window
            self.tracked = tracked
        }
    }

    package let policy: Policy
    private let now: @Sendable () -> Date
    private let clients: Mutex<FixedWindows>
    private let addresses: Mutex<FixedWindows>

    package init(_ policy: Policy = Policy(), now: @escaping @Sendable () -> Date = Date.init) {
        self.policy = policy
        self.now = now
        clients = Mutex(FixedWindows(limit: policy.perClient, window: policy.window, tracked: policy.tracked))
        addresses = Mutex(FixedWindows(limit: policy.perAddress, window: policy.window, tracked: policy.tracked))
    }

    /// Whole seconds (at least 1) until `clientID` from `address` may try again; nil when it may now.
    /// A nil address (a Unix socket without proxy headers) is limited per client only.
    package func retryAfter(clientID: String, address: String?) -> Int? {
        let now = now()
        let waits = [clients.withLock { $0.blocked(Self.key(clientID), now: now) },
                     address.flatMap { a in addresses.withLock { $0.blocked(Self.key(a), now: now) } }].compactMap { $0 }
        return waits.max().map { max(1, Int($0.rounded(.up))) }
    }

    /// Counts a failure; true when it is the one that reaches a limit (worth one log line).
    @discardableResult
    package func recordFailure(clientID: String, address: String?) -> Bool {
        let now = now()
        let client = clients.withLock { $0.add(Self.key(clientID), now: now) }
        let fromAddress = address.map { a in addresses.withLock { $0.add(Self.key(a), now: now) } }
        return client == policy.perClient || fromAddress == policy.perAddress
    }

    package func recordSuccess(address: String?) {
        guard let address else { return }
        addresses.withLock { $0.remove(Self.key(address)) }
    }

    /// Keys come from the request: at most 128 bytes of each are kept (and logged).
    package static func key(_ value: String) -> String {
        value.utf8.count <= 128 ? value : String(decoding: value.utf8.prefix(128), as: UTF8.self)
    }
}

/// Failure counts in fixed windows, one per key.
struct FixedWindows {
    let limit: Int
    let window: TimeInterval
    let tracked: Int
    private var windows: [String: (start: Date, failures: Int)] = [:]

    init(limit: Int, window: TimeInterval, tracked: Int) {
        self.limit = limit
        self.window = window
        self.tracked = tracked
    }

    /// The time left in `key`'s window when its limit is reached.
    func blocked(_ key: String, now: Date) -> TimeInterval? {
        guard let entry = windows[key], entry.failures >= limit else { return nil }
        let left = entry.start.addingTimeInterval(window).timeIntervalSince(now)
        return left > 0 ? left : nil
    }

    /// Counts a failure for `key`; the count in its window.
    mutating func add(_ key: String, now: Date) -> Int {
        if let entry = windows[key], now < entry.start.addingTimeInterval(window) {
            windows[key] = (entry.start, entry.failures + 1)
            return entry.failures + 1
        }
        if windows[key] == nil && windows.count >= tracked {
            windows = windows.filter { now < $0.value.start.addingTimeInterval(window) }
            if windows.count >= tracked, let oldest = windows.min(by: { $0.value.start < $1.value.start })?.key {
                windows[oldest] = nil
            }
        }
        windows[key] = (now, 1)
        return 1
    }

    mutating func remove(_ key: String) {
        windows[key] = nil
    }
}
