import Foundation
import Hummingbird
import KychCore
import KychHTTP
import KychOAuth
import KychStorage
import Logging
import ServiceLifecycle

/// `GET /jwks`: the public keys relying parties verify the gateway's ID tokens and JWT access tokens with.
enum KeyRoutes {
    /// Serves the JWK Set of `keys`. Returns the start-up check of those keys, a service to run with the stores'
    /// own (a PostgreSQL pool answers only once it runs).
    static func register(on router: Router<GatewayRequestContext>, keys: SigningKeys, logger: Logger) -> any Service {
        if !keys.encryptsPrivateKeys {
            logger.warning("KEY_ENCRYPTION_SECRET is not set: the private signing keys are stored unencrypted in the database")
        }
        router.get(RouterPath(stringLiteral: EndpointPath.jwks)) { _, _ -> Response in
            // Short enough that a rotation's new key (published an hour or more ahead) reaches every cache in time.
            Response(status: .ok, headers: [.contentType: "application/json", .cacheControl: "public, max-age=300"],
                     body: .init(byteBuffer: ByteBuffer(string: JSON.object(try await keys.jwks()).serialized())))
        }
        return SigningKeyCheck(keys: keys)
    }
}

/// Opens every stored private key when the gateway starts: a missing or wrong `KEY_ENCRYPTION_SECRET` (or a
/// database without the signing-key table) stops the start with a clear error rather than failing the first token.
struct SigningKeyCheck: Service {
    let keys: SigningKeys

    func run() async throws {
        do {
            try await keys.checkStoredKeys()
        } catch let error as SigningKeyError {
            throw error
        } catch {
            throw CLIError("cannot read the signing keys (run kych-dbinit to upgrade the database): \(Stores.describe(error))")
        }
        // A service that returns ends the group: stay until shutdown.
        try? await gracefulShutdown()
    }
}
