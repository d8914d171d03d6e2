import Foundation
import KychCore
import Logging
import NIOCore
import SQLiteNIO

/// One SQLite connection shared by a process, with every use serialised: statements and transactions
/// never interleave, so each state change is atomic as on PostgreSQL.
package final class SQLiteDatabase: Sendable {
    let connection: SQLiteConnection
    private let lock = AsyncLock()

    private init(connection: SQLiteConnection) {
        self.connection = connection
    }

    /// Opens (creating if needed) the database at `path` (nil: in memory) and, unless told not to,
    /// brings its schema up to date (``installSchema()``); a file from a newer KyCH is refused and closed.
    package static func open(path: String?, installingSchema: Bool = true, logger: Logger) async throws -> SQLiteDatabase {
        if let path {
            let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            // Claims, code and token hashes and keys live in it: readable by its owner only. SQLite gives its
            // -wal and -shm files the database file's mode.
            if !FileManager.default.fileExists(atPath: path) {
                guard FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600]) else {
                    throw CocoaError(.fileWriteNoPermission, userInfo: [NSFilePathErrorKey: path])
                }
            }
        }
        let connection = try await SQLiteConnection.open(storage: path.map { .file(path: $0) } ?? .memory, logger: logger)
        let db = SQLiteDatabase(connection: connection)
        // secure_delete: erased claims and deleted rows are overwritten in the file, not left in free pages.
        for pragma in ["PRAGMA foreign_keys = ON", "PRAGMA busy_timeout = 5000", "PRAGMA secure_delete = ON"] { _ = try await db.rows(pragma) }
        if path != nil { _ = try await db.rows("PRAGMA journal_mode = WAL") }
        if installingSchema {
            do { try await db.installSchema() } catch {
                try? await db.close()
                throw error
            }
        }
        return db
    }

    /// Closes the connection; runs even when the calling task is cancelled (as on shutdown).
    package func close() async throws {
        let connection = connection
        try await Task.detached { try await connection.close() }.value
    }

    /// Runs one statement and returns its rows.
    @discardableResult
    package func rows(_ sql: String, _ binds: [SQLiteData] = []) async throws -> [SQLiteRow] {
        try await lock.withLock { try await self.unlockedRows(sql, binds) }
    }

    /// Runs `body` in one `BEGIN IMMEDIATE … COMMIT` transaction (rolled back if it throws).
    package func transaction<T: Sendable>(_ body: @Sendable (Transaction) async throws -> T) async throws -> T {
        try await lock.withLock {
            _ = try await self.unlockedRows("BEGIN IMMEDIATE", [])
            do {
                let result = try await body(Transaction(db: self))
                _ = try await self.unlockedRows("COMMIT", [])
                return result
            } catch {
                _ = try? await self.unlockedRows("ROLLBACK", [])
                throw error
            }
        }
    }

    /// Statements inside ``transaction(_:)``.
    package struct Transaction: Sendable {
        let db: SQLiteDatabase
        @discardableResult
        package func rows(_ sql: String, _ binds: [SQLiteData] = []) async throws -> [SQLiteRow] {
            try await db.unlockedRows(sql, binds)
        }
    }

    fileprivate func unlockedRows(_ sql: String, _ binds: [SQLiteData]) async throws -> [SQLiteRow] {
        let collected = RowCollector()
        try await connection.query(sql, binds) { collected.append($0) }
        return collected.rows
    }
}

/// Gathers rows from SQLiteNIO's callback (called serially on its thread pool).
private final class RowCollector: @unchecked Sendable {
    private(set) var rows: [SQLiteRow] = []
    func append(_ row: SQLiteRow) { rows.append(row) }
}

/// A FIFO async mutex.
actor AsyncLock {
    private var locked = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    func withLock<T: Sendable>(_ body: @Sendable () async throws -> T) async throws -> T {
        await acquire()
        defer { release() }
        return try await body()
    }

    private func acquire() async {
        if !locked {
            locked = true
            return
        }
        await withCheckedContinuation { waiters.append($0) }
    }

    private func release() {
        if waiters.isEmpty { locked = false } else { waiters.removeFirst().resume() }
    }
}

/// Reading KyCH's column encodings (see `SQLiteSchema`): text, integers, Unix-second dates, blobs, JSON lists.
extension SQLiteRow {
    package func string(_ name: String) -> String? { column(name)?.string }
    package func int(_ name: String) -> Int64? { column(name)?.integer.map(Int64.init) }
    package func date(_ name: String) -> Date? { column(name)?.double.map(Date.init(timeIntervalSince1970:)) }
    package func data(_ name: String) -> Data? {
        guard case .blob(let buffer)? = column(name) else { return nil }
        return Data(buffer.readableBytesView)
    }
    package func strings(_ name: String) -> [String]? {
        guard let text = string(name) else { return nil }
        return (try? JSONDecoder().decode([String].self, from: Data(text.utf8)))
    }
}

/// Binding values in KyCH's column encodings.
extension SQLiteData {
    package static func text(_ s: String?) -> SQLiteData { s.map(SQLiteData.text) ?? .null }
    package static func date(_ d: Date) -> SQLiteData { .float(d.timeIntervalSince1970) }
    package static func blob(_ d: Data?) -> SQLiteData { d.map { .blob(ByteBuffer(bytes: $0)) } ?? .null }
    package static func list(_ l: [String]?) -> SQLiteData {
        guard let l, let data = try? JSONEncoder().encode(l) else { return .null }
        return .text(String(decoding: data, as: UTF8.self))
    }
}
