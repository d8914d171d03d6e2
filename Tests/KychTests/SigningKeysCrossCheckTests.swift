import Foundation
import Hummingbird
import HummingbirdTesting
import KychCore
import KychGateway
import KychOAuth
import KychSDJWT
import KychStorage
import Synchronization
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
    static func joserfcVerify(_ jws: String, jwks: String) async throws -> [String: JSONValue] {
        try await JSONText.parseObject(Data(try PythonHelper.run("jose_crosscheck.py", "verify", [
            "jwks": try JSONText.parse(Data(jwks.utf8)), "jws": .string(jws),
        ]).utf8))
    }

    @Test func joserfcVerifiesOurTokensWithTheServedJWKSAndRejectsAnAlteredOne() async throws {
        let config = try Self.config(secret: Self.secret, database: Self.newDatabase())
        let claims: [String: JSONValue] = ["iss": "http://127.0.0.1:1", "sub": "session-1", "aud": "exchange", "exp": 4_000_000_000]
        let tokens = try await Stores.with(config.database, sealing: config.sealing, logger: TestEnvironment.logger) { stores in
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
                let verified = try await #require(try Self.joserfcVerify(token, jwks: jwks)["verified"]?.objectValue, "\(alg) rejected")
                #expect(verified["payload"] == .object(claims))
                #expect(verified["header"]?["alg"] == .string(alg) && verified["header"]?["typ"] == .string(typ))

                var altered = claims
                altered["sub"] = "session-2"
                let parts = token.split(separator: ".").map(String.init)
                let forged = [parts[0], Base64URL.encode(JSONText.serialize(altered)), parts[2]].joined(separator: ".")
                let rejected = try await Self.joserfcVerify(forged, jwks: jwks)
                #expect(rejected["verified"] == nil && rejected["rejected"]?.stringValue?.contains("BadSignature") == true, "\(alg): \(rejected)")
            }
        }
    }

    @Test func theGatewayRefusesToStartOnKeysItCannotDecrypt() async throws {
        let database = Self.newDatabase()
        let kid = try await Stores.with(database, sealing: .unencrypted, logger: TestEnvironment.logger) { stores in
            let keys = SigningKeys(store: stores.signingKeys, encryptionSecret: Self.secret)
            return try CompactJWS(parsing: try await keys.sign(payload: Data("{}".utf8), algorithm: .es256)).keyID
        }
        let wrong = try Self.config(secret: "another-secret-that-is-32-bytes-or-longer", database: database,
                                    port: Int.random(in: 20_000..<60_000))
        // The program says so and exits, rather than serving without its keys.
        let gateway = try await Run.program("kych-oauth2-gateway", ["-c", wrong.file])
        let refusal = SigningKeyError.undecryptable(kid: try #require(kid)).description
        #expect(gateway.status != 0 && gateway.stderr.contains(refusal), "\(gateway)")
        #expect(!gateway.stderr.contains("another-secret") && !gateway.stdout.contains("another-secret"))
    }

    /// After a rotation, an ID token signed by the old key verifies (joserfc, with the published set) while that key
    /// is retained, and is rejected once the key has left the set.
    @Test func aTokenOfARotatedOutKeyIsRejectedAfterItsRetention() async throws {
        let clock = Mutex(Date(timeIntervalSince1970: 1_800_000_000))
        let keys = SigningKeys(store: InMemoryStore(), encryptionSecret: nil, now: { clock.withLock { $0 } })
        let claims: [String: JSONValue] = ["iss": "https://kych.example.com", "sub": "s", "aud": "exchange", "exp": 4_000_000_000]
        let old = try await keys.sign(payload: JSONText.serialize(claims), algorithm: .es256, type: "JWT")
        _ = try await keys.rotate(publishAhead: 3600, retainAfterRetirement: 7200)
        func jwks() async throws -> String { JSONValue.object(try await keys.jwks()).serialized() }
        clock.withLock { $0 += 3600 + 60 }   // the new key signs now; the old one is retained
        let new = try await keys.sign(payload: JSONText.serialize(claims), algorithm: .es256, type: "JWT")
        await #expect(try Self.joserfcVerify(old, jwks: try await jwks())["verified"] != nil)
        await #expect(try Self.joserfcVerify(new, jwks: try await jwks())["verified"] != nil)
        clock.withLock { $0 += 7200 }        // past the retention: the old key is gone from the set
        await #expect(try Self.joserfcVerify(old, jwks: try await jwks())["rejected"] != nil)
        await #expect(try Self.joserfcVerify(new, jwks: try await jwks())["verified"] != nil)
    }
}
