import AsyncHTTPClient
import Foundation
import KychCore
import KychOAuth
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import Testing

/// A real `kych-oauth2-gateway` (or other KyCH server, e.g. `kych-verifier`) process, its log going to a file.
final class GatewayProcess: @unchecked Sendable {
    let process = Process()
    let logFile: URL
    let baseURL: String

    /// Starts the gateway with `configPath` and waits until `/health` answers.
    convenience init(configPath: String, baseURL: String, executable: String = "kych-oauth2-gateway") async throws {
        try await self.init(arguments: ["-c", configPath], baseURL: baseURL, executable: executable)
    }

    /// Starts `executable` with `arguments` (and `environment` added to the test's) and waits until `baseURL/health` answers.
    init(arguments: [String], baseURL: String, executable: String, environment: [String: String] = [:]) async throws {
        self.baseURL = baseURL
        logFile = FileManager.default.temporaryDirectory.appendingPathComponent("kych-gw-\(UUID().uuidString).log")
        _ = FileManager.default.createFile(atPath: logFile.path, contents: nil)
        process.executableURL = TestEnvironment.binDirectory.appendingPathComponent(executable)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let logHandle = try FileHandle(forWritingTo: logFile)
        process.standardOutput = logHandle
        process.standardError = logHandle
        process.standardInput = FileHandle.nullDevice
        try process.run()
        for _ in 0..<100 {
            if let r = try? await HTTP.get(baseURL + "/health"), r.status == 200 { return }
            if !process.isRunning { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        throw TestSetupError("\(executable) did not start: \(log)")
    }

    /// A test that ends early (a failed `#require`, a thrown error) never reaches its ``terminate(signal:)``: the
    /// process goes with the last reference instead of outliving the test run.
    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }

    var log: String { (try? String(contentsOf: logFile, encoding: .utf8)) ?? "" }

    /// Sends `signal` (SIGTERM by default) and waits for the exit status.
    func terminate(signal: Int32 = SIGTERM) async -> Int32 {
        if process.isRunning { kill(process.processIdentifier, signal) }
        for _ in 0..<100 where process.isRunning { try? await Task.sleep(for: .milliseconds(100)) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() }
        return process.terminationStatus
    }
}

/// Plain HTTP requests from tests, without following redirects.
enum HTTP {
    struct Reply {
        var status: Int
        var headers: [String: String]
        var body: String
        var json: JSON { (try? JSON.parse(Data(body.utf8))) ?? .null }
    }

    static let client = HTTPClient(eventLoopGroupProvider: .singleton,
                                   configuration: .init(redirectConfiguration: .disallow, timeout: .init(connect: .seconds(5), read: .seconds(30))))

    static func get(_ url: String, headers: [(String, String)] = []) async throws -> Reply {
        try await send(url, method: .GET, headers: headers, body: nil)
    }

    static func post(_ url: String, headers: [(String, String)] = [], body: String) async throws -> Reply {
        try await send(url, method: .POST, headers: headers, body: body)
    }

    static func send(_ url: String, method: HTTPMethod, headers: [(String, String)], body: String?) async throws -> Reply {
        var request = HTTPClientRequest(url: url)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(ByteBuffer(string: body)) }
        let response = try await client.execute(request, timeout: .seconds(30))
        let bytes = try await response.body.collect(upTo: 1 << 20)
        var fields: [String: String] = [:]
        for h in response.headers { fields[h.name.lowercased()] = h.value }
        return Reply(status: Int(response.status.code), headers: fields, body: String(buffer: bytes))
    }
}
