import AsyncHTTPClient
import Foundation
import KychCore
import NIOCore
import NIOHTTP1

/// The demo's HTTP requests: the demo site calling the gateway (setup, token, info) and the headless
/// run acting as the browser. Redirects are never followed; the caller sees each step.
enum DemoHTTP {
    struct Reply: Sendable {
        var status: Int
        var headers: HTTPHeaders
        var body: String

        var json: JSON { (try? JSON.parse(Data(body.utf8))) ?? .null }
    }

    static let client = HTTPClient(
        eventLoopGroupProvider: .singleton,
        configuration: .init(redirectConfiguration: .disallow, timeout: .init(connect: .seconds(5), read: .seconds(40))))

    static func send(_ url: String, method: HTTPMethod = .GET, headers: [(String, String)] = [], body: String? = nil) async throws -> Reply {
        var request = HTTPClientRequest(url: url)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(ByteBuffer(string: body)) }
        let response = try await client.execute(request, timeout: .seconds(45))
        let bytes = try await response.body.collect(upTo: 4 << 20)
        return Reply(status: Int(response.status.code), headers: response.headers, body: String(buffer: bytes))
    }

    /// Waits (up to 30 s) until `url` answers 200.
    static func waitUntilAnswering(_ url: String) async throws {
        for _ in 0..<300 {
            if let reply = try? await send(url), reply.status == 200 { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw DemoError("\(url) did not answer")
    }

    /// JSON text for people: indented, keys sorted.
    static func pretty(_ value: JSON) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: (try? encoder.encode(value)) ?? Data("null".utf8), as: UTF8.self)
    }
}
