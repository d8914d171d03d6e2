import KychCore
import KychOAuth
import Logging

/// Tells a ``CachedClientRepository`` about every committed change of `oauth2gw.clients`, by any process: the
/// trigger of patch oauth2gw-0007 sends `NOTIFY kych_client` (no payload), and this listener passes it on. While its
/// connection is down the cache serves nothing from memory.
package struct PostgresClientChanges: Sendable {
    package static let channel = "kych_client"
    let url: DatabaseURL
    let cache: CachedClientRepository
    let logger: Logger
    /// The pause before the listener connects again after its connection dropped.
    package var reconnectDelay: Duration = .seconds(1)

    package init(url: DatabaseURL, cache: CachedClientRepository, logger: Logger) {
        self.url = url
        self.cache = cache
        self.logger = logger
    }

    /// Listens until cancelled.
    package func listen() async {
        await PostgresDatabase.listen(url, channel: Self.channel, reconnectDelay: reconnectDelay, logger: logger,
                                      listening: { cache.listening() }, interrupted: { cache.deaf() }, received: { _ in cache.changed() })
    }
}
