import Foundation
import KychCore
import KychOAuth
import SQLiteNIO

/// ``SigningKeyStore`` on the embedded SQLite database (table `signing_keys`, migration 5). Each primitive is one
/// statement or one `BEGIN IMMEDIATE` transaction, which holds SQLite's write lock against other processes.
package struct SQLiteSigningKeyStore: SigningKeyStore {
    let db: SQLiteDatabase

    package init(db: SQLiteDatabase) {
        self.db = db
    }

    package func signingKeys() async throws -> [StoredSigningKey] {
        try await db.rows("SELECT * FROM signing_keys ORDER BY key_serial").map { row in
            let kid = row.string("kid") ?? ""
            guard let algorithm = row.string("alg").flatMap(SigningAlgorithm.init(rawValue:)),
                  let publicJWK = try row.string("public_jwk").flatMap({ try JSON.parse(Data($0.utf8)).objectValue }),
                  let privateKey = row.data("private_key"), let createdAt = row.date("created_at"),
                  let activatesAt = row.date("activates_at")
            else { throw SigningKeyError.malformed(kid: kid) }
            return StoredSigningKey(kid: kid, algorithm: algorithm, publicJWK: publicJWK, privateKey: privateKey,
                                    sealed: row.int("private_key_sealed") == 1, createdAt: createdAt, activatesAt: activatesAt,
                                    retiresAt: row.date("retires_at"))
        }
    }

    package func insertFirstSigningKeys(_ keys: [StoredSigningKey]) async throws -> Bool {
        try await db.transaction { tx in
            guard try await tx.rows("SELECT 1 FROM signing_keys LIMIT 1").isEmpty else { return false }
            try await Self.insert(keys, tx)
            return true
        }
    }

    package func insertSigningKeys(_ keys: [StoredSigningKey], retiring kids: [String], at retiresAt: Date) async throws {
        try await db.transaction { tx in
            for kid in kids {
                try await tx.rows("UPDATE signing_keys SET retires_at = ? WHERE kid = ? AND retires_at IS NULL", [.date(retiresAt), .text(kid)])
            }
            try await Self.insert(keys, tx)
        }
    }

    package func deleteSigningKeys(retiredBy cutoff: Date) async throws -> Int {
        try await db.rows("DELETE FROM signing_keys WHERE retires_at <= ? RETURNING 1", [.date(cutoff)]).count
    }

    private static func insert(_ keys: [StoredSigningKey], _ tx: SQLiteDatabase.Transaction) async throws {
        for key in keys {
            try await tx.rows("""
                INSERT INTO signing_keys (kid, alg, public_jwk, private_key, private_key_sealed, created_at, activates_at, retires_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """, [.text(key.kid), .text(key.algorithm.rawValue), .text(JSON.object(key.publicJWK).serialized()), .blob(key.privateKey),
                      .integer(key.sealed ? 1 : 0), .date(key.createdAt), .date(key.activatesAt), key.retiresAt.map(SQLiteData.date) ?? .null])
        }
    }
}
