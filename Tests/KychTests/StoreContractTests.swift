import Foundation
import KychCore
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
        try await Stores.with(try await freshDatabase(), logger: TestEnvironment.logger, body)
    }
}

/// One contract, two backends: PostgreSQL and the embedded SQLite store behave the same.
@Suite struct StoreContractTests {
    static let client = Client(clientID: "c1", secretHash: "$2b$04$hash", verifierURL: "https://v.example", redirectURI: "https://r.example/cb",
                               acceptedIssuerDIDs: ["did:a", "did:b"], defaultScope: ["given_name"], failureError: .unauthorizedClient,
                               webhookAPIKeyHeader: "x-api-key", webhookAPIKeyValue: "k")

    @Test(arguments: Backend.allCases)
    func clientRepository(_ backend: Backend) async throws {
        try await backend.withStores { stores in
            let repo = stores.clients
            try await repo.createClient(Self.client)
            #expect(try await repo.client(id: "c1") == Self.client)
            await #expect(throws: ClientStoreError.duplicateClientID("c1")) { try await repo.createClient(Self.client) }
            var changed = Self.client
            changed.redirectURI = "https://new.example/cb"
            changed.defaultScope = nil
            try await repo.updateClient(changed)
            #expect(try await repo.client(id: "c1") == changed)
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

    private static func verification(_ id: String) -> VerifierVerification {
        VerifierVerification(id: id, requestNonce: "rn", verificationURL: "https://v/\(id)", deeplink: "swiyu-verify://?\(id)")
    }

    private static func request(_ binding: String) -> AuthorizationRequestRecord {
        AuthorizationRequestRecord(redirectURI: "https://r.example/cb", state: "S", scope: ["given_name"], browserBindingHash: Secrets.sha256(binding))
    }

    @Test(arguments: Backend.allCases)
    func sessionLifecycle(_ backend: Backend) async throws {
        try await backend.withStores { stores in
            let flow = stores.flow
            try await stores.clients.createClient(Self.client)
            let expires = Date().addingTimeInterval(900)
            #expect(try await flow.createSession(clientID: "c1", sessionID: "s1", nonce: "n1", expiresAt: expires))
            #expect(!(try await flow.createSession(clientID: "nobody", sessionID: "s2", nonce: "n2", expiresAt: expires)))
            #expect(try await flow.session(nonce: "n1")?.status == .pending)

            // The first authorization wins; a second one changes nothing.
            let first = try await flow.recordAuthorization(nonce: "n1", request: Self.request("b1"), verification: Self.verification("v1"))
            #expect(first?.status == .authorized && first?.verification?.id == "v1" && first?.state == "S" && first?.scope == ["given_name"])
            let second = try await flow.recordAuthorization(nonce: "n1", request: Self.request("b2"), verification: Self.verification("v2"))
            #expect(second?.verification?.id == "v1" && second?.browserBindingHash == Secrets.sha256("b1"))

            // Within the interval nobody asks the verifier; after it, one of two concurrent pollers does.
            #expect(!(try await flow.claimVerifierCheck(verificationID: "v1", interval: 30)))
            try await Task.sleep(for: .milliseconds(1100))
            async let a = flow.claimVerifierCheck(verificationID: "v1", interval: 1)
            async let b = flow.claimVerifierCheck(verificationID: "v1", interval: 1)
            #expect([try await a, try await b].filter { $0 }.count == 1)

            #expect(try await flow.applyOutcome(verificationID: "v1", outcome: .pending) == nil)
            let credential = VerifiedCredential(claims: ["given_name": "Helvetia", "age_over_18": true], vct: "betaid-sdjwt", issuer: "did:a")
            #expect(try await flow.applyOutcome(verificationID: "v1", outcome: .success(credential)) == .verified)
            #expect(try await flow.applyOutcome(verificationID: "v1", outcome: .failed(code: "x", description: nil)) == nil)
            #expect(try await flow.session(verificationID: "v1")?.claims == credential.claims)

            // A code only with the right browser binding, and only once.
            let wrong = try await flow.issueCode(verificationID: "v1", browserBindingHash: Secrets.sha256("b2"), codeHash: Secrets.sha256("code0"),
                                                 expiresAt: expires)
            guard case .refused = wrong else { Issue.record("issued with the wrong binding"); return }
            let issued = try await flow.issueCode(verificationID: "v1", browserBindingHash: Secrets.sha256("b1"), codeHash: Secrets.sha256("code1"),
                                                  expiresAt: expires)
            guard case .issued(let session) = issued else { Issue.record("not issued"); return }
            #expect(session.status == .completed)
            let again = try await flow.issueCode(verificationID: "v1", browserBindingHash: Secrets.sha256("b1"), codeHash: Secrets.sha256("code2"),
                                                 expiresAt: expires)
            guard case .refused = again else { Issue.record("issued twice"); return }
        }
    }

    @Test(arguments: Backend.allCases)
    func codesAreSingleUseUnderConcurrency(_ backend: Backend) async throws {
        try await backend.withStores { stores in
            let flow = stores.flow
            try await stores.clients.createClient(Self.client)
            _ = try await flow.createSession(clientID: "c1", sessionID: "s1", nonce: "n1", expiresAt: Date().addingTimeInterval(900))
            _ = try await flow.recordAuthorization(nonce: "n1", request: Self.request("b"), verification: Self.verification("v1"))
            _ = try await flow.applyOutcome(verificationID: "v1", outcome: .success(VerifiedCredential(claims: ["given_name": "H"], vct: nil, issuer: nil)))
            _ = try await flow.issueCode(verificationID: "v1", browserBindingHash: Secrets.sha256("b"), codeHash: Secrets.sha256("code"),
                                         expiresAt: Date().addingTimeInterval(600))
            let results = try await withThrowingTaskGroup(of: CodeRedemption.self) { group in
                for i in 0..<8 {
                    group.addTask {
                        try await flow.redeemCode(codeHash: Secrets.sha256("code"), clientID: "c1", redirectURI: "https://r.example/cb",
                                                  tokenHash: Secrets.sha256("token\(i)"), tokenExpiresAt: Date().addingTimeInterval(3600))
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(results.filter { $0 == .issued }.count == 1)
            let live = try await (0..<8).asyncCompactMap { try await flow.tokenGrant(tokenHash: Secrets.sha256("token\($0)")) }
            // Either the winner's token survived (no replay after it) or a replay revoked it.
            #expect(live.count <= 1)
            #expect(try await flow.redeemCode(codeHash: Secrets.sha256("code"), clientID: "c1", redirectURI: "https://r.example/cb",
                                              tokenHash: Secrets.sha256("late"), tokenExpiresAt: Date()) == .replayed)
            #expect(try await (0..<8).asyncCompactMap { try await flow.tokenGrant(tokenHash: Secrets.sha256("token\($0)")) }.isEmpty)
        }
    }

    @Test(arguments: Backend.allCases)
    func redemptionChecksAndDeleteCascade(_ backend: Backend) async throws {
        try await backend.withStores { stores in
            let flow = stores.flow
            try await stores.clients.createClient(Self.client)
            var other = Self.client
            other.clientID = "c2"
            try await stores.clients.createClient(other)
            _ = try await flow.createSession(clientID: "c1", sessionID: "s1", nonce: "n1", expiresAt: Date().addingTimeInterval(900))
            _ = try await flow.recordAuthorization(nonce: "n1", request: Self.request("b"), verification: Self.verification("v1"))
            _ = try await flow.applyOutcome(verificationID: "v1", outcome: .success(VerifiedCredential(claims: [:], vct: "t", issuer: "i")))
            _ = try await flow.issueCode(verificationID: "v1", browserBindingHash: Secrets.sha256("b"), codeHash: Secrets.sha256("code"),
                                         expiresAt: Date().addingTimeInterval(600))
            func redeem(_ client: String, _ redirect: String, _ code: String = "code") async throws -> CodeRedemption {
                try await flow.redeemCode(codeHash: Secrets.sha256(code), clientID: client, redirectURI: redirect,
                                          tokenHash: Secrets.sha256(UUID().uuidString), tokenExpiresAt: Date().addingTimeInterval(3600))
            }
            #expect(try await redeem("c2", "https://r.example/cb") == .otherClient)
            #expect(try await redeem("c1", "https://elsewhere/cb") == .redirectMismatch)
            #expect(try await redeem("c1", "https://r.example/cb", "nope") == .unknownCode)
            #expect(try await flow.redeemCode(codeHash: Secrets.sha256("code"), clientID: "c1", redirectURI: "https://r.example/cb",
                                              tokenHash: Secrets.sha256("t"), tokenExpiresAt: Date().addingTimeInterval(3600)) == .issued)
            let grant = try await flow.tokenGrant(tokenHash: Secrets.sha256("t"))
            #expect(grant?.clientID == "c1" && grant?.sessionID == "s1" && grant?.vct == "t" && grant?.issuer == "i")

            #expect(try await stores.clients.deleteClient(id: "c1"))
            #expect(try await flow.tokenGrant(tokenHash: Secrets.sha256("t")) == nil)
            #expect(try await flow.session(nonce: "n1") == nil)
        }
    }

    @Test(arguments: Backend.allCases)
    func purgeExpiresAndFailures(_ backend: Backend) async throws {
        try await backend.withStores { stores in
            let flow = stores.flow
            try await stores.clients.createClient(Self.client)
            _ = try await flow.createSession(clientID: "c1", sessionID: "s1", nonce: "n1", expiresAt: Date().addingTimeInterval(-1))
            _ = try await flow.createSession(clientID: "c1", sessionID: "s2", nonce: "n2", expiresAt: Date().addingTimeInterval(900))
            _ = try await flow.recordAuthorization(nonce: "n2", request: Self.request("b"), verification: Self.verification("v2"))
            #expect(try await flow.applyOutcome(verificationID: "v2", outcome: .failed(code: nil, description: "decryption failed")) == .failed)
            #expect(try await flow.session(nonce: "n2")?.failure == SessionFailure(kind: .server, code: nil, description: "decryption failed"))
            let report = try await flow.purge(retention: 3600)
            #expect(report.expiredSessions == 1)
            #expect(try await flow.session(nonce: "n1")?.status == .expired)
            #expect(try await flow.purge(retention: 0).deletedSessions == 1)   // the expired one; the failed one is not past expiry
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
