import Foundation
import KychCore
import KychOAuth
import KychOutboundHTTP
import Synchronization

/// The client keys the gateway checks assertions with: a client's inline `JWKS`, or the JWK Set at its `JWKS_URI`,
/// fetched with the one outbound HTTP policy (https or loopback http, no redirects, short timeouts, at most
/// ``maximumBytes``). A fetched set is kept for ``lifetime``; a request for a fresh one (a `kid` the set lacks)
/// fetches again at once, but at most once per ``refreshInterval`` per client, so a client's key rotation is seen
/// at once while made-up `kid`s cannot make the gateway fetch on every request. A set that holds a private key is refused
/// (``JWKSetRules``, as for an inline `JWKS`).
package final class FetchedClientKeys: ClientKeySource {
    package static let maximumBytes = 64 * 1024
    package let lifetime: TimeInterval
    package let refreshInterval: TimeInterval
    private let now: @Sendable () -> Date
    private let fetched = Mutex<[String: Fetched]>([:])

    private struct Fetched {
        var uri: String
        var keySet: [String: JSON]
        var at: Date
        /// When a refresh last fetched it.
        var refreshedAt: Date?
    }

    package init(lifetime: TimeInterval = 300, refreshInterval: TimeInterval = 30, now: @escaping @Sendable () -> Date = Date.init) {
        self.lifetime = lifetime
        self.refreshInterval = refreshInterval
        self.now = now
    }

    package func keySet(for client: Client, refresh: Bool) async throws -> [String: JSON] {
        guard let uri = client.security.jwksURI else { return try await InlineClientKeys().keySet(for: client, refresh: refresh) }
        let now = now()
        let cached = fetched.withLock { $0[client.clientID] }.flatMap { $0.uri == uri ? $0 : nil }
        if let cached {
            let fresh = refresh ? cached.refreshedAt.map { now.timeIntervalSince($0) < refreshInterval } ?? false
                                : now.timeIntervalSince(cached.at) < lifetime
            if fresh { return cached.keySet }
        }
        let keySet = try await Self.fetch(uri)
        fetched.withLock { $0[client.clientID] = Fetched(uri: uri, keySet: keySet, at: now, refreshedAt: refresh ? now : cached?.refreshedAt) }
        return keySet
    }

    /// The JWK Set at `uri`, public keys only.
    static func fetch(_ uri: String) async throws(JWTRefusal) -> [String: JSON] {
        guard let url = URL(string: uri) else { throw JWTRefusal("the client's JWKS_URI is not a URL") }
        let reply: OutboundHTTP.Reply
        do {
            reply = try await OutboundHTTP.fetch(url, accept: "application/jwk-set+json, application/json", maxBytes: maximumBytes)
        } catch {
            throw JWTRefusal("the client's JWKS_URI could not be fetched: \(error.description)")
        }
        guard reply.status == 200 else { throw JWTRefusal("the client's JWKS_URI answered HTTP \(reply.status)") }
        guard let keySet = (try? JSON.parse(reply.body))?.objectValue else { throw JWTRefusal("the client's JWKS_URI does not serve JSON") }
        if let problem = JWKSetRules.problem(keySet) { throw JWTRefusal("the JWK Set at the client's JWKS_URI \(problem)") }
        return keySet
    }
}
