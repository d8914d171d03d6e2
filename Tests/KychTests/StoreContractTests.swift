import Foundation
import KychCore
import KychOAuth
import KychStorage
import Testing

/// The store backends every contract test runs on.
enum Backend: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case postgres, sqlite
    var testDescription: String { rawValue }

    /// A fresh, empty store of this kind, as its `DATABASE` value.
    func freshDatabase() async throws -> String {
        switch self {
        case .postgres: return try await TestDatabase.create().connectionString
        case .sqlite:
            return "sqlite://" + FileManager.default.temporaryDirectory.appendingPathComponent("kych-\(UUID().uuidString).db").path
        }
    }

    func withStores<T: Sendable>(_ body: @Sendable (Stores) async throws -> T) async throws -> T {
        try await Stores.with(try await freshDatabase(), sealing: .unencrypted, logger: TestEnvironment.logger, body)
    }
}

/// Every store of the flow: the two database backends and the in-memory reference store.
enum FlowBackend: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case postgres, sqlite, memory
    var testDescription: String { rawValue }

    func with<T: Sendable>(_ body: @Sendable (any ClientRepository, any FlowStore) async throws -> T) async throws -> T {
        switch self {
        case .postgres: return try await Backend.postgres.withStores { try await body($0.clients, $0.flow) }
        case .sqlite: return try await Backend.sqlite.withStores { try await body($0.clients, $0.flow) }
        case .memory:
            let store = InMemoryStore()
            return try await body(store, store)
        }
    }
}

/// One contract, three stores: PostgreSQL, the embedded SQLite store and the in-memory store behave the same.
/// The contract is the primitives only: every rule is tested once, in KychOAuthTests.
@Suite struct StoreContractTests {
    static let client = Client(clientID: "c1", secretHash: "$2b$04$hash", verifierURL: "https://v.example", redirectURI: "https://r.example/cb",
                               acceptedIssuerDIDs: ["did:a", "did:b"], defaultScope: ["given_name"], failureError: .unauthorizedClient,
                               webhookAPIKeyHeader: "x-api-key", webhookAPIKeyValue: "k",
                               additionalRedirectURIs: ["https://r.example/other", "com.example.app:/cb"], clientName: "Exchange",
                               requirePKCE: true)

    @Test(arguments: FlowBackend.allCases)
    func clientRepository(_ backend: FlowBackend) async throws {
        try await backend.with { repo, _ in
            try await repo.createClient(Self.client)
            #expect(try await repo.client(id: "c1") == Self.client)
            await #expect(throws: ClientStoreError.duplicateClientID("c1")) { try await repo.createClient(Self.client) }
            var changed = Self.client
            changed.redirectURI = "https://new.example/cb"
            changed.defaultScope = nil
            changed.additionalRedirectURIs = []
            changed.clientName = nil
            changed.requirePKCE = false
            changed.allowsAuthorizeWithoutSetup = false
            changed.security = ClientSecurity(jwks: #"{"keys":[]}"#, tokenEndpointAuthMethod: "private_key_jwt", requireDPoP: true,
                                              requireDPoPNonce: true, requireSignedRequestObject: true,
                                              requirePushedAuthorizationRequests: true, profile: .fapi2)
            changed.grantTypes = ["vp_token-bearer"]
            try await repo.updateClient(changed)
            #expect(try await repo.client(id: "c1") == changed)
            // A client with keys and no secret is confidential (private_key_jwt), and is stored as such.
            changed.secretHash = nil
            changed.security = ClientSecurity(jwksURI: "https://r.example/jwks.json")
            try await repo.updateClient(changed)
            let keysOnly = try #require(try await repo.client(id: "c1"))
            #expect(keysOnly == changed)
            #expect(!keysOnly.isPublic && keysOnly.authenticationMethods == ["private_key_jwt"])
            var unknown = Self.client
            unknown.clientID = "nobody"
            await #expect(throws: ClientStoreError.unknownClient("nobody")) { try await repo.updateClient(unknown) }

            var second = Self.client
            second.clientID = "c2"
            let report = try await repo.syncClients([second], prune: true)
            #expect(report == ClientSyncReport(created: ["c2"], updated: [], deleted: ["c1"]))
            #expect(try await repo.listClients().map(\.clientID) == ["c2"])
            #expect(try await repo.deleteClient(id: "c2"))
            #expect(!(try await repo.deleteClient(id: "c2")))
        }
    }

    static let now = Date(timeIntervalSince1970: (Date().timeIntervalSince1970).rounded())

    private static func verification(_ id: String) -> VerifierVerification {
        VerifierVerification(id: id, requestNonce: "rn", verificationURL: "https://v/\(id)", deeplink: "swiyu-verify://?\(id)")
    }

    private static func request(_ binding: String) -> AuthorizationRequestRecord {
        AuthorizationRequestRecord(redirectURI: "https://r.example/cb", state: "S", scope: ["given_name"], browserBindingHash: Secrets.sha256(binding),
                                   codeChallenge: PKCE.challenge(for: String(repeating: binding, count: 43)))
    }

    private static func newSession(_ n: Int, expiresIn: TimeInterval = 900, client: String = "c1") -> NewSession {
        NewSession(clientID: client, sessionID: "s\(n)", nonce: "n\(n)", createdAt: now, expiresAt: now.addingTimeInterval(expiresIn))
    }

    /// A session of `client` moved to `verified` with a credential (given_name Helvetia), and its serial.
    static func verifiedSession(_ flow: any FlowStore, _ n: Int = 1, client: String = "c1") async throws -> Int64 {
        _ = try await flow.createSession(newSession(n, client: client))
        let serial = try #require(try await flow.session(nonce: "n\(n)")).serial
        let machine = SessionMachine(now: now)
        #expect(try await flow.apply(machine.verificationCreated(request("b"), verification("v\(n)")), toSession: serial) != nil)
        let credential = VerifiedCredential(claims: ["given_name": "Helvetia", "age_over_18": true], vct: "betaid-sdjwt", issuer: "did:a")
        let authorized = try #require(try await flow.session(nonce: "n\(n)"))
        let success = try #require(machine.verifierAnswered(.success(credential), session: authorized))
        #expect(try await flow.apply(success, toSession: serial) != nil)
        return serial
    }

    /// Registers ``client`` (c1) and a copy of it named c2.
    private static func createClientsC1AndC2(_ clients: any ClientRepository) async throws {
        try await clients.createClient(client)
        var other = client
        other.clientID = "c2"
        try await clients.createClient(other)
    }

    /// A verified session of client c1 whose code "code" was redeemed for the token "t".
    private static func redeemedSession(_ flow: any FlowStore) async throws {
        let serial = try await verifiedSession(flow)
        _ = try await flow.apply(SessionMachine(now: now).codeIssued(), toSession: serial, issuing: code("code"))
        let code = try #require(try await flow.authorizationCode(hash: Secrets.sha256("code")))
        #expect(try await flow.redeemCode(serial: code.serial, usedAt: now, issuing: token("t")))
    }

    private static func code(_ name: String, expiresIn: TimeInterval = 600) -> NewAuthorizationCode {
        NewAuthorizationCode(codeHash: Secrets.sha256(name), redirectURI: "https://r.example/cb", codeChallenge: "challenge-\(name)",
                             createdAt: now, expiresAt: now.addingTimeInterval(expiresIn))
    }

    private static func token(_ name: String, expiresIn: TimeInterval = 3600) -> NewAccessToken {
        NewAccessToken(tokenHash: Secrets.sha256(name), createdAt: now, expiresAt: now.addingTimeInterval(expiresIn))
    }

    /// vp_token-bearer: the presented credential's completed session and its token in one write; the token reads back with
    /// the presented claims, the issuer and the scope, and the purge treats it like any other (issue 16).
    @Test(arguments: FlowBackend.allCases)
    func presentedGrantsAreStoredWithTheirToken(_ backend: FlowBackend) async throws {
        try await backend.with { clients, flow in
            try await clients.createClient(Self.client)
            let credential = VerifiedCredential(claims: ["organisation_name": "Zorg BV", "organisation": ["city": "Utrecht"]],
                                                vct: "OrganisationCredential", issuer: "did:jwk:org")
            let grant = PresentedGrant(clientID: "c1", sessionID: "vp-session", nonce: "vp-nonce", scope: ["care", "billing"],
                                       credential: credential, verifiedAt: Self.now, expiresAt: Self.now.addingTimeInterval(600))
            #expect(try await flow.storePresentedGrant(grant, issuing: Self.token("vp", expiresIn: 600)))
            var unknown = grant
            unknown.clientID = "nobody"
            unknown.sessionID = "vp-session-2"
            unknown.nonce = "vp-nonce-2"
            #expect(!(try await flow.storePresentedGrant(unknown, issuing: Self.token("vp-2"))), "an unknown client stores nothing")
            let stored = try #require(try await flow.accessToken(hash: Secrets.sha256("vp")))
            var expected = StoredAccessToken(session: grant.session, record: Self.token("vp", expiresIn: 600))
            expected.presented = true
            #expect(stored == expected)
            #expect(stored.claims["organisation"]?["city"] == "Utrecht" && stored.issuer == "did:jwk:org" && stored.scope == ["care", "billing"])
            #expect(try await flow.accessToken(hash: Secrets.sha256("vp-2")) == nil)
            try await Self.redeemedSession(flow)
            #expect(try await flow.accessToken(hash: Secrets.sha256("t"))?.presented == false, "a code's token was not presented at /token")
            #expect(try await flow.revokeAccessToken(hash: Secrets.sha256("vp"), at: Self.now))
            let purged = try await flow.deleteExpired(before: Self.now.addingTimeInterval(601))
            #expect(purged.deletedTokens == 1 && purged.deletedSessions == 1)
        }
    }

    /// One-time JWT ids: a key is accepted once until it expires, then again; the purge drops lapsed records.
    @Test(arguments: FlowBackend.allCases)
    func jwtIDsAreRecordedOnce(_ backend: FlowBackend) async throws {
        try await backend.with { _, flow in
            let key = Data("dpop\u{0}jkt\u{0}jti-1".utf8), other = Data("dpop\u{0}jkt\u{0}jti-2".utf8)
            let until = Self.now.addingTimeInterval(60)
            #expect(try await flow.recordOnce(key, expiresAt: until, now: Self.now))
            #expect(!(try await flow.recordOnce(key, expiresAt: until, now: Self.now.addingTimeInterval(30))))
            #expect(try await flow.recordOnce(other, expiresAt: until, now: Self.now))
            let results = try await withThrowingTaskGroup(of: Bool.self) { group in
                for _ in 0..<8 { group.addTask { try await flow.recordOnce(Data("race".utf8), expiresAt: until, now: Self.now) } }
                return try await group.reduce(into: [Bool]()) { $0.append($1) }
            }
            #expect(results.filter { $0 }.count == 1)
            // Past its expiry the record no longer blocks (the JWT itself would be refused as expired anyway).
            #expect(try await flow.recordOnce(key, expiresAt: until.addingTimeInterval(60), now: until.addingTimeInterval(1)))
            _ = try await flow.deleteExpired(before: until.addingTimeInterval(61))
            #expect(try await flow.recordOnce(key, expiresAt: until.addingTimeInterval(120), now: Self.now))
        }
    }

    @Test(arguments: FlowBackend.allCases)
    func attestationsGetIndexesOnceAndAreRevokedByIdOrSession(_ backend: FlowBackend) async throws {
        try await backend.with { _, flow in
            #expect(try await flow.attestationStatuses() == AttestationStatuses(highestIndex: 0, revoked: []))
            func attestation(_ id: String, session: String) -> NewAttestation {
                NewAttestation(id: id, sessionID: session, clientID: "wallet", issuedAt: Self.now, expiresAt: Self.now.addingTimeInterval(86_400))
            }
            let indexes = try await withThrowingTaskGroup(of: (String, Int64).self) { group in
                for n in 0..<4 {
                    group.addTask { ("a\(n)", try await flow.recordAttestation(attestation("a\(n)", session: n < 2 ? "s1" : "s\(n)"))) }
                }
                return try await group.reduce(into: [String: Int64]()) { $0[$1.0] = $1.1 }
            }
            #expect(Set(indexes.values) == [1, 2, 3, 4], "every attestation its own index, from 1")
            #expect(try await flow.revokeAttestations(id: "s1", at: Self.now) == 2)
            #expect(try await flow.revokeAttestations(id: "s1", at: Self.now) == 0, "already revoked")
            #expect(try await flow.revokeAttestations(id: "a3", at: Self.now) == 1)
            #expect(try await flow.revokeAttestations(id: "nobody", at: Self.now) == 0)
            #expect(try await flow.attestationStatuses()
                    == AttestationStatuses(highestIndex: 4, revoked: Set(["a0", "a1", "a3"].compactMap { indexes[$0] })))
            // The purge deletes them once expired; their indexes are not handed out again.
            _ = try await flow.deleteExpired(before: Self.now.addingTimeInterval(86_400))
            #expect(try await flow.attestationStatuses() == AttestationStatuses(highestIndex: 0, revoked: []))
            #expect(try await flow.recordAttestation(attestation("a4", session: "s4")) == 5)
        }
    }

    @Test(arguments: FlowBackend.allCases)
    func sessionTransitionsAreConditional(_ backend: FlowBackend) async throws {
        try await backend.with { clients, flow in
            try await clients.createClient(Self.client)
            // The write returns the row as a read gives it.
            let created = try #require(try await flow.createSession(Self.newSession(1)))
            #expect(try await flow.createSession(NewSession(clientID: "nobody", sessionID: "s9", nonce: "n9", createdAt: Self.now, expiresAt: Self.now)) == nil)
            let pending = try #require(try await flow.session(nonce: "n1"))
            #expect(created == pending)
            #expect(pending.status == .pending && pending.sessionID == "s1" && pending.clientID == "c1" && pending.expiresAt == Self.now.addingTimeInterval(900))

            // The first authorization wins; a second one changes nothing; every written field reads back.
            let machine = SessionMachine(now: Self.now)
            let applied = try await flow.apply(machine.verificationCreated(Self.request("b1"), Self.verification("v1")), toSession: pending.serial)
            #expect(try await flow.apply(machine.verificationCreated(Self.request("b2"), Self.verification("v2")), toSession: pending.serial) == nil)
            let authorized = try #require(try await flow.session(verificationID: "v1"))
            #expect(applied == authorized)
            #expect(authorized.status == .authorized && authorized.state == "S" && authorized.scope == ["given_name"]
                    && authorized.browserBindingHash == Secrets.sha256("b1") && authorized.verification == Self.verification("v1")
                    && authorized.redirectURI == "https://r.example/cb" && authorized.lastCheckedAt == Self.now
                    && authorized.codeChallenge == PKCE.challenge(for: String(repeating: "b1", count: 43)))
            #expect(try await flow.session(verificationID: "v2") == nil)

            // Not applied past `unexpiredAt`.
            _ = try await flow.createSession(Self.newSession(2, expiresIn: 10))
            let late = SessionMachine(now: Self.now.addingTimeInterval(10)).verificationCreated(Self.request("b"), Self.verification("v3"))
            #expect(try await flow.apply(late, toSession: try #require(try await flow.session(nonce: "n2")).serial) == nil)

            // Only one of two concurrent pollers claims the verifier check.
            let checkedBefore = Self.now.addingTimeInterval(1)
            #expect(!(try await flow.claimVerifierCheck(session: authorized.serial, status: .authorized, checkedBefore: Self.now, now: checkedBefore)))
            async let a = flow.claimVerifierCheck(session: authorized.serial, status: .authorized, checkedBefore: checkedBefore, now: checkedBefore)
            async let b = flow.claimVerifierCheck(session: authorized.serial, status: .authorized, checkedBefore: checkedBefore, now: checkedBefore)
            #expect([try await a, try await b].filter { $0 }.count == 1)
            #expect(!(try await flow.claimVerifierCheck(session: authorized.serial, status: .verified, checkedBefore: .distantFuture, now: Self.now)))

            let failure = SessionFailure(kind: .server, code: nil, description: "decryption failed")
            let failed = try #require(machine.verifierAnswered(.failed(code: nil, description: "decryption failed"), session: authorized))
            let failedRow = try await flow.apply(failed, toSession: authorized.serial)
            let stored = try #require(try await flow.session(nonce: "n1"))
            #expect(failedRow == stored)
            #expect(stored.status == .failed && stored.failure == failure && stored.finishedAt == Self.now)
        }
    }

    @Test(arguments: FlowBackend.allCases)
    func codeIssueIsAtomicAndSingleUse(_ backend: FlowBackend) async throws {
        try await backend.with { clients, flow in
            try await clients.createClient(Self.client)
            let serial = try await Self.verifiedSession(flow)
            let verified = try #require(try await flow.session(nonce: "n1"))
            #expect(verified.claims == ["given_name": "Helvetia", "age_over_18": true] && verified.credentialIssuer == "did:a"
                    && verified.credentialVCT == "betaid-sdjwt" && verified.verifiedAt == Self.now)
            let issue = SessionMachine(now: Self.now).codeIssued()
            #expect(try await flow.apply(issue, toSession: serial, issuing: Self.code("code1")))
            #expect(!(try await flow.apply(issue, toSession: serial, issuing: Self.code("code2"))))
            #expect(try await flow.authorizationCode(hash: Secrets.sha256("code2")) == nil)
            #expect(try await flow.session(nonce: "n1")?.status == .completed)
            let code = try #require(try await flow.authorizationCode(hash: Secrets.sha256("code1")))
            // The code comes with its session as it stands.
            #expect(code.session == (try await flow.session(nonce: "n1")))
            #expect(code.clientID == "c1" && code.redirectURI == "https://r.example/cb" && code.usedAt == nil
                    && code.codeChallenge == "challenge-code1"
                    && code.expiresAt == Self.now.addingTimeInterval(600))
        }
    }

    /// DPoP: the authorization request's `dpop_jkt` comes back with its session and code, a token's key thumbprint with
    /// the token; a bearer token has none.
    @Test(arguments: FlowBackend.allCases)
    func dpopThumbprintsAreStoredWithTheSessionAndTheToken(_ backend: FlowBackend) async throws {
        try await backend.with { clients, flow in
            try await clients.createClient(Self.client)
            _ = try await flow.createSession(Self.newSession(1))
            let serial = try #require(try await flow.session(nonce: "n1")).serial
            let machine = SessionMachine(now: Self.now)
            var request = Self.request("b")
            request.dpopJKT = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"
            #expect(try await flow.apply(machine.verificationCreated(request, Self.verification("v1")), toSession: serial)?.dpopJKT
                    == request.dpopJKT)
            let authorized = try #require(try await flow.session(nonce: "n1"))
            #expect(authorized.dpopJKT == request.dpopJKT)
            let credential = VerifiedCredential(claims: ["given_name": "Helvetia"], vct: "betaid-sdjwt", issuer: "did:a")
            _ = try await flow.apply(try #require(machine.verifierAnswered(.success(credential), session: authorized)), toSession: serial)
            #expect(try await flow.apply(machine.codeIssued(), toSession: serial, issuing: Self.code("code")))
            let code = try #require(try await flow.authorizationCode(hash: Secrets.sha256("code")))
            #expect(code.session.dpopJKT == request.dpopJKT)
            var bound = Self.token("bound")
            bound.dpopJKT = "key-thumbprint"
            #expect(try await flow.redeemCode(serial: code.serial, usedAt: Self.now, issuing: bound))
            #expect(try await flow.accessToken(hash: Secrets.sha256("bound"))?.dpopJKT == "key-thumbprint")
            _ = try await Self.verifiedSession(flow, 2)
            let plain = try #require(try await flow.session(nonce: "n2"))
            #expect(plain.dpopJKT == nil)
        }
    }

    @Test(arguments: FlowBackend.allCases)
    func codesAreRedeemedOnceUnderConcurrency(_ backend: FlowBackend) async throws {
        try await backend.with { clients, flow in
            try await clients.createClient(Self.client)
            let serial = try await Self.verifiedSession(flow)
            _ = try await flow.apply(SessionMachine(now: Self.now).codeIssued(), toSession: serial, issuing: Self.code("code"))
            let code = try #require(try await flow.authorizationCode(hash: Secrets.sha256("code")))
            let wins = try await withThrowingTaskGroup(of: Bool.self) { group in
                for i in 0..<8 { group.addTask { try await flow.redeemCode(serial: code.serial, usedAt: Self.now, issuing: Self.token("token\(i)")) } }
                return try await group.reduce(into: 0) { $0 += $1 ? 1 : 0 }
            }
            #expect(wins == 1)
            #expect(try await flow.authorizationCode(hash: Secrets.sha256("code"))?.usedAt == Self.now)
            let live = try await (0..<8).asyncCompactMap { try await flow.accessToken(hash: Secrets.sha256("token\($0)")) }
            #expect(live.count == 1)
            let token = try #require(live.first)
            #expect(token.clientID == "c1" && token.sessionID == "s1" && token.claims["given_name"] == "Helvetia" && token.revokedAt == nil
                    && token.vct == "betaid-sdjwt" && token.issuer == "did:a" && token.verifiedAt == Self.now
                    && token.expiresAt == Self.now.addingTimeInterval(3600))
            try await flow.revokeTokens(issuedFromCode: code.serial, at: Self.now)
            #expect(try await (0..<8).asyncCompactMap { try await flow.accessToken(hash: Secrets.sha256("token\($0)")) }.map(\.revokedAt) == [Self.now])
        }
    }

    @Test(arguments: FlowBackend.allCases)
    func deletingAClientCascades(_ backend: FlowBackend) async throws {
        try await backend.with { clients, flow in
            try await clients.createClient(Self.client)
            try await Self.redeemedSession(flow)
            #expect(try await clients.deleteClient(id: "c1"))
            #expect(try await flow.accessToken(hash: Secrets.sha256("t")) == nil)
            #expect(try await flow.authorizationCode(hash: Secrets.sha256("code")) == nil)
            #expect(try await flow.session(nonce: "n1") == nil)
        }
    }

    @Test(arguments: FlowBackend.allCases)
    func purgePrimitives(_ backend: FlowBackend) async throws {
        try await backend.with { clients, flow in
            try await clients.createClient(Self.client)
            _ = try await flow.createSession(Self.newSession(1, expiresIn: -1))
            _ = try await flow.createSession(Self.newSession(2))
            let timedOut = SessionMachine(now: Self.now).timedOut()
            #expect(try await flow.applyToExpiredSessions(timedOut, expiredBy: Self.now) == 1)
            let expired = try await flow.session(nonce: "n1")
            #expect(expired?.status == .expired && expired?.finishedAt == Self.now)
            #expect(try await flow.session(nonce: "n2")?.status == .pending)
            #expect(try await flow.applyToExpiredSessions(timedOut, expiredBy: Self.now) == 0)   // already expired

            let serial = try await Self.verifiedSession(flow, 3)
            _ = try await flow.apply(SessionMachine(now: Self.now).codeIssued(), toSession: serial, issuing: Self.code("code", expiresIn: 60))
            let code = try #require(try await flow.authorizationCode(hash: Secrets.sha256("code")))
            _ = try await flow.redeemCode(serial: code.serial, usedAt: Self.now, issuing: Self.token("t", expiresIn: 120))
            // A live token keeps its code and session; the dead session goes.
            var report = try await flow.deleteExpired(before: Self.now.addingTimeInterval(100))
            #expect(report.deletedTokens == 0 && report.deletedCodes == 0 && report.deletedSessions == 1)
            report = try await flow.deleteExpired(before: Self.now.addingTimeInterval(2000))
            #expect(report.deletedTokens == 1 && report.deletedCodes == 1 && report.deletedSessions == 2)
        }
    }

    @Test(arguments: FlowBackend.allCases)
    func claimsAreErasedOnceAndKeepTheSubject(_ backend: FlowBackend) async throws {
        try await backend.with { clients, flow in
            try await clients.createClient(Self.client)
            try await Self.redeemedSession(flow)
            #expect(try await flow.accessToken(hash: Secrets.sha256("t"))?.claimsErasedAt == nil)
            #expect(!(try await flow.eraseClaims(sessionID: "nobody", keepingSubject: nil, at: Self.now)))
            // Exactly one of several concurrent deliveries erases them.
            let wins = try await withThrowingTaskGroup(of: Bool.self) { group in
                for _ in 0..<6 { group.addTask { try await flow.eraseClaims(sessionID: "s1", keepingSubject: "sub-1", at: Self.now) } }
                return try await group.reduce(into: 0) { $0 += $1 ? 1 : 0 }
            }
            #expect(wins == 1)
            let token = try #require(try await flow.accessToken(hash: Secrets.sha256("t")))
            #expect(token.claims.isEmpty && token.claimsErasedAt == Self.now && token.claimsSubject == "sub-1")
            // What auditing needs stays.
            let session = try #require(try await flow.session(nonce: "n1"))
            #expect(session.claims == [:] && session.status == .completed && session.credentialIssuer == "did:a"
                    && session.credentialVCT == "betaid-sdjwt" && session.verifiedAt == Self.now)
            #expect(try await flow.eraseClaims(verifiedBefore: .distantFuture, unreachableAt: .distantFuture) == 0)
        }
    }

    @Test(arguments: FlowBackend.allCases)
    func purgeErasesClaimsPastRetentionOrOutOfReach(_ backend: FlowBackend) async throws {
        try await backend.with { clients, flow in
            try await clients.createClient(Self.client)
            // s1: verified, its session expires at +900 s, no code: out of reach after that.
            _ = try await Self.verifiedSession(flow, 1)
            // s2: a code until +600 s, then a token until +3600 s keep it reachable.
            let two = try await Self.verifiedSession(flow, 2)
            _ = try await flow.apply(SessionMachine(now: Self.now).codeIssued(), toSession: two, issuing: Self.code("code"))
            let code = try #require(try await flow.authorizationCode(hash: Secrets.sha256("code")))
            #expect(try await flow.redeemCode(serial: code.serial, usedAt: Self.now, issuing: Self.token("t")))
            // s3: a code never redeemed, until +600 s.
            let three = try await Self.verifiedSession(flow, 3)
            _ = try await flow.apply(SessionMachine(now: Self.now).codeIssued(), toSession: three, issuing: Self.code("unused"))

            #expect(try await flow.eraseClaims(verifiedBefore: nil, unreachableAt: Self.now.addingTimeInterval(899)) == 0)
            #expect(try await flow.eraseClaims(verifiedBefore: nil, unreachableAt: Self.now.addingTimeInterval(900)) == 2)  // s1, s3
            #expect(try await flow.session(nonce: "n1")?.claims == [:])
            #expect(try await flow.session(nonce: "n3")?.claims == [:])
            #expect(try await flow.session(nonce: "n2")?.claims?["given_name"] == "Helvetia")
            // s2's token keeps it reachable; its age past a retention does not.
            #expect(try await flow.eraseClaims(verifiedBefore: Self.now.addingTimeInterval(-1), unreachableAt: Self.now) == 0)
            #expect(try await flow.eraseClaims(verifiedBefore: Self.now, unreachableAt: Self.now) == 1)
            let token = try #require(try await flow.accessToken(hash: Secrets.sha256("t")))
            #expect(token.claims.isEmpty && token.claimsErasedAt == Self.now && token.claimsSubject == nil)
        }
    }

    @Test(arguments: FlowBackend.allCases)
    func purgeClientErasesItsClaimsAndDeletesItsFinishedSessions(_ backend: FlowBackend) async throws {
        try await backend.with { clients, flow in
            try await Self.createClientsC1AndC2(clients)
            try await Self.redeemedSession(flow)                   // s1: completed, code and token
            _ = try await Self.verifiedSession(flow, 2)             // s2: verified, waiting for /finalize
            _ = try await Self.verifiedSession(flow, 3, client: "c2")
            #expect(try await flow.purgeClient(id: "nobody", at: Self.now) == nil)

            let report = try #require(try await flow.purgeClient(id: "c1", at: Self.now))
            #expect(report.erasedClaims == 2 && report.deletedSessions == 1)
            #expect(try await flow.session(nonce: "n1") == nil)
            #expect(try await flow.accessToken(hash: Secrets.sha256("t")) == nil)
            #expect(try await flow.authorizationCode(hash: Secrets.sha256("code")) == nil)
            let waiting = try #require(try await flow.session(nonce: "n2"))
            #expect(waiting.status == .verified && waiting.claims == [:])
            #expect(try await flow.session(nonce: "n3")?.claims?["given_name"] == "Helvetia")
            #expect(try await flow.purgeClient(id: "c1", at: Self.now) == PurgeReport())
        }
    }

    @Test(arguments: FlowBackend.allCases)
    func revokedTokensLeaveClaimsOutOfReach(_ backend: FlowBackend) async throws {
        try await backend.with { clients, flow in
            try await clients.createClient(Self.client)
            try await Self.redeemedSession(flow)
            let afterSession = Self.now.addingTimeInterval(1000)
            #expect(try await flow.eraseClaims(verifiedBefore: nil, unreachableAt: afterSession) == 0)
            #expect(try await flow.revokeAccessToken(hash: Secrets.sha256("t"), at: Self.now))
            #expect(try await flow.eraseClaims(verifiedBefore: nil, unreachableAt: afterSession) == 1)
        }
    }

    @Test(arguments: FlowBackend.allCases)
    func sessionsWithoutSetupAreCountedAndPurgedWhenIdle(_ backend: FlowBackend) async throws {
        try await backend.with { clients, flow in
            try await Self.createClientsC1AndC2(clients)
            func create(_ n: Int, client: String = "c1", withoutSetup: Bool = true, expiresIn: TimeInterval = 900) async throws -> Int64 {
                _ = try await flow.createSession(NewSession(clientID: client, sessionID: "s\(n)", nonce: "n\(n)", createdAt: Self.now,
                                                            expiresAt: Self.now.addingTimeInterval(expiresIn), withoutSetup: withoutSetup))
                return try #require(try await flow.session(nonce: "n\(n)")).serial
            }
            let machine = SessionMachine(now: Self.now)
            let waiting: Set<SessionStatus> = [.pending, .authorized]
            let pending = try await create(1)
            let authorized = try await create(2)
            #expect(try await flow.apply(machine.verificationCreated(Self.request("b"), Self.verification("v2")), toSession: authorized) != nil)
            _ = try await create(3, withoutSetup: false)                  // a /setup session
            _ = try await create(4, client: "c2")                         // another client's
            _ = try await create(5, expiresIn: -1)                        // past its expiry
            let verified = try await Self.verifiedSession(flow, 6)        // /setup, verified
            #expect(try await flow.session(serial: pending)?.withoutSetup == true)
            #expect(try await flow.session(serial: verified)?.withoutSetup == false)

            #expect(try await flow.countSessionsWithoutSetup(clientID: "c1", statuses: waiting, expiringAfter: Self.now, limit: 100) == 2)
            #expect(try await flow.countSessionsWithoutSetup(clientID: "c1", statuses: waiting, expiringAfter: Self.now, limit: 1) == 1)
            #expect(try await flow.countSessionsWithoutSetup(clientID: "c1", statuses: [.pending], expiringAfter: Self.now, limit: 100) == 1)
            #expect(try await flow.countSessionsWithoutSetup(clientID: "c2", statuses: waiting, expiringAfter: Self.now, limit: 100) == 1)
            #expect(try await flow.countSessionsWithoutSetup(clientID: "nobody", statuses: waiting, expiringAfter: Self.now, limit: 100) == 0)

            // Idle: the last verifier check, or (none) the creation, at or before the cut-off.
            let later = Self.now.addingTimeInterval(60)
            #expect(try await flow.claimVerifierCheck(session: authorized, status: .authorized, checkedBefore: later, now: later))
            let abandoned = SessionMachine(now: later).abandoned()
            #expect(try await flow.applyToIdleSessionsWithoutSetup(abandoned, idleSince: Self.now.addingTimeInterval(30)) == 3)   // 1, 4, 5
            let ended = try await flow.session(serial: pending)
            #expect(ended?.status == .expired && ended?.finishedAt == later)
            #expect(try await flow.session(serial: authorized)?.status == .authorized)
            #expect(try await flow.session(nonce: "n3")?.status == .pending)
            #expect(try await flow.applyToIdleSessionsWithoutSetup(abandoned, idleSince: later) == 1)                             // 2
            #expect(try await flow.session(serial: verified)?.status == .verified)
            #expect(try await flow.countSessionsWithoutSetup(clientID: "c1", statuses: waiting, expiringAfter: Self.now, limit: 100) == 0)
        }
    }

    /// Pushed authorization requests (RFC 9126): stored for a known client only, taken once (expired ones too, the
    /// caller decides), purged when expired, and gone with their client.
    @Test(arguments: FlowBackend.allCases)
    func pushedRequests(_ backend: FlowBackend) async throws {
        try await backend.with { clients, flow in
            try await clients.createClient(Self.client)
            func pushed(_ handle: String, clientID: String = "c1", expiresIn: TimeInterval) -> PushedAuthorizationRequest {
                PushedAuthorizationRequest(handleHash: Secrets.sha256(handle), clientID: clientID, parameters: #"{"state":"s\#(handle)"}"#,
                                           createdAt: Self.now, expiresAt: Self.now.addingTimeInterval(expiresIn))
            }
            #expect(try await flow.storePushedRequest(pushed("a", expiresIn: 60)))
            #expect(try await flow.storePushedRequest(pushed("b", expiresIn: -1)))
            #expect(try await flow.storePushedRequest(pushed("c", expiresIn: 60)))
            #expect(!(try await flow.storePushedRequest(pushed("d", clientID: "nobody", expiresIn: 60))))
            #expect(try await flow.takePushedRequest(handleHash: Secrets.sha256("a")) == pushed("a", expiresIn: 60))
            #expect(try await flow.takePushedRequest(handleHash: Secrets.sha256("a")) == nil)
            #expect(try await flow.takePushedRequest(handleHash: Secrets.sha256("d")) == nil)
            #expect(try await flow.deleteExpired(before: Self.now).deletedPushedRequests == 1)            // b
            #expect(try await flow.takePushedRequest(handleHash: Secrets.sha256("b")) == nil)
            #expect(try await clients.deleteClient(id: "c1"))
            #expect(try await flow.takePushedRequest(handleHash: Secrets.sha256("c")) == nil)
        }
    }
}

extension Sequence {
    func asyncCompactMap<T>(_ transform: (Element) async throws -> T?) async rethrows -> [T] {
        var out: [T] = []
        for element in self { if let v = try await transform(element) { out.append(v) } }
        return out
    }
}
