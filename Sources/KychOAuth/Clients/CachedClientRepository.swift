import Synchronization

/// A ``ClientRepository`` that answers reads from memory while every change is announced to it, so a flow does not
/// read its client from the database at each step (issue 13: five client reads per flow).
///
/// Clients change only through `kych-client-management` and the config sync, possibly in another process. The
/// store announces each committed change (on PostgreSQL a trigger's `NOTIFY`, which a listener passes to
/// ``changed()``); reads are served from memory only between ``listening()`` and ``deaf()``, that is while the
/// listener is connected, and a change drops what was kept. A load that overlaps a change is not kept, so a read
/// never returns a client older than the last announcement it could have seen.
package final class CachedClientRepository: ClientRepository {
    package let stored: any ClientRepository
    private let state = Mutex(State())

    private struct State {
        /// Announcements arrive: what is kept may be served.
        var trusted = false
        /// Bumped by each change, so a load that overlapped one is not kept.
        var generation = 0
        var clients: [Client]?
    }

    package init(_ stored: any ClientRepository) {
        self.stored = stored
    }

    /// Changes are announced from now on; what was kept may have missed some, so it is dropped.
    package func listening() {
        state.withLock { s in
            s.trusted = true
            s.generation += 1
            s.clients = nil
        }
    }

    /// Announcements may be lost from now on (the listener's connection dropped): every read goes to the store.
    package func deaf() {
        state.withLock { s in
            s.trusted = false
            s.generation += 1
            s.clients = nil
        }
    }

    /// Some client changed: the next read loads them again.
    package func changed() {
        state.withLock { s in
            s.generation += 1
            s.clients = nil
        }
    }

    /// Every client, from memory when trusted; one read of the store otherwise.
    private func all() async throws -> [Client] {
        let (kept, generation) = state.withLock { s in (s.trusted ? s.clients : nil, s.generation) }
        if let kept { return kept }
        let loaded = try await stored.listClients()
        state.withLock { s in
            if s.trusted && s.generation == generation { s.clients = loaded }
        }
        return loaded
    }

    package func listClients() async throws -> [Client] {
        try await all()
    }

    package func client(id: String) async throws -> Client? {
        if state.withLock({ !$0.trusted }) { return try await stored.client(id: id) }
        return try await all().first { $0.clientID == id }
    }

    package func createClient(_ client: Client) async throws {
        defer { changed() }
        try await stored.createClient(client)
    }

    package func updateClient(_ client: Client) async throws {
        defer { changed() }
        try await stored.updateClient(client)
    }

    package func deleteClient(id: String) async throws -> Bool {
        defer { changed() }
        return try await stored.deleteClient(id: id)
    }

    package func syncClients(_ clients: [Client], prune: Bool) async throws -> ClientSyncReport {
        defer { changed() }
        return try await stored.syncClients(clients, prune: prune)
    }
}
