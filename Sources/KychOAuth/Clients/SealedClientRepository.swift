import KychCore

/// A ``ClientRepository`` that keeps a client's secrets for other services (its verifier bearer token and the webhook
/// key its verifier sends) sealed at rest under `KEY_ENCRYPTION_SECRET`: written sealed, opened when read. Values stored
/// in clear (by earlier releases, or without a secret) still read and are sealed by the next write of their client.
/// Every store sits behind it, so the rule lives once.
package struct SealedClientRepository: ClientRepository {
    package let stored: any ClientRepository
    package let sealing: SecretSealing

    package init(_ stored: any ClientRepository, sealing: SecretSealing) {
        self.stored = stored
        self.sealing = sealing
    }

    static func bearerToken(of clientID: String) -> SealBinding {
        SealBinding(column: "clients.verifier_bearer_token", row: clientID)
    }

    static func webhookKey(of clientID: String) -> SealBinding {
        SealBinding(column: "clients.webhook_api_key_value", row: clientID)
    }

    func sealed(_ client: Client) throws -> Client {
        var c = client
        c.verifierBearerToken = try sealing.seal(c.verifierBearerToken, for: Self.bearerToken(of: c.clientID))
        c.webhookAPIKeyValue = try sealing.seal(c.webhookAPIKeyValue, for: Self.webhookKey(of: c.clientID))
        return c
    }

    func opened(_ client: Client) throws(SecretSealingError) -> Client {
        var c = client
        c.verifierBearerToken = try sealing.open(c.verifierBearerToken, for: Self.bearerToken(of: c.clientID))
        c.webhookAPIKeyValue = try sealing.open(c.webhookAPIKeyValue, for: Self.webhookKey(of: c.clientID))
        return c
    }

    /// Opens every client's secrets, so a missing or wrong `KEY_ENCRYPTION_SECRET` stops a process at its start
    /// rather than at a client's first verification.
    package func checkStoredSecrets() async throws {
        _ = try await listClients()
    }

    package func listClients() async throws -> [Client] {
        try await stored.listClients().map { c throws(SecretSealingError) in try opened(c) }
    }

    package func client(id: String) async throws -> Client? {
        try await stored.client(id: id).map { c throws(SecretSealingError) in try opened(c) }
    }

    package func createClient(_ client: Client) async throws {
        try await stored.createClient(try sealed(client))
    }

    package func updateClient(_ client: Client) async throws {
        try await stored.updateClient(try sealed(client))
    }

    package func deleteClient(id: String) async throws -> Bool {
        try await stored.deleteClient(id: id)
    }

    package func syncClients(_ clients: [Client], prune: Bool) async throws -> ClientSyncReport {
        try await stored.syncClients(try clients.map(sealed), prune: prune)
    }
}
