import AsyncHTTPClient
import Foundation
import KychCore
import NIOCore
import NIOFoundationCompat
import NIOHTTP1

/// HTTP requests the verifier and the wallet send: DID documents, status lists, request objects,
/// wallet answers and webhooks. Redirects are never followed; connect timeout 5 s, whole request 10 s.
package enum OutboundHTTP {
    /// The reply to a request.
    package struct Reply: Sendable {
        package var status: Int
        package var body: Data
        /// The response header fields, in order (names as sent).
        package var headers: [(name: String, value: String)] = []

        /// The values of the header field `name` (case-insensitive).
        package func values(of name: String) -> [String] {
            headers.filter { $0.name.lowercased() == name.lowercased() }.map(\.value)
        }
    }

    /// Why a request could not be made or its reply read.
    package struct Failure: Error, Sendable, CustomStringConvertible {
        package let description: String
        package init(_ description: String) { self.description = description }
    }

    /// Connection failures fail at once rather than being retried until the connect timeout:
    /// callers retry at their own pace (the webhook at its interval, wallets by asking again).
    static let client: HTTPClient = {
        var configuration = HTTPClient.Configuration(
            redirectConfiguration: .disallow, timeout: .init(connect: .seconds(5), read: .seconds(10)))
        configuration.connectionPool.retryConnectionEstablishment = false
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }()

    /// Whether fetching `url` is allowed (``FetchableURL``).
    package static func isFetchable(_ url: URL) -> Bool { FetchableURL.allows(url) }

    /// `GET url` if ``isFetchable(_:)``; the body is limited to `maxBytes`.
    package static func fetch(_ url: URL, accept: String, maxBytes: Int) async throws(Failure) -> Reply {
        guard isFetchable(url) else { throw Failure("\(url.absoluteString) is neither https nor http on a loopback host") }
        return try await send(url: url.absoluteString, method: .GET, headers: [("Accept", accept)], body: nil, maxBytes: maxBytes)
    }

    /// Sends one request to any http(s) URL.
    package static func send(url: String, method: HTTPMethod, headers: [(String, String)], body: Data?,
                            maxBytes: Int) async throws(Failure) -> Reply {
        var request = HTTPClientRequest(url: url)
        request.method = method
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(ByteBuffer(data: body)) }
        do {
            let response = try await client.execute(request, timeout: .seconds(10))
            let bytes = try await response.body.collect(upTo: maxBytes)
            return Reply(status: Int(response.status.code), body: Data(buffer: bytes),
                         headers: response.headers.map { ($0.name, $0.value) })
        } catch is NIOTooManyBytesError {
            throw Failure("the reply from \(url) is larger than \(maxBytes) bytes")
        } catch {
            throw Failure("\(method) \(url) failed: \(error)")
        }
    }
}
