import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import KychCore
import KychGateway
import KychOAuth
import KychStorage
import NIOCore
import Testing

/// Issue 12, finding 1, over HTTP: a wrong-secret flood is refused early (429) and never starves the rest of the
/// gateway; bcrypt runs on its own bounded threads, answering 503 when they are full, while `/health` and the
/// endpoints without client authentication answer.
@Suite struct HardeningAuthTests {
    static let secret = "secret-token:hardening-auth-0123456789abcdefgh"
    static let wrong = "secret-token:wrong-guess-0123456789abcdefghijk"

    /// A gateway config on a fresh SQLite file (the backend whose I/O shared bcrypt's threads) with clients `a` and `b`.
    static func config(host: String = "127.0.0.1", _ settings: String = "") async throws -> GatewayConfig {
        let text = """
            [kych-oauth2-gateway]
            HOST = \(host)
            PORT = \(TestPorts.next())
            DATABASE = \(try await Backend.sqlite.freshDatabase())
            \(settings)
            [client_a]
            CLIENT_ID = a
            CLIENT_SECRET = \(secret)
            VERIFIER_URL = http://127.0.0.1:9
            REDIRECT_URI = https://a.example/cb
            [client_b]
            CLIENT_ID = b
            CLIENT_SECRET = \(secret)
            VERIFIER_URL = http://127.0.0.1:9
            REDIRECT_URI = https://b.example/cb
            """
        let config = try GatewayConfig.validate(try IniFile.parse(text, path: "hardening.conf", environment: [:]))
        _ = try await Stores.with(config.database, logger: TestEnvironment.logger) { stores in
            try await stores.clients.syncClients(config.clients.map { Client(config: $0) }, prune: false)
        }
        return config
    }

    static func run(_ config: GatewayConfig, hashing: SecretHashingPool = .shared,
                    _ body: @Sendable (any TestClientProtocol) async throws -> Void) async throws {
        let stores = try await Stores.open(config.database, logger: TestEnvironment.logger)
        let app = try await buildApplication(config, stores: stores, logger: TestEnvironment.logger, hashing: hashing)
        try await app.test(.router, body)
    }

    static func setup(_ client: any TestClientProtocol, id: String = "a", secret: String, from address: String? = nil) async throws -> TestResponse {
        var headers: HTTPFields = [.authorization: "Bearer \(secret)"]
        if let address { headers[HTTPField.Name("X-Real-IP")!] = address }
        return try await client.execute(uri: "/setup/\(id)", method: .post, headers: headers, body: nil)
    }

    static func token(_ client: any TestClientProtocol, id: String = "a", secret: String) async throws -> TestResponse {
        let body = "grant_type=authorization_code&code=x&redirect_uri=https%3A%2F%2Fa.example%2Fcb&client_id=\(id)&client_secret=\(secret.urlEscaped)"
        return try await client.execute(uri: "/token", method: .post, headers: [.contentType: "application/x-www-form-urlencoded"],
                                        body: ByteBuffer(string: body))
    }

    /// Ten concurrent wrong secrets for client `a` use up its failures; the eleventh attempt, wrong or right, at
    /// /setup or /token, is 429 with `Retry-After` and an OAuth JSON body; client `b` and /health are unaffected.
    /// Before: every attempt ran bcrypt and answered 401.
    @Test func aWrongSecretFloodIsRefusedWith429() async throws {
        try await Self.run(try await Self.config()) { client in
            let statuses = try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                for i in 0..<10 { group.addTask { try await Self.setup(client, secret: Self.wrong, from: "192.0.2.\(i)").status } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(statuses == Array(repeating: .unauthorized, count: 10))
            for response in [try await Self.setup(client, secret: Self.wrong, from: "192.0.2.99"),
                             try await Self.setup(client, secret: Self.secret, from: "192.0.2.99"),
                             try await Self.token(client, secret: Self.wrong)] {
                response.expectOAuthError("temporarily_unavailable", status: .tooManyRequests)
                let retryAfter = try #require(response.headers[.retryAfter].flatMap { Int($0) })
                #expect((1...60).contains(retryAfter))
            }
            #expect(try await Self.setup(client, id: "b", secret: Self.secret, from: "192.0.2.99").status == .ok)
            #expect(try await client.execute(uri: "/health", method: .get).status == .ok)
        }
    }

    /// Behind a local proxy (loopback binding) the per-address limit reads `X-Real-IP`: thirty failures with
    /// made-up client ids from one address, and that address gets 429; another address is unaffected. On a
    /// public binding the header is not believed.
    @Test func failuresArePerSourceAddressBehindALocalProxy() async throws {
        try await Self.run(try await Self.config()) { client in
            for i in 0..<30 {
                #expect(try await Self.setup(client, id: "guess\(i)", secret: Self.wrong, from: "203.0.113.5").status == .unauthorized)
            }
            try await Self.setup(client, id: "b", secret: Self.secret, from: "203.0.113.5")
                .expectOAuthError("temporarily_unavailable", status: .tooManyRequests)
            #expect(try await Self.setup(client, id: "b", secret: Self.secret, from: "203.0.113.6").status == .ok)
        }
        let publicHost = try await Self.config(host: "0.0.0.0", "CLIENT_AUTH_FAILURES_PER_ADDRESS = 2")
        try await Self.run(publicHost) { client in
            for i in 0..<3 {
                let response = try await Self.setup(client, id: "guess\(i)", secret: Self.wrong, from: "203.0.113.5")
                #expect(response.status == .unauthorized)
            }
        }
    }

    /// With every hashing thread busy, a secret to check is answered 503 with `Retry-After` at once, while /health
    /// (a database round trip), the metadata and /status answer: nothing else waits for bcrypt's threads. Once
    /// they are free again, the client authenticates.
    @Test func aFullHashingPoolAnswers503AndTheRestStillAnswers() async throws {
        let pool = SecretHashingPool(threads: 1, waiting: 0)
        let started = DispatchSemaphore(value: 0), release = DispatchSemaphore(value: 0)
        let busy = Task {
            try await pool.run {
                started.signal()
                release.wait()
            }
        }
        while started.wait(timeout: .now()) == .timedOut { try await Task.sleep(for: .milliseconds(5)) }
        try await Self.run(try await Self.config(), hashing: pool) { client in
            let refused = try await Self.setup(client, secret: Self.secret)
            refused.expectOAuthError("temporarily_unavailable", status: .serviceUnavailable)
            #expect(refused.headers[.retryAfter] == "1")
            #expect(try await client.execute(uri: "/health", method: .get).status == .ok)
            #expect(try await client.execute(uri: "/.well-known/oauth-authorization-server", method: .get).status == .ok)
            #expect(try await client.execute(uri: "/status/unknown", method: .get).status == .notFound)
            release.signal()
            try await busy.value
            #expect(try await Self.setup(client, secret: Self.secret).status == .ok)
        }
        try await pool.shutdown()
    }

    /// Proxy headers count only when the peer can only be a proxy on this machine: `X-Real-IP` first, else the last
    /// `X-Forwarded-For` entry (the one the proxy appended; the ones before it come from the client).
    @Test func theSourceAddressTrustsProxyHeadersOnlyBehindALocalProxy() throws {
        func request(_ fields: HTTPFields) -> Request {
            Request(head: HTTPRequest(method: .post, scheme: "http", authority: "kych", path: "/token", headerFields: fields),
                    body: .init(buffer: ByteBuffer()))
        }
        let forwarded = request([HTTPField.Name("X-Forwarded-For")!: "6.6.6.6, 198.51.100.1"])
        let both = request([HTTPField.Name("X-Forwarded-For")!: "6.6.6.6", HTTPField.Name("X-Real-IP")!: "198.51.100.2"])
        let peer = try SocketAddress(ipAddress: "192.0.2.1", port: 40000)
        let unix = SourceAddress(binding: .unix(path: "/run/kych/kych.sock", mode: 0o660))
        #expect(unix.of(forwarded, peer: nil) == "198.51.100.1" && unix.of(both, peer: nil) == "198.51.100.2")
        #expect(unix.of(request([:]), peer: nil) == nil)
        #expect(SourceAddress(binding: .tcp(host: "127.0.0.1", port: 8080)).of(both, peer: peer) == "198.51.100.2")
        #expect(SourceAddress(binding: .tcp(host: "0.0.0.0", port: 8080)).of(both, peer: peer) == "192.0.2.1")
    }
}
