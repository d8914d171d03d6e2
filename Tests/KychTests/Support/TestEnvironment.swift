import Foundation
import KychCore
import KychPostgres
import Logging
import PostgresNIO
import Testing

/// Where the test run's PostgreSQL, SQL files and executables are. `scripts/test` sets the environment.
enum TestEnvironment {
    static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let sqlDirectory = packageRoot.appendingPathComponent("oauth2_gatewaydb")
    static var binDirectory: URL {
        if let dir = ProcessInfo.processInfo.environment["KYCH_BIN_DIR"] { return URL(fileURLWithPath: dir) }
        return packageRoot.appendingPathComponent(".build/debug")
    }

    static var logger: Logger {
        var logger = Logger(label: "kych-tests")
        logger.logLevel = .warning
        return logger
    }

    /// The server URL of the throwaway cluster (database `postgres`, superuser).
    static func serverURL() throws -> DatabaseURL {
        guard let s = ProcessInfo.processInfo.environment["KYCH_TEST_DATABASE_URL"] else {
            throw TestSetupError("KYCH_TEST_DATABASE_URL is not set: run the tests with scripts/test, which starts PostgreSQL")
        }
        return try DatabaseURL(parsing: s)
    }

    /// Runs `body` on the administrative database.
    static func withAdminConnection<T: Sendable>(_ body: (PostgresConnection) async throws -> T) async throws -> T {
        try await PostgresDatabase.withConnection(try serverURL(), logger: logger, body)
    }
}

struct TestSetupError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

/// A fresh, uniquely named database for one test, optionally with KyCH's schema installed.
struct TestDatabase: Sendable {
    let name: String
    let url: DatabaseURL

    static func create(installSchema: Bool = true) async throws -> TestDatabase {
        let name = "kych_test_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        _ = try await TestEnvironment.withAdminConnection { c in
            try await c.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"), logger: TestEnvironment.logger)
        }
        let db = TestDatabase(name: name, url: try TestEnvironment.serverURL().with(database: name))
        if installSchema {
            let installer = SchemaInstaller(directory: TestEnvironment.sqlDirectory, logger: TestEnvironment.logger)
            _ = try await PostgresDatabase.withConnection(db.url, logger: TestEnvironment.logger) { try await installer.install(on: $0) }
        }
        return db
    }

    /// The connection string, as it would be written in a config file.
    var connectionString: String {
        guard case .tcp(let host, let port) = url.endpoint else { return "" }
        return "postgres://\(url.username)@\(host):\(port)/\(name)"
    }

    /// Runs `body` with a running pool on this database.
    func withPool<T: Sendable>(_ body: @Sendable (PostgresClient) async throws -> T) async throws -> T {
        try await PostgresDatabase.withPool(url, logger: TestEnvironment.logger, body)
    }

    /// Runs one query and returns the first column of every row as text.
    func strings(_ sql: String) async throws -> [String] {
        try await PostgresDatabase.withConnection(url, logger: TestEnvironment.logger) { c in
            var out: [String] = []
            for try await row in try await c.query(PostgresQuery(unsafeSQL: sql), logger: TestEnvironment.logger) {
                out.append(try row.decode(String?.self) ?? "NULL")
            }
            return out
        }
    }

    func execute(_ sql: String) async throws {
        _ = try await strings(sql)
    }
}

/// Runs an executable to completion, capturing its output.
struct ProcessResult {
    var status: Int32
    var stdout: String
    var stderr: String
}

enum Run {
    /// Runs `executable` with `arguments`; standard input is /dev/null unless `stdin` is given.
    static func program(_ executable: String, _ arguments: [String], environment: [String: String] = [:],
                        currentDirectory: URL? = nil, stdin: String? = nil) throws -> ProcessResult {
        let process = Process()
        process.executableURL = executable.hasPrefix("/")
            ? URL(fileURLWithPath: executable) : TestEnvironment.binDirectory.appendingPathComponent(executable)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        if let currentDirectory { process.currentDirectoryURL = currentDirectory }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        if let stdin {
            let pipe = Pipe()
            process.standardInput = pipe
            try process.run()
            pipe.fileHandleForWriting.write(Data(stdin.utf8))
            try pipe.fileHandleForWriting.close()
        } else {
            process.standardInput = FileHandle.nullDevice
            try process.run()
        }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return ProcessResult(status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                             stderr: String(decoding: errData, as: UTF8.self))
    }

    /// Finds a program on PATH.
    static func which(_ name: String) -> String? {
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") {
            let path = "\(dir)/\(name)"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return nil
    }
}

/// Writes `text` to a new temporary file and returns its path.
func temporaryFile(_ text: String, suffix: String = ".conf") throws -> String {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("kych-\(UUID().uuidString)\(suffix)")
    try text.write(to: url, atomically: true, encoding: .utf8)
    return url.path
}
