import Foundation
import Hummingbird
import HummingbirdTesting
import KychCore
import KychGateway
import KychOAuth
import KychSDJWT
import KychStorage
import Testing

/// The gateway's signing keys seen from outside: `/jwks` as served, an independent JOSE library (PyPI joserfc)
/// verifying our ES256 and RS256 tokens with nothing but that JWK Set, and a start refused on a wrong secret.
@Suite struct SigningKeysCrossCheckTests {
    static let secret = "cross-check-key-encryption-secret-0123456789"

    /// A gateway configuration on a new SQLite file.
    static func config(secret: String, database: String, port: Int = 1) throws -> GatewayConfig {
        try GatewayConfig.load(path: try temporaryFile("""
            [kych-oauth2-gateway]
            HOST = 127.0.0.1
            PORT = \(port)
            DATABASE = \(database)
            KEY_ENCRYPTION_SECRET = \(secret)
            """))
    }

    static func newDatabase() -> String {
        "sqlite://" + FileManager.default.temporaryDirectory.appendingPathComponent("kych-keys-\(UUID().uuidString).db").path
    }

    /// joserfc's verdict on `jws` with the key its kid names in `jwks`.
    static func joserfcVerify(_ jws: String, jwks: String) throws -> [String: JSONValue] {
        try JSONText.parseObject(Data(try PythonHelper.run("jose_crosscheck.py", "verify", [
            "jwks": try JSONText.parse(Data(jwks.utf8)), "jws": .string(jws),
        ]).utf8))
    }

    @Test func joserfcVerifiesOurTokensWithTheServedJWKSAndRejectsAnAlteredOne() async throws {
        let config = try Self.config(secret: Self.secret, database: Self.newDatabase())
        let claims: [String: JSONValue] = ["iss": "http://127.0.0.1:1", "sub": "session-1", "aud": "exchange", "exp": 4_000_000_000]
        let tokens = try await Stores.with(config.database, logger: TestEnvironment.logger) { stores in
            let keys = SigningKeys(store: stores.signingKeys, encryptionSecret: config.keyEncryptionSecret)
            return [
                ("ES256", "JWT", try await keys.sign(payload: JSONText.serialize(claims), algorithm: .es256, type: "JWT")),
                ("RS256", "at+jwt", try await keys.sign(payload: JSONText.serialize(claims), algorithm: .rs256, type: "at+jwt")),
            ]
        }

        let app = try await buildApplication(config, logger: TestEnvironment.logger)
        try await app.test(.router) { client in
            let response = try await client.execute(uri: "/jwks", method: .get)
            #expect(response.status == .ok)
            #expect(response.headers[.contentType] == "application/json")
            #expect(response.headers[.cacheControl] == "public, max-age=300")
            let jwks = String(buffer: response.body)
            let served = try #require(try JSONText.parseObject(Data(jwks.utf8))["keys"]?.arrayValue)
            #expect(served.count == 2)
            #expect(!jwks.contains("\"d\"") && !jwks.contains("\"p\""), "a private member is published: \(jwks)")

            for (alg, typ, token) in tokens {
                let verified = try #require(try Self.joserfcVerify(token, jwks: jwks)["verified"]?.objectValue, "\(alg) rejected")
                #expect(verified["payload"] == .object(claims))
                #expect(verified["header"]?["alg"] == .string(alg) && verified["header"]?["typ"] == .string(typ))

                var altered = claims
                altered["sub"] = "session-2"
                let parts = token.split(separator: ".").map(String.init)
                let forged = [parts[0], Base64URL.encode(JSONText.serialize(altered)), parts[2]].joined(separator: ".")
                let rejected = try Self.joserfcVerify(forged, jwks: jwks)
                #expect(rejected["verified"] == nil && rejected["rejected"]?.stringValue?.contains("BadSignature") == true, "\(alg): \(rejected)")
            }
        }
    }

    @Test func theGatewayRefusesToStartOnKeysItCannotDecrypt() async throws {
        let database = Self.newDatabase()
        let kid = try await Stores.with(database, logger: TestEnvironment.logger) { stores in
            let keys = SigningKeys(store: stores.signingKeys, encryptionSecret: Self.secret)
            return try CompactJWS(parsing: try await keys.sign(payload: Data("{}".utf8), algorithm: .es256)).keyID
        }
        let wrong = try Self.config(secret: "another-secret-that-is-32-bytes-or-longer", database: database,
                                    port: Int.random(in: 20_000..<60_000))
        // The program says so and exits, rather than serving without its keys.
        let gateway = try Run.program("kych-oauth2-gateway", ["-c", wrong.file])
        let refusal = SigningKeyError.undecryptable(kid: try #require(kid)).description
        #expect(gateway.status != 0 && gateway.stderr.contains(refusal), "\(gateway)")
        #expect(!gateway.stderr.contains("another-secret") && !gateway.stdout.contains("another-secret"))
    }
}
