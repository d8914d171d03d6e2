import Foundation
import HTTPTypes
import KychCore
import KychOAuth
import KychSQLite
import KychStorage
import KychVerifierModel
import Testing

/// Secrets at rest under `KEY_ENCRYPTION_SECRET` (issue 12, finding 10), looked at in the real databases: clients'
/// verifier bearer tokens and webhook keys as `kych-client-management sync` writes them, the verifier's private
/// response-encryption keys, clear rows of earlier releases, values moved between rows, and a whole flow.
@Suite struct SecretsAtRestTests {
    static let secret = "secrets-at-rest-key-encryption-secret-0123456789"
    static let sealing = SecretSealing(secret: secret)

    static func token(_ id: String) -> String { "secret-token:verifier-bearer-of-\(id)-0123456789" }
    static func webhookKey(_ id: String) -> String { "secret-token:webhook-key-of-\(id)-0123456789" }

    /// A gateway configuration with two clients that both have a verifier bearer token and a webhook key.
    static func config(database: String, secret: String?, port: Int = 1) throws -> String {
        let clients = ["exchange", "other"].map { id in
            """
            [client_\(id)]
            CLIENT_ID = \(id)
            CLIENT_SECRET = secret-token:client-secret-of-\(id)-0123456789abcdef
            VERIFIER_URL = https://verifier.example.com
            VERIFIER_BEARER_TOKEN = \(token(id))
            REDIRECT_URI = https://\(id).example.com/cb
            WEBHOOK_API_KEY_HEADER = X-Api-Key
            WEBHOOK_API_KEY_VALUE = \(webhookKey(id))
            """
        }
        return try temporaryFile("""
            [kych-oauth2-gateway]
            HOST = 127.0.0.1
            PORT = \(port)
            DATABASE = \(database)
            \(secret.map { "KEY_ENCRYPTION_SECRET = \($0)" } ?? "")

            \(clients.joined(separator: "\n\n"))
            """)
    }

    static func sync(_ config: String) async throws {
        let sync = try await Run.program("kych-client-management", ["-c", config, "sync"])
        #expect(sync.status == 0, "\(sync.stderr)")
    }

    /// What a client's two secret columns hold, as stored.
    static func stored(_ store: RawStore, _ id: String) async throws -> (token: String, webhookKey: String) {
        let token = try await store.strings("SELECT verifier_bearer_token AS v FROM {clients} WHERE client_id = '\(id)'")
        let key = try await store.strings("SELECT webhook_api_key_value AS v FROM {clients} WHERE client_id = '\(id)'")
        return (try #require(token.first), try #require(key.first))
    }

    static func clients(_ database: String, sealing: SecretSealing) async throws -> [Client] {
        try await Stores.with(database, sealing: sealing, logger: TestEnvironment.logger) { try await $0.clients.listClients() }
    }

    @Test(arguments: Backend.allCases)
    func syncStoresTheClientsSecretsSealedAndBoundToTheirRow(_ backend: Backend) async throws {
        let store = try await RawStore.fresh(backend)
        try await Self.sync(try Self.config(database: store.database, secret: Self.secret))
        for id in ["exchange", "other"] {
            let (token, key) = try await Self.stored(store, id)
            #expect(token.hasPrefix("kych-sealed:v1:") && !token.contains(Self.token(id)), "\(token)")
            #expect(key.hasPrefix("kych-sealed:v1:") && !key.contains(Self.webhookKey(id)), "\(key)")
        }
        let opened = try await Self.clients(store.database, sealing: Self.sealing)
        #expect(opened.map(\.verifierBearerToken) == [Self.token("exchange"), Self.token("other")])
        #expect(opened.map(\.webhookAPIKeyValue) == [Self.webhookKey("exchange"), Self.webhookKey("other")])

        // Without the secret, or with another one, reading is a clear error, never the sealed text as a token.
        let binding = SealBinding(column: "clients.verifier_bearer_token", row: "exchange")
        await #expect(throws: SecretSealingError.secretMissing(binding)) { _ = try await Self.clients(store.database, sealing: .unencrypted) }
        await #expect(throws: SecretSealingError.undecryptable(binding)) {
            _ = try await Self.clients(store.database, sealing: SecretSealing(secret: "another-secret-of-at-least-32-bytes-long"))
        }

        // exchange's sealed token copied into other's row, or into exchange's webhook key, does not open there.
        try await store.execute("""
            UPDATE {clients} SET verifier_bearer_token = (SELECT verifier_bearer_token FROM {clients} WHERE client_id = 'exchange')
            WHERE client_id = 'other'
            """)
        await #expect(throws: SecretSealingError.undecryptable(SealBinding(column: "clients.verifier_bearer_token", row: "other"))) {
            _ = try await Stores.with(store.database, sealing: Self.sealing, logger: TestEnvironment.logger) { try await $0.clients.client(id: "other") }
        }
        try await store.execute("UPDATE {clients} SET webhook_api_key_value = verifier_bearer_token WHERE client_id = 'exchange'")
        await #expect(throws: SecretSealingError.undecryptable(SealBinding(column: "clients.webhook_api_key_value", row: "exchange"))) {
            _ = try await Stores.with(store.database, sealing: Self.sealing, logger: TestEnvironment.logger) { try await $0.clients.client(id: "exchange") }
        }
    }

    @Test(arguments: Backend.allCases)
    func clientsStoredInClearStillReadAndTheNextSyncSealsThem(_ backend: Backend) async throws {
        let store = try await RawStore.fresh(backend)
        // As earlier releases (or a gateway without KEY_ENCRYPTION_SECRET) stored them.
        try await Self.sync(try Self.config(database: store.database, secret: nil))
        #expect(try await Self.stored(store, "exchange") == (Self.token("exchange"), Self.webhookKey("exchange")))
        let opened = try await Self.clients(store.database, sealing: Self.sealing)
        #expect(opened.first?.verifierBearerToken == Self.token("exchange") && opened.first?.webhookAPIKeyValue == Self.webhookKey("exchange"))

        try await Self.sync(try Self.config(database: store.database, secret: Self.secret))
        let (token, key) = try await Self.stored(store, "exchange")
        #expect(token.hasPrefix("kych-sealed:v1:") && key.hasPrefix("kych-sealed:v1:"))
        #expect(try await Self.clients(store.database, sealing: Self.sealing).map(\.verifierBearerToken) == opened.map(\.verifierBearerToken))
    }

    @Test func theGatewayWarnsWithoutASecretAndRefusesToStartOnClientSecretsItCannotOpen() async throws {
        let store = try await RawStore.fresh(.sqlite)
        let unset = try Self.config(database: store.database, secret: nil, port: Int.random(in: 20_000..<60_000))
        let check = try await Run.program("kych-oauth2-gateway", ["-c", unset, "--check-config"])
        #expect(check.status == 0 && check.stderr.contains(
            "warning: KEY_ENCRYPTION_SECRET is not set: the private signing keys, the clients' verifier bearer tokens and webhook keys are stored unencrypted in the database"),
            "\(check.stderr)")
        let set = try await Run.program("kych-oauth2-gateway", ["-c", try Self.config(database: store.database, secret: Self.secret), "--check-config"])
        #expect(set.status == 0 && !set.stderr.contains("KEY_ENCRYPTION_SECRET"), "\(set.stderr)")

        try await Self.sync(try Self.config(database: store.database, secret: Self.secret))
        // The program says which value it cannot open and exits, rather than sending the sealed text as a token (a
        // gateway that serves instead is stopped after a minute: status 124).
        let binary = TestEnvironment.binDirectory.appendingPathComponent("kych-oauth2-gateway").path
        let gateway = try await Run.program("/usr/bin/timeout", ["60", binary, "-c", unset])
        let refusal = SecretSealingError.secretMissing(SealBinding(column: "clients.verifier_bearer_token", row: "exchange")).description
        #expect(gateway.status != 0 && gateway.stderr.contains(refusal), "\(gateway)")
        #expect(!gateway.stderr.contains(Self.secret) && !gateway.stderr.contains(Self.token("exchange")))
    }

    @Test(arguments: Backend.allCases)
    func theVerifiersResponseEncryptionKeysAreSealedAtRest(_ backend: Backend) async throws {
        let store = try await RawStore.fresh(backend, verifier: true)
        func withVerifications<T: Sendable>(_ sealing: SecretSealing, _ body: @Sendable (any VerificationStore) async throws -> T) async throws -> T {
            try await Stores.with(store.database, sealing: sealing, logger: TestEnvironment.logger) { try await body($0.verifications) }
        }
        func storedKey(_ id: String) async throws -> (key: String?, keyID: String?) {
            (try await store.strings("SELECT \(store.hex("encryption_key")) AS v FROM {verifications} WHERE verification_id = '\(id)'").first,
             try await store.strings("SELECT encryption_key_id AS v FROM {verifications} WHERE verification_id = '\(id)'").first)
        }
        let request = try VerifierStoreContractTests.request(.directPostJWT)
        let sealed = Verification.new(request, now: Date(), ttl: 900), other = Verification.new(request, now: Date(), ttl: 900)
        let clear = Verification.new(request, now: Date(), ttl: 900)
        try await withVerifications(Self.sealing) { verifications in
            try await verifications.create(sealed)
            try await verifications.create(other)
        }
        try await withVerifications(.unencrypted) { try await $0.create(clear) }   // as earlier releases stored keys

        let key = try #require(sealed.encryptionKey)
        let stored = try await storedKey(sealed.id)
        // The column holds no private scalar ("d"), only its ciphertext; nonce and tag sit beside the key id.
        #expect(stored.key != nil && stored.key != key.privateKey.rawRepresentation.hexString, "\(String(describing: stored.key))")
        #expect(stored.keyID?.hasPrefix(key.keyID + " kych-sealed:v1:") == true, "\(String(describing: stored.keyID))")
        #expect(try await storedKey(clear.id).key == clear.encryptionKey?.privateKey.rawRepresentation.hexString)

        let read = try await withVerifications(Self.sealing) { verifications in
            [try await verifications.verification(id: sealed.id), try await verifications.verification(id: clear.id)]
        }
        #expect(read.map { $0?.encryptionKey?.privateKey.rawRepresentation } == [key.privateKey.rawRepresentation,
                                                                                clear.encryptionKey?.privateKey.rawRepresentation])
        #expect(read.map { $0?.encryptionKey?.keyID } == [key.keyID, clear.encryptionKey?.keyID])
        await #expect(throws: StoredDataError.self) { _ = try await withVerifications(.unencrypted) { try await $0.verification(id: sealed.id) } }

        // One verification's sealed key moved into another's row does not open there.
        try await store.execute("""
            UPDATE {verifications} SET encryption_key = (SELECT encryption_key FROM {verifications} WHERE verification_id = '\(sealed.id)'),
              encryption_key_id = (SELECT encryption_key_id FROM {verifications} WHERE verification_id = '\(sealed.id)')
            WHERE verification_id = '\(other.id)'
            """)
        await #expect(throws: StoredDataError.self) { _ = try await withVerifications(Self.sealing) { try await $0.verification(id: other.id) } }
    }

    /// A standalone verifier's own `KEY_ENCRYPTION_SECRET` (at least 32 bytes; warned about when unset); an embedded
    /// one's keys are sealed with the gateway's, so its own is ignored with a warning.
    @Test func theStandaloneVerifierHasItsOwnKeyEncryptionSecret() async throws {
        let secret = "KEY_ENCRYPTION_SECRET = verifier-key-encryption-secret-0123456789\n"
        #expect(try VerifierConfigTests.validate(VerifierConfigTests.minimal + "\n" + secret).keyEncryptionSecret
            == "verifier-key-encryption-secret-0123456789")
        #expect(try VerifierConfigTests.validate(VerifierConfigTests.minimal).keyEncryptionSecret == nil)
        do {
            _ = try VerifierConfigTests.validate(VerifierConfigTests.minimal + "\nKEY_ENCRYPTION_SECRET = short-verifier-secret\n")
            Issue.record("a short secret was accepted")
        } catch let error as ConfigErrors {
            #expect(error.errors.map(\.description) == ["test.conf:7: [kych-verifier] KEY_ENCRYPTION_SECRET: must be at least 32 bytes (got 21)"])
        }
        let embedded = try VerifierConfigTests.validate("""
            [kych-verifier]
            EMBEDDED = yes
            MANAGEMENT_BEARER_TOKEN = secret-token:m
            EXTERNAL_URL = https://verifier.example.com
            SIGNING_KEY_FILE = /var/lib/kych/verifier.pem
            \(secret)
            """)
        #expect(embedded.keyEncryptionSecret == nil)
        #expect(embedded.warnings.map(\.description)
            == ["test.conf:6: [kych-verifier] KEY_ENCRYPTION_SECRET: ignored: an embedded verifier's keys are sealed with the gateway's KEY_ENCRYPTION_SECRET"])

        let warning = "warning: KEY_ENCRYPTION_SECRET is not set in [kych-verifier]: the private response-encryption keys are stored unencrypted in the database"
        let unset = try await Run.program("kych-verifier", ["-c", try temporaryFile(VerifierConfigTests.minimal), "--check-config"])
        #expect(unset.status == 0 && unset.stderr.contains(warning), "\(unset.stderr)")
        let set = try await Run.program("kych-verifier", ["-c", try temporaryFile(VerifierConfigTests.minimal + "\n" + secret), "--check-config"])
        #expect(set.status == 0 && !set.stderr.contains("KEY_ENCRYPTION_SECRET"), "\(set.stderr)")
    }

    /// The whole flow with every secret sealed: the gateway's client (bearer token sent to the verifier on creation and
    /// every poll, webhook key read), the standalone verifier's `direct_post.jwt` key (the wallet's JWE opens).
    @Test(arguments: Backend.allCases)
    func aFlowWorksWithEverySecretSealed(_ backend: Backend) async throws {
        let verifier = GatewayHarness.VerifierKind.builtIn(settings: """
            MANAGEMENT_BEARER_TOKEN = mgmt-token-0123456789
            KEY_ENCRYPTION_SECRET = verifier-key-encryption-secret-0123456789
            """)
        let harness = try await GatewayHarness.make(verifier: verifier, clientSettings: """
            VERIFIER_BEARER_TOKEN = mgmt-token-0123456789
            WEBHOOK_API_KEY_HEADER = X-Api-Key
            WEBHOOK_API_KEY_VALUE = \(Self.webhookKey("test"))
            """, mainSettings: "KEY_ENCRYPTION_SECRET = \(Self.secret)", backend: backend)
        try await harness.run { flow in
            let started = try await flow.start()
            // The webhook key is compared with the opened value (every client's, before the lookup).
            let header = try #require(HTTPField.Name("X-Api-Key"))
            #expect(try await flow.notify(started.verificationID, headers: [header: Self.webhookKey("test")]).status == .noContent)
            let info = try await flow.complete(started, webhook: false)
            #expect(info["status"] == "success")
        }
        let keyIDs = try await harness.verifierRows("encryption_key_id")
        #expect(keyIDs.count == 1 && keyIDs.allSatisfy { $0.contains(" kych-sealed:v1:") }, "\(keyIDs)")
        if backend == .postgres {
            let tokens = try await harness.db.strings("SELECT verifier_bearer_token FROM oauth2gw.clients WHERE client_id = 'test-client'")
            #expect(tokens.count == 1 && tokens.allSatisfy { $0.hasPrefix("kych-sealed:v1:") }, "\(tokens)")
        }
    }
}

/// A fresh database of either backend and raw SQL on it, to look at what is really stored. `{clients}` and
/// `{verifications}` in a statement stand for the two backends' table names.
struct RawStore {
    let backend: Backend
    /// Its `DATABASE` value.
    let database: String
    let postgres: TestDatabase?

    static func fresh(_ backend: Backend, verifier: Bool = false) async throws -> RawStore {
        switch backend {
        case .postgres:
            let db = verifier ? try await TestDatabase.createWithVerifier() : try await TestDatabase.create()
            return RawStore(backend: backend, database: db.connectionString, postgres: db)
        case .sqlite:
            return RawStore(backend: backend, database: try await backend.freshDatabase(), postgres: nil)
        }
    }

    /// The column `v` of every row `sql` returns, as text ("NULL" for none).
    func strings(_ sql: String) async throws -> [String] {
        if let postgres {
            return try await postgres.strings(sql.replacingOccurrences(of: "{clients}", with: "oauth2gw.clients")
                .replacingOccurrences(of: "{verifications}", with: "verifier.verifications"))
        }
        let db = try await SQLiteDatabase.open(path: String(database.dropFirst("sqlite://".count)), installingSchema: false,
                                               logger: TestEnvironment.logger)
        do {
            let rows = try await db.rows(sql.replacingOccurrences(of: "{clients}", with: "clients")
                .replacingOccurrences(of: "{verifications}", with: "verifier_verifications"))
            try await db.close()
            return rows.map { $0.string("v") ?? "NULL" }
        } catch {
            try? await db.close()
            throw error
        }
    }

    /// SQL for `column`'s bytes as lowercase hex.
    func hex(_ column: String) -> String {
        postgres == nil ? "lower(hex(\(column)))" : "encode(\(column), 'hex')"
    }

    func execute(_ sql: String) async throws {
        _ = try await strings(sql)
    }
}

extension Data {
    /// Lowercase hex, as both databases print bytes.
    var hexString: String { map { String(format: "%02x", $0) }.joined() }
}
