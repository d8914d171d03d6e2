import Foundation
import KychCore
import KychOAuth
import Logging
import PostgresNIO

/// ``SigningKeyStore`` on PostgreSQL (`oauth2gw.signing_keys`, patch `oauth2gw-0002`).
package struct PostgresSigningKeyStore: SigningKeyStore {
    let client: PostgresPool
    let logger: Logger

    package init(client: PostgresClient, logger: Logger) {
        self.client = PostgresPool(client)
        self.logger = logger
    }

    package func signingKeys() async throws -> [StoredSigningKey] {
        let rows = try await client.query("""
            SELECT kid, alg, public_jwk::text, private_key, private_key_sealed, created_at, activates_at, retires_at
            FROM oauth2gw.signing_keys ORDER BY key_serial
            """, logger: logger)
        var keys: [StoredSigningKey] = []
        for try await (kid, alg, jwk, privateKey, sealed, createdAt, activatesAt, retiresAt)
            in rows.decode((String, String, String, Data, Bool, Date, Date, Date?).self) {
            guard let algorithm = SigningAlgorithm(rawValue: alg), let publicJWK = try JSON.parse(Data(jwk.utf8)).objectValue else {
                throw SigningKeyError.malformed(kid: kid)
            }
            keys.append(StoredSigningKey(kid: kid, algorithm: algorithm, publicJWK: publicJWK, privateKey: privateKey, sealed: sealed,
                                         createdAt: createdAt, activatesAt: activatesAt, retiresAt: retiresAt))
        }
        return keys
    }

    package func insertFirstSigningKeys(_ keys: [StoredSigningKey]) async throws -> Bool {
        try await client.withTransaction(logger: logger) { connection in
            // Blocks the other writers until commit, so only one of several starting processes finds the table empty.
            try await connection.query("LOCK TABLE oauth2gw.signing_keys IN EXCLUSIVE MODE", logger: logger)
            for try await _ in try await connection.query("SELECT 1 FROM oauth2gw.signing_keys LIMIT 1", logger: logger) { return false }
            try await Self.insert(keys, on: connection, logger: logger)
            return true
        }
    }

    package func insertSigningKeys(_ keys: [StoredSigningKey], retiring kids: [String], at retiresAt: Date) async throws {
        try await client.withTransaction(logger: logger) { connection in
            try await connection.query("""
                UPDATE oauth2gw.signing_keys SET retires_at = \(retiresAt) WHERE kid = ANY(\(kids)) AND retires_at IS NULL
                """, logger: logger)
            try await Self.insert(keys, on: connection, logger: logger)
        }
    }

    package func deleteSigningKeys(retiredBy cutoff: Date) async throws -> Int {
        var count = 0
        for try await _ in try await client.query("""
            DELETE FROM oauth2gw.signing_keys WHERE retires_at <= \(cutoff) RETURNING 1
            """, logger: logger) { count += 1 }
        return count
    }

    private static func insert(_ keys: [StoredSigningKey], on connection: PostgresConnection, logger: Logger) async throws {
        for key in keys {
            try await connection.query("""
                INSERT INTO oauth2gw.signing_keys (kid, alg, public_jwk, private_key, private_key_sealed, created_at, activates_at, retires_at)
                VALUES (\(key.kid), \(key.algorithm.rawValue), \(JSON.object(key.publicJWK).serialized())::jsonb, \(key.privateKey),
                        \(key.sealed), \(key.createdAt), \(key.activatesAt), \(key.retiresAt))
                """, logger: logger)
        }
    }
}
