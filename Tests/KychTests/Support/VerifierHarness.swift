import Foundation
import Hummingbird
import KychCore
import KychOAuth
import KychGateway
import KychPostgres
import KychSDJWT
import KychStorage
import KychVerifier
import KychVerifierModel
import KychVerifierServer
import KychWallet
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization
import Testing

extension TestDatabase {
    /// A fresh database with the gateway's and the built-in verifier's schemas.
    static func createWithVerifier() async throws -> TestDatabase {
        let db = try await create()
        let installer = SchemaInstaller(directory: TestEnvironment.sqlDirectory, logger: TestEnvironment.logger)
        _ = try await PostgresDatabase.withConnection(db.url, logger: TestEnvironment.logger) {
            try await installer.install(on: $0, patches: SchemaInstaller.verifierPatches)
        }
        return db
    }
}

/// Loopback ports for the servers of these tests, never the same one twice in a run and outside
/// Linux's ephemeral range (32768-60999), so neither another test's `bind(0)` nor an outgoing
/// connection can take a port between choosing it and the server binding it.
enum TestPorts {
    private static let handedOut = Mutex<Set<Int>>([])

    static func next() -> Int {
        while true {
            let port = Int.random(in: 10_000..<30_000)
            guard handedOut.withLock({ $0.insert(port).inserted }), isFree(port) else { continue }
            return port
        }
    }

    private static func isFree(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        } == 0
    }
}

/// A Hummingbird application serving on a real loopback port for the duration of a test.
final class RunningApp: Sendable {
    let baseURL: String
    private let group: ServiceGroup
    private let task: Task<Void, any Error>

    /// Runs `app` and waits until `baseURL/health` answers 200.
    init(_ app: some ApplicationProtocol, baseURL: String) async throws {
        self.baseURL = baseURL
        let group = ServiceGroup(configuration: .init(services: [app], logger: TestEnvironment.logger))
        self.group = group
        task = Task { try await group.run() }
        for _ in 0..<100 {
            if let reply = try? await HTTP.get(baseURL + "/health"), reply.status == 200 { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        await stop()
        throw TestSetupError("\(baseURL) did not start")
    }

    /// Shuts the application down gracefully and waits until it has stopped.
    func stop() async {
        await group.triggerGracefulShutdown()
        _ = await task.result
    }
}

/// A loopback HTTP server for what the verifier fetches and sends: files served on GET (status
/// lists, DID documents) and POSTs recorded (webhooks) and answered with a settable status.
final class LoopbackServer: Sendable {
    struct Post: Sendable {
        var path: String
        var headers: [String: String]
        var body: String
    }

    private final class State: Sendable {
        let files = Mutex<[String: String]>([:])
        let received = Mutex<[Post]>([])
        let fetched = Mutex<[String]>([])
        let postStatus = Mutex(204)
        /// POSTs whose body contains this are answered only after 30 s (longer than any client waits).
        let hangOn = Mutex<String?>(nil)
    }

    private let state = State()
    private let task: Task<Void, any Error>
    let baseURL: String

    init() async throws {
        let router = Router()
        let state = state
        router.get("**") { request, _ -> Response in
            state.fetched.withLock { $0.append(request.uri.path) }
            guard let body = state.files.withLock({ $0[request.uri.path] }) else { return Response(status: .notFound) }
            return Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: body)))
        }
        router.post("**") { request, _ -> Response in
            let body = try await request.body.collect(upTo: 1 << 20)
            var headers: [String: String] = [:]
            for field in request.headers { headers[field.name.canonicalName] = field.value }
            state.received.withLock { $0.append(Post(path: request.uri.path, headers: headers, body: String(buffer: body))) }
            if let hang = state.hangOn.withLock({ $0 }), String(buffer: body).contains(hang) { try await Task.sleep(for: .seconds(30)) }
            return Response(status: .init(code: state.postStatus.withLock { $0 }))
        }
        let ready = AsyncStream<Int>.makeStream()
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                              onServerRunning: { ready.continuation.yield($0.localAddress?.port ?? 0) },
                              logger: Logger(label: "loopback-server", factory: { _ in SwiftLogNoOpLogHandler() }))
        task = Task { try await app.runService(gracefulShutdownSignals: []) }
        var port = 0
        for await bound in ready.stream {
            port = bound
            break
        }
        baseURL = "http://127.0.0.1:\(port)"
    }

    /// Serves `body` at `path`.
    func serve(_ path: String, _ body: String) { state.files.withLock { $0[path] = body } }

    /// From now on, POSTs whose body contains `text` get no answer in time.
    func hangPosts(containing text: String) { state.hangOn.withLock { $0 = text } }

    /// The status POSTs are answered with from now on.
    func answerPosts(with status: Int) { state.postStatus.withLock { $0 = status } }

    var posts: [Post] { state.received.withLock { $0 } }

    /// The paths of every GET so far.
    var fetchedPaths: [String] { state.fetched.withLock { $0 } }

    /// The `did:web` DID of this server's root (`/.well-known/did.json`).
    var didWeb: String { "did:web:" + baseURL.dropFirst("http://".count).replacingOccurrences(of: ":", with: "%3A") }

    func stop() { task.cancel() }
}

/// Verifier and gateway settings shared by the tests.
enum VerifierTestConfig {
    static let webhookHeader = "X-Api-Key"
    static let webhookKey = "secret-token:webhook-key"

    /// `[kych-verifier]` of a gateway at `baseURL` that serves the verifier itself, its key file in `directory`.
    /// `callback`: `WEBHOOK_CALLBACK_URI` (default: the gateway's `/notification`).
    static func embeddedVerifierSection(baseURL: String, directory: URL, token: String, callback: String? = nil,
                                        webhookInterval: Int = 50) -> String {
        """
            [kych-verifier]
            EMBEDDED = yes
            EXTERNAL_URL = \(baseURL)
            SIGNING_KEY_FILE = \(directory.appendingPathComponent("verifier.pem").path)
            WEBHOOK_CALLBACK_URI = \(callback ?? baseURL + "/notification")
            WEBHOOK_API_KEY_HEADER = \(VerifierTestConfig.webhookHeader)
            WEBHOOK_API_KEY_VALUE = \(VerifierTestConfig.webhookKey)
            WEBHOOK_INTERVAL = \(webhookInterval)
            MANAGEMENT_BEARER_TOKEN = \(token)
            """
    }

    /// A `[kych-verifier]` section for a verifier on `port` (loopback, plain HTTP).
    static func section(port: Int, database: String, keyFile: String, webhook: String?, webhookInterval: Int = 50,
                        extra: String = "") -> String {
        """
        [kych-verifier]
        HOST = 127.0.0.1
        PORT = \(port)
        DATABASE = \(database)
        EXTERNAL_URL = http://127.0.0.1:\(port)
        SIGNING_KEY_FILE = \(keyFile)
        \(webhook.map { "WEBHOOK_CALLBACK_URI = \($0)" } ?? "")
        WEBHOOK_API_KEY_HEADER = \(webhookHeader)
        WEBHOOK_API_KEY_VALUE = \(webhookKey)
        WEBHOOK_INTERVAL = \(webhookInterval)
        \(extra)
        """
    }

    /// The gateway's main section and its client, which uses the verifier at `verifierURL`.
    static func gatewaySections(port: Int, database: String, verifierURL: String, acceptedIssuers: [String]) -> String {
        """
        [kych-oauth2-gateway]
        HOST = 127.0.0.1
        PORT = \(port)
        DATABASE = \(database)
        [client_test]
        CLIENT_ID = \(GatewayBrowser.clientID)
        CLIENT_SECRET = \(GatewayBrowser.secret)
        VERIFIER_URL = \(verifierURL)
        REDIRECT_URI = \(GatewayBrowser.redirect)
        ACCEPTED_ISSUER_DIDS = {\(acceptedIssuers.joined(separator: ", "))}
        DEFAULT_SCOPE = {given_name, family_name, birth_date, age_over_18}
        WEBHOOK_API_KEY_HEADER = \(webhookHeader)
        WEBHOOK_API_KEY_VALUE = \(webhookKey)
        """
    }

    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("kych-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}

/// The built-in verifier in-process on a loopback port (`TestPorts`), on a database that has the
/// verifier schema (`TestDatabase.createWithVerifier`), and a wallet folder beside its signing key.
/// The wallet holds no credential until a test issues one.
struct BuiltInVerifier: Sendable {
    let app: RunningApp
    let wallet: Wallet
    let keyFile: String

    var baseURL: String { app.baseURL }

    /// `webhook`: the callback URI (`nil`: no webhook), retried every `webhookInterval` ms; `settings`: extra `[kych-verifier]` lines.
    static func start(database: String, webhook: String?, webhookInterval: Int = 50, settings: String = "") async throws -> BuiltInVerifier {
        let directory = try VerifierTestConfig.temporaryDirectory()
        let port = TestPorts.next()
        let keyFile = directory.appendingPathComponent("verifier.pem").path
        let text = VerifierTestConfig.section(port: port, database: database, keyFile: keyFile, webhook: webhook,
                                                  webhookInterval: webhookInterval, extra: settings)
        let config = try VerifierConfig.validate(try IniFile.parse(text, path: "verifier.conf", environment: [:]))
        let app = try await RunningApp(try await buildVerifierApplication(config, logger: TestEnvironment.logger),
                                       baseURL: "http://127.0.0.1:\(port)")
        return BuiltInVerifier(app: app, wallet: try Wallet(directory: directory.appendingPathComponent("wallet")), keyFile: keyFile)
    }

    /// The management view of a verification.
    func verification(_ id: String, headers: [(String, String)] = []) async throws -> HTTP.Reply {
        try await HTTP.get(baseURL + "/management/api/verifications/" + id, headers: headers)
    }

    func stop() async { await app.stop() }
}

extension Wallet {
    /// What the person's wallet does with a deeplink (or request URI): fetches and checks the
    /// request object, then presents the credential `credential` (default: the first of a requested
    /// type), or declines. Returns the verifier's answer to the post.
    func answer(_ deeplink: String, credential: String? = nil, decline: Bool = false,
                faults: PresentationFaults = []) async throws -> VerifierReply {
        let request = try await PresentationRequest.fetch(deeplink)
        return decline ? try await Wallet.decline(request) : try await present(request, credential: credential, faults: faults)
    }

    /// Issues the default Beta-ID credential as `name`, with status-list entry `index` of a list that
    /// `statusServer` serves at `/status/1.jwt` (index 1 revoked, 2 suspended, the rest valid).
    func issueWithStatus(index: Int, name: String, statusServer: LoopbackServer) throws {
        let uri = statusServer.baseURL + "/status/1.jwt"
        statusServer.serve("/status/1.jwt", try statusListToken(uri: uri, revoked: [1], suspended: [2]))
        var issuance = Wallet.Issuance()
        issuance.status = StatusReference(uri: uri, index: index)
        try issue(issuance, name: name)
    }
}

/// The KyCH gateway and the built-in verifier, both in-process on loopback ports sharing one fresh
/// database, and a wallet folder: the real parts a wallet, a browser and a client talk to.
struct VerifierStack {
    let db: TestDatabase
    let builtIn: BuiltInVerifier
    let gateway: RunningApp
    let browser: GatewayBrowser

    var wallet: Wallet { builtIn.wallet }
    var verifier: RunningApp { builtIn.app }

    /// `acceptedIssuers`: the client's ACCEPTED_ISSUER_DIDS (default: the wallet's issuer).
    static func start(acceptedIssuers: (Wallet) throws -> [String] = { [try $0.issuerDID()] }) async throws -> VerifierStack {
        let db = try await TestDatabase.createWithVerifier()
        let gatewayPort = TestPorts.next()
        let builtIn = try await BuiltInVerifier.start(database: db.connectionString,
                                                      webhook: "http://127.0.0.1:\(gatewayPort)/notification")
        let text = VerifierTestConfig.gatewaySections(port: gatewayPort, database: db.connectionString, verifierURL: builtIn.baseURL,
                                                      acceptedIssuers: try acceptedIssuers(builtIn.wallet))
        let gatewayConfig = try GatewayConfig.validate(try IniFile.parse(text, path: "stack.conf", environment: [:]))
        try await db.withPool { pool in
            _ = try await PostgresClientRepository(client: pool, logger: TestEnvironment.logger)
                .syncClients(gatewayConfig.clients.map { Client(config: $0) }, prune: false)
        }
        let gateway = try await RunningApp(
            try await buildApplication(gatewayConfig, logger: TestEnvironment.logger), baseURL: "http://127.0.0.1:\(gatewayPort)")
        return VerifierStack(db: db, builtIn: builtIn, gateway: gateway, browser: GatewayBrowser(baseURL: gateway.baseURL))
    }

    func stop() async {
        await gateway.stop()
        await builtIn.stop()
    }

    /// The verifier's management view of a verification.
    func verification(_ id: String) async throws -> HTTP.Reply {
        try await builtIn.verification(id)
    }
}

/// Drives the gateway over real HTTP as the client (Taler exchange) and the browser do.
struct GatewayBrowser {
    static let clientID = "test-client"
    static let secret = "secret-token:e2e-secret-0123456789abcdefghijk"
    static let redirect = "https://exchange.example.com/kyc-proof/kych"
    static let state = "E2E-STATE-0123456789ABCDEFGHJKMNPQRSTVWXYZ"

    let baseURL: String

    struct Started {
        var verificationID: String
        var deeplink: String
        var cookie: String
    }

    /// `POST /setup` then `GET /authorize/{nonce}` as JSON.
    func start() async throws -> Started {
        let setup = try await HTTP.post(baseURL + "/setup/\(Self.clientID)", headers: [("Authorization", "Bearer \(Self.secret)")], body: "")
        let nonce = try #require(setup.json["nonce"]?.stringValue, "\(setup.body)")
        let query = "response_type=code&client_id=\(Self.clientID)&redirect_uri=\(Self.redirect.urlEscaped)&state=\(Self.state)"
        let authorize = try await HTTP.get(baseURL + "/authorize/\(nonce)?\(query)", headers: [("Accept", "application/json")])
        #expect(authorize.status == 200, "\(authorize.body)")
        let cookie = try #require(authorize.headers["set-cookie"]?.split(separator: ";").first.map(String.init))
        return Started(verificationID: try #require(authorize.json["verification_id"]?.stringValue),
                       deeplink: try #require(authorize.json["verification_deeplink"]?.stringValue), cookie: cookie)
    }

    /// `GET /status`, long-polling up to `timeoutMS` for a change.
    func status(_ started: Started, timeoutMS: Int = 10_000) async throws -> String? {
        try await HTTP.get(baseURL + "/status/\(started.verificationID)?state=\(Self.state)&timeout_ms=\(timeoutMS)")
            .json["status"]?.stringValue
    }

    /// `GET /finalize` with the browser-binding cookie: the redirect's query items.
    func finalize(_ started: Started) async throws -> [String: String] {
        let reply = try await HTTP.get(baseURL + "/finalize/\(started.verificationID)?state=\(Self.state)",
                                       headers: [("Cookie", started.cookie)])
        #expect(reply.status == 302, "\(reply.body)")
        let location = try #require(reply.headers["location"])
        #expect(location.hasPrefix(Self.redirect + "?"))
        return URLComponents(string: location)?.queryItems?.reduce(into: [:]) { $0[$1.name] = $1.value } ?? [:]
    }

    /// `POST /token` with the code, then `GET /info` with the token.
    func info(code: String) async throws -> HTTP.Reply {
        let form = "grant_type=authorization_code&code=\(code.urlEscaped)&client_id=\(Self.clientID)"
            + "&client_secret=\(Self.secret.urlEscaped)&redirect_uri=\(Self.redirect.urlEscaped)"
        let token = try await HTTP.post(baseURL + "/token", headers: [("Content-Type", "application/x-www-form-urlencoded")], body: form)
        let accessToken = try #require(token.json["access_token"]?.stringValue, "\(token.body)")
        return try await HTTP.get(baseURL + "/info", headers: [("Authorization", "Bearer \(accessToken)")])
    }
}

/// The built-in verifier alone, in-process on a loopback port with a fresh database, and a wallet
/// whose issuer it may trust.
struct StandaloneVerifier {
    let db: TestDatabase
    let builtIn: BuiltInVerifier

    var app: RunningApp { builtIn.app }
    var wallet: Wallet { builtIn.wallet }
    var keyFile: String { builtIn.keyFile }
    var baseURL: String { builtIn.baseURL }

    /// `settings` are extra `[kych-verifier]` lines; `webhook` receives the callbacks, retried every `webhookInterval` ms.
    static func start(settings: String = "", webhook: LoopbackServer? = nil, webhookInterval: Int = 50) async throws -> StandaloneVerifier {
        let db = try await TestDatabase.createWithVerifier()
        let builtIn = try await BuiltInVerifier.start(database: db.connectionString, webhook: webhook.map { $0.baseURL + "/notification" },
                                                      webhookInterval: webhookInterval, settings: settings)
        return StandaloneVerifier(db: db, builtIn: builtIn)
    }

    /// The DCQL body KyCH's gateway sends, trusting the wallet's issuer.
    func requestBody(mode: String = "direct_post.jwt", claims: [String] = ["given_name", "age_over_18"],
                     format: String = "dc+sd-jwt") throws -> String {
        let paths = claims.map { #"{"path":["\#($0)"]}"# }.joined(separator: ",")
        return """
            {"accepted_issuer_dids":["\(try wallet.issuerDID())"],"response_mode":"\(mode)","dcql_query":{"credentials":[
            {"id":"kych","format":"\(format)","meta":{"vct_values":["betaid-sdjwt","urn:vct:ch.admin.bcs.betaid"]},
            "claims":[\(paths)],"require_cryptographic_holder_binding":true}]}}
            """
    }

    func create(_ body: String, headers: [(String, String)] = []) async throws -> HTTP.Reply {
        try await HTTP.post(baseURL + "/management/api/verifications", headers: [("Content-Type", "application/json")] + headers, body: body)
    }

    /// Creates a verification the wallet can answer; returns its management response.
    func createVerification(mode: String = "direct_post.jwt", claims: [String] = ["given_name", "age_over_18"],
                            format: String = "dc+sd-jwt") async throws -> JSON {
        let reply = try await create(try requestBody(mode: mode, claims: claims, format: format))
        #expect(reply.status == 200, "\(reply.body)")
        return reply.json
    }

    /// The wallet gets a credential, a verification is created, and the wallet fetches its request:
    /// the management response, the id and the request, ready for an answer.
    func pendingVerification() async throws -> (created: JSON, id: String, request: PresentationRequest) {
        try wallet.issue()
        let created = try await createVerification()
        let id = try #require(created["id"]?.stringValue)
        return (created, id, try await PresentationRequest.fetch(try #require(created["verification_url"]?.stringValue)))
    }

    func result(_ id: String, headers: [(String, String)] = []) async throws -> HTTP.Reply {
        try await builtIn.verification(id, headers: headers)
    }

    /// Posts a form to the verification's response endpoint.
    func postResponse(_ id: String, _ fields: [(String, String)], headers: [(String, String)] = []) async throws -> HTTP.Reply {
        try await HTTP.post(baseURL + "/oid4vp/api/request-object/\(id)/response-data",
                            headers: [("Content-Type", "application/x-www-form-urlencoded")] + headers,
                            body: FormURLEncoding.encode(fields))
    }

    func stop() async { await builtIn.stop() }
}

/// A gateway serving the built-in verifier itself (`EMBEDDED = yes`) on a fresh database, its client's `VERIFIER_URL`
/// the gateway's own URL, and a wallet holding a credential of the accepted issuer.
struct EmbeddedVerifierGateway {
    static let token = "secret-token:embedded-management"
    let db: TestDatabase
    let wallet: Wallet
    let gateway: RunningApp
    let port: Int

    var baseURL: String { gateway.baseURL }

    /// `callback` and `webhookInterval`: the verifier's webhook (default: the gateway's `/notification`, 50 ms);
    /// `extraRoutes` as in ``buildApplication(_:stores:logger:hashing:offersDemoWallet:extraRoutes:)``.
    static func start(callback: String? = nil, webhookInterval: Int = 50,
                      extraRoutes: @escaping (Router<GatewayRequestContext>, AuthorizationServer) throws -> Void = { _, _ in }
    ) async throws -> EmbeddedVerifierGateway {
        let db = try await TestDatabase.createWithVerifier()
        let directory = try VerifierTestConfig.temporaryDirectory()
        let wallet = try Wallet(directory: directory.appendingPathComponent("wallet"))
        try wallet.issue()
        let port = TestPorts.next()
        let baseURL = "http://127.0.0.1:\(port)"
        let path = try temporaryFile(
            VerifierTestConfig.gatewaySections(port: port, database: db.connectionString, verifierURL: baseURL,
                                               acceptedIssuers: [try wallet.issuerDID()])
            + """

            VERIFIER_BEARER_TOKEN = \(token)
            \(VerifierTestConfig.embeddedVerifierSection(baseURL: baseURL, directory: directory, token: token, callback: callback,
                                                         webhookInterval: webhookInterval))
            """)
        let config = try GatewayConfig.load(path: path)
        try await db.withPool { pool in
            _ = try await PostgresClientRepository(client: pool, logger: TestEnvironment.logger)
                .syncClients(config.clients.map { Client(config: $0) }, prune: false)
        }
        let stores = try await Stores.open(config.database, sealing: config.sealing, logger: TestEnvironment.logger)
        let app = try await buildApplication(config, stores: stores, logger: TestEnvironment.logger, extraRoutes: extraRoutes)
        return EmbeddedVerifierGateway(db: db, wallet: wallet, gateway: try await RunningApp(app, baseURL: baseURL), port: port)
    }
}
