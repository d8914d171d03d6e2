import Crypto
import Foundation
import NIOPosix
import Synchronization

/// Authenticates clients by their secret without paying for bcrypt on every request.
///
/// A successful verification is remembered under HMAC(process key, secret ‖ stored hash): a changed secret
/// or a changed hash gives another key, so nothing stale is ever served, and the cache never holds a secret.
public final class ClientAuthenticator: Sendable {
    private let key = SymmetricKey(size: .bits256)
    private let verified = Mutex<Set<Data>>([])
    private let capacity: Int

    public init(capacity: Int = 4096) {
        self.capacity = capacity
    }

    /// Whether `secret` matches `client`'s stored bcrypt hash (public clients never match).
    public func authenticate(_ client: Client, secret: String) async -> Bool {
        guard let hash = client.secretHash else { return false }
        var message = Data(secret.utf8)
        message.append(0)
        message.append(contentsOf: hash.utf8)
        let cacheKey = Data(HMAC<SHA256>.authenticationCode(for: message, using: key))
        if verified.withLock({ $0.contains(cacheKey) }) { return true }
        let ok = (try? await NIOThreadPool.singleton.runIfActive { Secrets.verifySecret(secret, hash: hash) }) ?? false
        if ok {
            verified.withLock {
                if $0.count >= capacity { $0.removeAll() }
                $0.insert(cacheKey)
            }
        }
        return ok
    }
}
