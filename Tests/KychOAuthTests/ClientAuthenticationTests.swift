import Foundation
import KychCore
import KychOAuth
import Logging
import Synchronization
import Testing

/// Client authentication: one component, methods as strategies, the header parsers in one place.
@Suite struct ClientAuthenticationTests {
    static let secret = "secret-token:one-two-three-four-five-six-seven"

    func authenticator(_ clients: [Client], checks: Counter = Counter(), limits: FailedAuthenticationLimits = FailedAuthenticationLimits())
        async throws -> ClientAuthenticator {
        try await authenticator(store(clients), checks: checks, limits: limits)
    }

    func authenticator(_ store: InMemoryStore, checks: Counter = Counter(), limits: FailedAuthenticationLimits = FailedAuthenticationLimits())
        -> ClientAuthenticator {
        ClientAuthenticator(clients: store, limits: limits) { secret, hash in
            await checks.increment()
            return Secrets.verifySecret(secret, hash: hash)
        }
    }

    func store(_ clients: [Client]) async throws -> InMemoryStore {
        let store = InMemoryStore()
        for client in clients { try await store.createClient(client) }
        return store
    }

    actor Counter {
        var value = 0
        func increment() { value += 1 }
    }

    func client(_ secret: String? = Self.secret) -> Client {
        Client(clientID: "c", secretHash: secret.map(Secrets.hashSecret), verifierURL: "https://v.example", redirectURI: "https://r.example/cb")
    }

    @Test func headerParsing() {
        let basic = ClientAuthenticationRequest(authorization: "basic " + Data("a%3Ab:s%20t+x".utf8).base64EncodedString())
        #expect(basic.basicCredentials?.clientID == "a:b" && basic.basicCredentials?.secret == "s t x")
        #expect(ClientAuthenticationRequest(authorization: "Basic !!!").basicCredentials == nil)
        #expect(ClientAuthenticationRequest(authorization: "Basic " + Data("nocolon".utf8).base64EncodedString()).basicCredentials == nil)
        #expect(ClientAuthenticationRequest(authorization: "Bearer  secret-token:x ").bearerCredential == "secret-token:x")
        #expect(ClientAuthenticationRequest(authorization: "Bearer").bearerCredential == nil)
        #expect(ClientAuthenticationRequest(authorization: nil).bearerCredential == nil)
    }

    @Test func eachMethodFindsItsOwnCredentials() async throws {
        let auth = try await authenticator([client()])
        let methods: [any ClientAuthenticationMethod] = [ClientSecretBasic(), ClientSecretPost()]
        let post = ClientAuthenticationRequest(authorization: nil, form: ["client_id": "c", "client_secret": Self.secret])
        #expect(try await auth.authenticate(post, methods: methods).clientID == "c")
        let basic = ClientAuthenticationRequest(authorization: "Basic " + Data("c:\(Self.secret)".utf8).base64EncodedString(), form: ["client_id": "c"])
        #expect(try await auth.authenticate(basic, methods: methods).clientID == "c")
        let mismatch = ClientAuthenticationRequest(authorization: basic.authorization, form: ["client_id": "d"])
        await #expect(throws: FlowError.invalidRequest("client_id does not match the credentials")) {
            try await auth.authenticate(mismatch, methods: methods)
        }
        // A method an endpoint does not accept is not used.
        await #expect(throws: FlowError.self) { try await auth.authenticate(post, methods: [ClientSecretBasic()]) }
        let bearer = ClientAuthenticationRequest(pathClientID: "c", authorization: "Bearer \(Self.secret)")
        #expect(try await auth.authenticate(bearer, methods: [BearerSecretAuthentication()]).clientID == "c")
    }

    /// `client_secret_post` credentials for client `id` from `address`.
    func post(_ secret: String, id: String = "c", from address: String? = nil) -> PresentedSecret {
        PresentedSecret(clientID: id, secret: secret, challenge: nil, sourceAddress: address)
    }

    @Test func cachesOnlyWhatWasVerified() async throws {
        let checks = Counter()
        let one = "secret-token:one-0123456789abcdefghijklmnopq"
        let two = "secret-token:two-0123456789abcdefghijklmnopq"
        let store = try await store([client(one)])
        let auth = authenticator(store, checks: checks)
        #expect(try await auth.verify(post(one)).clientID == "c")
        #expect(try await auth.verify(post(one)).clientID == "c")   // from the cache
        #expect(await checks.value == 1)
        await #expect(throws: FlowError.self) { try await auth.verify(post(two)) }
        try await store.updateClient(client(two))                     // the secret changed
        await #expect(throws: FlowError.self) { try await auth.verify(post(one)) }
        #expect(try await auth.verify(post(two)).clientID == "c")
        try await store.updateClient(client(nil))                     // public clients have no secret
        await #expect(throws: FlowError.self) { try await auth.verify(post(two)) }
    }

    /// Issue 12, finding 1: an unknown client id, or a public one with a secret, costs one bcrypt check like a
    /// known one, so the time taken does not tell which ids exist (before, they were refused without one).
    @Test func unknownAndPublicClientsCostOneSecretCheck() async throws {
        let checks = Counter()
        var publicClient = client(nil)
        publicClient.clientID = "app"
        let auth = try await authenticator([client(), publicClient], checks: checks)
        let refused = FlowError.invalidClient("unknown client or wrong client secret")
        await #expect(throws: refused) { try await auth.verify(post(Self.secret, id: "nobody")) }
        #expect(await checks.value == 1)
        await #expect(throws: FlowError.self) { try await auth.verify(post(Self.secret, id: "app")) }
        #expect(await checks.value == 2)
        await #expect(throws: refused) { try await auth.verify(post("secret-token:wrong-0123456789abcdefghijklmn")) }
        #expect(await checks.value == 3)
    }

    /// bcrypt reads 72 bytes: a longer presented secret is refused, never cut to match (before, the secret's first
    /// 72 bytes plus anything were accepted).
    @Test func aSecretLongerThan72BytesIsRefusedNotTruncated() async throws {
        let secret = "secret-token:" + String(repeating: "k", count: 72 - 13)
        #expect(secret.utf8.count == 72)
        let checks = Counter()
        let auth = try await authenticator([client(secret)], checks: checks)
        #expect(try await auth.verify(post(secret)).clientID == "c")
        await #expect(throws: FlowError.invalidClient("the client secret is longer than 72 bytes")) {
            try await auth.verify(post(secret + "x"))
        }
        #expect(await checks.value == 1)
    }

    /// After `perClient` failures for one client id in the window, the next attempt is 429 with the seconds left,
    /// and no secret is checked, not even the right one; a secret verified before still passes; the window ends.
    @Test func failuresPerClientAreLimited() async throws {
        let clock = TestClock()
        let limits = FailedAuthenticationLimits(.init(perClient: 3, perAddress: 100, window: 60), now: { clock.now })
        let checks = Counter()
        let auth = try await authenticator([client()], checks: checks, limits: limits)
        let wrong = "secret-token:wrong-0123456789abcdefghijklmn"
        #expect(try await auth.verify(post(Self.secret, from: "192.0.2.9")).clientID == "c")   // remembered
        let fresh = ClientAuthenticator(clients: try await store([client()]), limits: limits) { s, h in
            await checks.increment()
            return Secrets.verifySecret(s, hash: h)
        }
        for i in 1...3 {
            await #expect(throws: FlowError.invalidClient("unknown client or wrong client secret")) {
                try await auth.verify(post(wrong, from: "192.0.2.\(i)"))
            }
        }
        #expect(await checks.value == 4)
        clock.advance(10)
        let limited = FlowError.retryLater(status: 429, description: "too many failed client authentications; retry in 50 s", seconds: 50)
        await #expect(throws: limited) { try await auth.verify(post(wrong, from: "192.0.2.4")) }
        await #expect(throws: limited) { try await fresh.verify(post(Self.secret, from: "192.0.2.4")) }   // not yet remembered
        await #expect(throws: limited) { try await auth.verify(post(wrong)) }
        #expect(await checks.value == 4)                                                              // no bcrypt ran
        #expect(try await auth.verify(post(Self.secret, from: "192.0.2.5")).clientID == "c")          // remembered: passes
        clock.advance(50)
        #expect(try await fresh.verify(post(Self.secret, from: "192.0.2.4")).clientID == "c")
        #expect(await checks.value == 5)
    }

    /// Per source address: unknown ids count too; a success elsewhere resets nothing here, one from here does.
    @Test func failuresPerAddressAreLimited() async throws {
        let clock = TestClock()
        let limits = FailedAuthenticationLimits(.init(perClient: 100, perAddress: 3, window: 60), now: { clock.now })
        let checks = Counter()
        let auth = try await authenticator([client()], checks: checks, limits: limits)
        let attacker = "2001:db8::bad", other = "2001:db8::1"
        for id in ["x1", "x2", "x3"] {
            await #expect(throws: FlowError.invalidClient("unknown client or wrong client secret")) {
                try await auth.verify(post(Self.secret, id: id, from: attacker))
            }
        }
        #expect(try await auth.verify(post(Self.secret, from: other)).clientID == "c")
        await #expect(throws: FlowError.retryLater(status: 429, description: "too many failed client authentications; retry in 60 s",
                                                   seconds: 60)) {
            try await auth.verify(post(Self.secret, id: "x4", from: attacker))
        }
        #expect(await checks.value == 4)
        // Two failures and a success from one address: its count starts again.
        let office = "198.51.100.7"
        for _ in 1...2 { await #expect(throws: FlowError.self) { try await auth.verify(post(Self.secret, id: "x5", from: office)) } }
        #expect(try await auth.verify(post(Self.secret, from: office)).clientID == "c")
        for _ in 1...2 { await #expect(throws: FlowError.self) { try await auth.verify(post(Self.secret, id: "x6", from: office)) } }
        await #expect(throws: FlowError.invalidClient("unknown client or wrong client secret")) {
            try await auth.verify(post(Self.secret, id: "x7", from: office))
        }
    }

    /// The limiter's memory is bounded: at `tracked` keys, expired windows go first, then the oldest.
    @Test func limitsTrackABoundedNumberOfKeys() {
        let clock = TestClock()
        let limits = FailedAuthenticationLimits(.init(perClient: 1, perAddress: 1, window: 60, tracked: 2), now: { clock.now })
        limits.recordFailure(clientID: "a", address: nil)
        clock.advance(1)
        limits.recordFailure(clientID: "b", address: nil)
        #expect(limits.retryAfter(clientID: "a", address: nil) == 59 && limits.retryAfter(clientID: "b", address: nil) == 60)
        limits.recordFailure(clientID: "c", address: nil)                 // evicts "a", the oldest
        #expect(limits.retryAfter(clientID: "a", address: nil) == nil && limits.retryAfter(clientID: "b", address: nil) == 60)
    }

    /// A refusal is logged once with the client id, the reason and the source address, never the secret; reaching a
    /// limit once more as a warning (before, only /setup and /token logged a refusal, with the client id alone).
    @Test func failuresAreLoggedWithoutTheSecret() async throws {
        let records = LogRecords()
        let logger = Logger(label: "test") { _ in records }
        let limits = FailedAuthenticationLimits(.init(perClient: 2))
        let auth = ClientAuthenticator(clients: try await store([client()]), limits: limits, logger: logger)
        let wrong = "secret-token:wrong-0123456789abcdefghijklmn"
        for _ in 1...2 { await #expect(throws: FlowError.self) { try await auth.verify(post(wrong, from: "192.0.2.7")) } }
        await #expect(throws: FlowError.self) { try await auth.verify(post(wrong + String(repeating: "x", count: 40), id: "nobody")) }
        let lines = records.lines
        #expect(lines.filter { $0.hasPrefix("notice client authentication failed") }.count == 3, "\(lines)")
        #expect(lines.contains("notice client authentication failed client_id=c reason=wrong secret source=192.0.2.7"), "\(lines)")
        #expect(lines.contains("notice client authentication failed client_id=nobody reason=secret longer than 72 bytes source=-"), "\(lines)")
        #expect(lines.contains("warning client authentication limit reached client_id=c source=192.0.2.7"), "\(lines)")
        #expect(!lines.contains { $0.contains("wrong-0123") })
    }
}

/// Log lines as `level message key=value…` (keys sorted), kept for the test to read.
final class LogRecords: LogHandler, @unchecked Sendable {
    private let stored = Mutex<[String]>([])
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace
    var lines: [String] { stored.withLock { $0 } }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let fields = (event.metadata ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        stored.withLock { $0.append((["\(event.level) \(event.message)"] + fields).joined(separator: " ")) }
    }
}
