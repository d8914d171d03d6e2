import Foundation
import KychCore
import KychOAuth
import Logging
import Synchronization
import Testing

/// A verifier port whose answers the test scripts: no process, no network.
actor ScriptedVerifier: VerifierPort {
    private(set) var created: [(clientID: String, claims: [String])] = []
    /// The accepted issuers of the client of the last verification created.
    private(set) var trustedIssuers: [String] = []
    private var outcomes: [String: VerifierOutcome] = [:]
    private(set) var asked = 0
    /// The `granted` claims of the last outcome asked for.
    private(set) var lastGranted: [String]?
    var unreachable = false

    func createVerification(for client: Client, claims: [String]) throws -> VerifierVerification {
        if unreachable { throw ScriptedVerifierDown() }
        created.append((client.clientID, claims))
        trustedIssuers = client.acceptedIssuerDIDs
        let id = "v\(created.count)"
        return VerifierVerification(id: id, requestNonce: "rn", verificationURL: "https://verifier.example/request/\(id)",
                                    deeplink: "swiyu-verify://?request_uri=\(id)")
    }

    func outcome(of verificationID: String, for client: Client, granted: [String]) throws -> VerifierOutcome {
        asked += 1
        lastGranted = granted
        if unreachable { throw ScriptedVerifierDown() }
        guard case .success(var credential)? = outcomes[verificationID] else { return outcomes[verificationID] ?? .pending }
        credential.claims = credential.claims.filter { granted.contains($0.key) }
        return .success(credential)
    }

    func answer(_ verificationID: String, with outcome: VerifierOutcome) { outcomes[verificationID] = outcome }
    func setUnreachable(_ value: Bool) { unreachable = value }
}

struct ScriptedVerifierDown: Error {}

/// A clock the test moves by hand.
final class TestClock: Sendable {
    private let current: Mutex<Date>
    init(_ start: Date = Date(timeIntervalSince1970: 1_800_000_000)) { current = Mutex(start) }
    var now: Date { current.withLock { $0 } }
    func advance(_ seconds: TimeInterval) { current.withLock { $0 += seconds } }
}

/// The authorization server on an in-memory store, a scripted verifier and a hand-moved clock.
struct FlowFixture {
    static let secret = "secret-token:unit-test-client-secret-0123456789"
    static let redirect = "https://exchange.example/kyc/cb"
    let server: AuthorizationServer
    let store: InMemoryStore
    let verifier: ScriptedVerifier
    let clock: TestClock

    static let credential = VerifiedCredential(claims: ["given_name": "Helvetia", "family_name": "National", "age_over_18": true],
                                               vct: "betaid-sdjwt", issuer: "did:example:issuer")

    /// `openID`: with signing keys (in the store), so OpenID Connect is on. `clientKeys`: where the clients' keys come
    /// from (their inline `JWKS` unless given).
    init(extraConfig: String = "", clientSettings: String = "", openID: Bool = false, clientKeys: (any ClientKeySource)? = nil) async throws {
        let text = """
            [kych-oauth2-gateway]
            HOST = 127.0.0.1
            PORT = 8080
            DATABASE = sqlite::memory:
            VC_CLAIMS = {given_name, family_name, age_over_18}
            \(extraConfig)

            [client_exchange]
            CLIENT_ID = exchange
            CLIENT_SECRET = \(Self.secret)
            VERIFIER_URL = https://verifier.example
            REDIRECT_URI = \(Self.redirect)
            ACCEPTED_ISSUER_DIDS = {\(Self.credential.issuer ?? "")}
            \(clientSettings)
            """
        let config = try GatewayConfig.validate(try IniFile.parse(text, path: "unit.conf", environment: [:]))
        store = InMemoryStore()
        for client in config.clients { try await store.createClient(Client(config: client)) }
        verifier = ScriptedVerifier()
        let clock = TestClock()
        self.clock = clock
        var logger = Logger(label: "kych-unit")
        logger.logLevel = .critical
        let keys = openID ? SigningKeys(store: store, encryptionSecret: nil, now: { clock.now }) : nil
        server = AuthorizationServer(config: config, clients: store, store: store, verifier: verifier, signingKeys: keys,
                                     clientKeys: clientKeys ?? InlineClientKeys(), logger: logger, now: { clock.now })
    }

    /// `/setup` with the client's secret.
    func setup() async throws -> String {
        try await server.setup(clientID: "exchange", authorization: "Bearer \(Self.secret)")
    }

    /// `/authorize/{nonce}` with the registered redirect URI.
    func authorize(nonce: String?, scope: String? = nil, state: String? = "st", extra: [String: String] = [:]) async throws -> Authorization {
        var parameters = ["response_type": "code", "client_id": "exchange", "redirect_uri": Self.redirect]
        parameters["scope"] = scope
        parameters["state"] = state
        parameters.merge(extra) { $1 }
        return try await server.authorize(AuthorizationRequest(nonce: nonce, parameters: parameters))
    }

    /// The code in a redirect to the client.
    static func code(in location: String) throws -> String {
        let query = try #require(location.split(separator: "?", maxSplits: 1).last)
        return try #require(FormURLEncoding.decode(String(query))?["code"])
    }

    func token(code: String, basic: Bool = false, secret: String = FlowFixture.secret) async throws -> TokenResponse {
        var form = ["grant_type": "authorization_code", "code": code, "redirect_uri": Self.redirect]
        var authorization: String?
        if basic {
            authorization = "Basic " + Data("exchange:\(secret)".utf8).base64EncodedString()
        } else {
            form["client_id"] = "exchange"
            form["client_secret"] = secret
        }
        return try await server.token(TokenRequest(form: form, authorization: authorization))
    }

    /// setup → authorize → the verifier says `outcome` → status → finalize: the redirect location.
    func runToFinalize(_ outcome: VerifierOutcome = .success(FlowFixture.credential), scope: String? = nil,
                       extra: [String: String] = [:]) async throws -> String {
        let nonce = try await setup()
        let started = try await authorize(nonce: nonce, scope: scope, extra: extra)
        await verifier.answer(started.verification.id, with: outcome)
        try await server.notification(verificationID: started.verification.id) { _ in nil }
        return try await server.finalize(verificationID: started.verification.id, state: "st", bindingCookie: started.bindingCookie)
    }
}

/// The error a call throws, for comparing with `#expect`.
func flowError(_ body: () async throws -> some Any) async -> FlowError? {
    do {
        _ = try await body()
        return nil
    } catch let error as FlowError {
        return error
    } catch {
        return nil
    }
}

/// The in-memory store, counting every call of a store primitive (each is one SQL statement on PostgreSQL) and of the
/// client repository; `slowReads` makes a read of a session by its verification id take a while (a database under
/// load), so a test can cancel a poll in the middle of one.
final class CountingStore: FlowStore, ClientRepository {
    let base: InMemoryStore
    private let counts = Mutex([String: Int]())
    let slowReads = Mutex(false)
    init(_ base: InMemoryStore) { self.base = base }

    /// How often `/status` and the others read a session by its verification id.
    var sessionReads: Int { counts.withLock { $0["session(verificationID:)", default: 0] } }
    /// Every call so far, by primitive.
    var calls: [String: Int] { counts.withLock { $0 } }
    var totalCalls: Int { calls.values.reduce(0, +) }
    func resetCounts() { counts.withLock { $0 = [:] } }

    private func count(_ name: String = #function) { counts.withLock { $0[name, default: 0] += 1 } }

    func session(verificationID: String) async throws -> VerificationSession? {
        count("session(verificationID:)")
        if slowReads.withLock({ $0 }) { try await Task.sleep(for: .seconds(30)) }
        return await base.session(verificationID: verificationID)
    }
    func createSession(_ session: NewSession) async throws -> VerificationSession? {
        count()
        return await base.createSession(session)
    }
    func session(nonce: String) async throws -> VerificationSession? {
        count()
        return await base.session(nonce: nonce)
    }
    func session(serial: Int64) async throws -> VerificationSession? {
        count()
        return await base.session(serial: serial)
    }
    func apply(_ transition: SessionTransition, toSession serial: Int64) async throws -> VerificationSession? {
        count()
        return await base.apply(transition, toSession: serial)
    }
    func claimVerifierCheck(session serial: Int64, status: SessionStatus, checkedBefore: Date, now: Date) async throws -> Bool {
        count()
        return await base.claimVerifierCheck(session: serial, status: status, checkedBefore: checkedBefore, now: now)
    }
    func apply(_ transition: SessionTransition, toSession serial: Int64, issuing code: NewAuthorizationCode) async throws -> Bool {
        count()
        return await base.apply(transition, toSession: serial, issuing: code)
    }
    func authorizationCode(hash: Data) async throws -> StoredAuthorizationCode? {
        count()
        return await base.authorizationCode(hash: hash)
    }
    func redeemCode(serial: Int64, usedAt: Date, issuing token: NewAccessToken) async throws -> Bool {
        count()
        return await base.redeemCode(serial: serial, usedAt: usedAt, issuing: token)
    }
    func revokeTokens(issuedFromCode serial: Int64, at: Date) async throws {
        count()
        await base.revokeTokens(issuedFromCode: serial, at: at)
    }
    func accessToken(hash: Data) async throws -> StoredAccessToken? {
        count()
        return await base.accessToken(hash: hash)
    }
    func revokeAccessToken(hash: Data, at: Date) async throws -> Bool {
        count()
        return await base.revokeAccessToken(hash: hash, at: at)
    }
    func serverSecret(named name: String, candidate: Data, at: Date) async throws -> Data {
        count()
        return await base.serverSecret(named: name, candidate: candidate, at: at)
    }
    func applyToExpiredSessions(_ transition: SessionTransition, expiredBy: Date) async throws -> Int {
        count()
        return await base.applyToExpiredSessions(transition, expiredBy: expiredBy)
    }
    func applyToIdleSessionsWithoutSetup(_ transition: SessionTransition, idleSince: Date) async throws -> Int {
        count()
        return await base.applyToIdleSessionsWithoutSetup(transition, idleSince: idleSince)
    }
    func countSessionsWithoutSetup(clientID: String, statuses: Set<SessionStatus>, expiringAfter: Date, limit: Int) async throws -> Int {
        count()
        return await base.countSessionsWithoutSetup(clientID: clientID, statuses: statuses, expiringAfter: expiringAfter, limit: limit)
    }
    func deleteExpired(before cutoff: Date) async throws -> PurgeReport {
        count()
        return await base.deleteExpired(before: cutoff)
    }
    func storePresentedGrant(_ grant: PresentedGrant, issuing token: NewAccessToken) async throws -> Bool {
        count()
        return await base.storePresentedGrant(grant, issuing: token)
    }
    func recordAttestation(_ attestation: NewAttestation) async throws -> Int64 {
        count()
        return await base.recordAttestation(attestation)
    }
    func revokeAttestations(id: String, at: Date) async throws -> Int {
        count()
        return await base.revokeAttestations(id: id, at: at)
    }
    func attestationStatuses() async throws -> AttestationStatuses {
        count()
        return await base.attestationStatuses()
    }
    func recordOnce(_ key: Data, expiresAt: Date, now: Date) async throws -> Bool {
        count()
        return await base.recordOnce(key, expiresAt: expiresAt, now: now)
    }
    func storePushedRequest(_ request: PushedAuthorizationRequest) async throws -> Bool {
        count()
        return await base.storePushedRequest(request)
    }
    func takePushedRequest(handleHash: Data) async throws -> PushedAuthorizationRequest? {
        count()
        return await base.takePushedRequest(handleHash: handleHash)
    }
    func eraseClaims(sessionID: String, keepingSubject subject: String?, at: Date) async throws -> Bool {
        count()
        return await base.eraseClaims(sessionID: sessionID, keepingSubject: subject, at: at)
    }
    func eraseClaims(verifiedBefore: Date?, unreachableAt now: Date) async throws -> Int {
        count()
        return await base.eraseClaims(verifiedBefore: verifiedBefore, unreachableAt: now)
    }
    func purgeClient(id clientID: String, at: Date) async throws -> PurgeReport? {
        count()
        return await base.purgeClient(id: clientID, at: at)
    }

    func listClients() async throws -> [Client] {
        count()
        return await base.listClients()
    }
    func client(id: String) async throws -> Client? {
        count()
        return await base.client(id: id)
    }
    func createClient(_ client: Client) async throws {
        count()
        try await base.createClient(client)
    }
    func updateClient(_ client: Client) async throws {
        count()
        try await base.updateClient(client)
    }
    func deleteClient(id: String) async throws -> Bool {
        count()
        return await base.deleteClient(id: id)
    }
    func syncClients(_ clients: [Client], prune: Bool) async throws -> ClientSyncReport {
        count()
        return try await base.syncClients(clients, prune: prune)
    }
}

extension ResourceRequest {
    /// A resource request with `Authorization: Bearer <token>` (no header for nil).
    static func bearer(_ token: String?) -> ResourceRequest { ResourceRequest(authorization: token.map { "Bearer \($0)" }) }
}
