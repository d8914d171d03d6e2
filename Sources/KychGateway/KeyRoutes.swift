import Foundation
import Hummingbird
import KychCore
import KychHTTP
import KychOAuth

/// `GET /jwks`: the public keys relying parties verify the gateway's ID tokens and JWT access tokens with.
enum KeyRoutes {
    /// Serves the JWK Set of `keys` (``StoredSecretsCheck`` opens their private keys at start).
    static func register(on router: Router<GatewayRequestContext>, keys: SigningKeys) {
        router.get(RouterPath(stringLiteral: EndpointPath.jwks)) { _, _ -> Response in
            // Short enough that a rotation's new key (published an hour or more ahead) reaches every cache in time.
            Response(status: .ok, headers: [.contentType: "application/json", .cacheControl: "public, max-age=300"],
                     body: .init(byteBuffer: ByteBuffer(string: JSON.object(try await keys.jwks()).serialized())))
        }
    }
}
