import Crypto
import Foundation
import Synchronization

/// A random key created once and shared by every instance through the store's server secrets (the first
/// instance's candidate wins), read once per process and then kept in memory.
package final class SharedKey: Sendable {
    let name: String
    private let store: any FlowStore
    private let cached = Mutex<SymmetricKey?>(nil)

    package init(name: String, store: any FlowStore) {
        self.name = name
        self.store = store
    }

    package func key(now: Date) async throws -> SymmetricKey {
        if let key = cached.withLock({ $0 }) { return key }
        let candidate = SymmetricKey(size: .bits256).withUnsafeBytes { Data($0) }
        let stored = SymmetricKey(data: try await store.serverSecret(named: name, candidate: candidate, at: now))
        cached.withLock { $0 = stored }
        return stored
    }
}
