import Foundation
import KychCore
import KychOAuth
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
    /// Runs `executable` (a path, or a name in the build's bin directory) with `arguments`. Standard input is
    /// `stdin` or /dev/null; output goes through temporary files, so no pipe can fill up or be interrupted.
    /// Waits for the program without holding a thread: Swift's pool has one thread per core (two here), and a test
    /// blocked in `waitUntilExit` there stalls every in-process server of the suite (a loopback issuer, a gateway
    /// harness) until it ends, or for good when the program waits for such a server.
    static func program(_ executable: String, _ arguments: [String], environment: [String: String] = [:],
                        currentDirectory: URL? = nil, stdin: String? = nil) async throws -> ProcessResult {
        try await program(executable, arguments, environment: environment, currentDirectory: currentDirectory, input: stdin.map { Data($0.utf8) })
    }

    static func program(_ executable: String, _ arguments: [String], environment: [String: String] = [:],
                        currentDirectory: URL? = nil, input: Data?) async throws -> ProcessResult {
        let process = Process()
        process.executableURL = executable.hasPrefix("/")
            ? URL(fileURLWithPath: executable) : TestEnvironment.binDirectory.appendingPathComponent(executable)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        if let currentDirectory { process.currentDirectoryURL = currentDirectory }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("kych-run-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let files = ["in", "out", "err"].map { dir.appendingPathComponent($0) }
        try (input ?? Data()).write(to: files[0])
        for file in files.dropFirst() { try Data().write(to: file) }
        let handles = try [FileHandle(forReadingFrom: files[0]), FileHandle(forWritingTo: files[1]), FileHandle(forWritingTo: files[2])]
        defer { for handle in handles { try? handle.close() } }
        process.standardInput = input == nil ? FileHandle.nullDevice : handles[0]
        process.standardOutput = handles[1]
        process.standardError = handles[2]
        try await process.runUntilExit()
        return ProcessResult(status: process.terminationStatus,
                             stdout: String(decoding: try Data(contentsOf: files[1]), as: UTF8.self),
                             stderr: String(decoding: try Data(contentsOf: files[2]), as: UTF8.self))
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

extension Process {
    /// Runs the process and returns when it has exited, suspended meanwhile (no thread waits for it).
    func runUntilExit() async throws {
        let exited = AsyncStream<Void>.makeStream()
        terminationHandler = { _ in exited.continuation.finish() }
        try run()
        for await _ in exited.stream {}
    }
}
