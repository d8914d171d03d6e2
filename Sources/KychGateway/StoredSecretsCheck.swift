import KychCore
import KychHTTP
import KychOAuth
import KychStorage
import ServiceLifecycle

/// Opens every secret the gateway keeps sealed (the signing keys' private keys, the clients' verifier bearer tokens
/// and webhook keys) when it starts: a missing or wrong `KEY_ENCRYPTION_SECRET` (or a database without the tables)
/// stops the start with a clear error rather than failing the first token or verification. A service, run with the
/// stores' own (a PostgreSQL pool answers only once it runs). Until it has, `/health/ready` answers 503.
struct StoredSecretsCheck: Service {
    /// What `/health/ready` reports until the check has passed.
    static let step = "signing keys and client secrets not loaded yet"
    let keys: SigningKeys
    let clients: any ClientRepository
    let startup: StartupChecks

    func run() async throws {
        do {
            try await keys.checkStoredKeys()
            // Reading opens every client's secrets (``SealedClientRepository``).
            _ = try await clients.listClients()
        } catch let error as SigningKeyError {
            throw error
        } catch let error as SecretSealingError {
            throw CLIError("\(error): set the KEY_ENCRYPTION_SECRET the clients were stored with, or re-run kych-client-management sync")
        } catch {
            throw CLIError("cannot read the signing keys and clients (run kych-dbinit to upgrade the database): \(Stores.describe(error))")
        }
        startup.done(Self.step)
        // A service that returns ends the group: stay until shutdown.
        try? await gracefulShutdown()
    }
}
