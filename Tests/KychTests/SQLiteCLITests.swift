import Foundation
import KychCore
import KychOAuth
import KychSQLite
import KychWallet
import Testing

/// `kych-dbinit`, `kych-client-management` and a standalone `kych-verifier` on an embedded SQLite `DATABASE`.
@Suite struct SQLiteCLITests {
    /// A gateway and a standalone verifier sharing `sqlite://<folder>/state/kych.db` (the folder `state` not yet there).
    private func setUp() throws -> (conf: String, database: String) {
        let directory = try VerifierTestConfig.temporaryDirectory()
        let database = directory.appendingPathComponent("state/kych.db").path
        let conf = try temporaryFile("""
            [kych-oauth2-gateway]
            HOST = 127.0.0.1
            PORT = 8080
            DATABASE = sqlite://\(database)
            VC_CLAIMS = {family_name, given_name, birth_date, age_over_18}

            [client_exchange]
            CLIENT_ID = exchange_production
            CLIENT_SECRET = secret-token:your-secure-secret-here
            VERIFIER_URL = https://swiyu-verifier.example.com
            REDIRECT_URI = https://exchange.example.com/kyc/kych-redirect

            \(VerifierTestConfig.section(port: 8090, database: "sqlite://\(database)",
                                         keyFile: directory.appendingPathComponent("verifier.pem").path, webhook: nil))
            """)
        return (conf, database)
    }

    private func tables(_ path: String) async throws -> [String] {
        let db = try await SQLiteDatabase.open(path: path, installingSchema: false, logger: TestEnvironment.logger)
        let names = try await db.rows("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
        try await db.close()
        return names.compactMap { $0.string("name") }
    }

    @Test func dbinitCreatesTheFileAndResetsAfterConfirmation() async throws {
        let (conf, database) = try setUp()
        let created = try await Run.program("kych-dbinit", ["-c", conf])
        #expect(created.status == 0, "\(created.stderr)")
        #expect(created.stdout.contains("Applied: sqlite://\(database) (tables"), "\(created.stdout)")
        #expect(try await tables(database) == ["access_tokens", "attestations", "authorization_codes", "clients", "pushed_authorization_requests", "seen_jwt_ids",
                                               "server_secrets",
                                               "signing_keys", "verification_sessions",
                                               "verifier_verifications", "verifier_webhook_events"])
        #expect(try await Run.program("kych-dbinit", ["-c", conf]).stdout.contains("Database is up to date."))

        #expect(try await Run.program("kych-client-management", ["-c", conf, "sync"]).status == 0)
        #expect(try await Run.program("kych-client-management", ["-c", conf, "list"]).stdout.contains("exchange_production"))

        // Without -y and without a terminal, --reset refuses and keeps the data.
        let refused = try await Run.program("kych-dbinit", ["-c", conf, "--reset"])
        #expect(refused.status != 0 && refused.stderr.contains("standard input is not a terminal"))
        #expect(try await Run.program("kych-client-management", ["-c", conf, "list"]).stdout.contains("exchange_production"))

        let reset = try await Run.program("kych-dbinit", ["-c", conf, "--reset", "-y"])
        #expect(reset.status == 0 && reset.stdout.contains("clients") && reset.stdout.contains("verifier_verifications"), "\(reset)")
        #expect(!(try await Run.program("kych-client-management", ["-c", conf, "list"]).stdout.contains("exchange_production")))
    }

    @Test func standaloneVerifierKeepsItsWebhookAcrossARestart() async throws {
        let receiver = try await LoopbackServer()
        defer { receiver.stop() }
        receiver.answerPosts(with: 503)
        let directory = try VerifierTestConfig.temporaryDirectory()
        let database = directory.appendingPathComponent("verifier.db").path
        let port = TestPorts.next(), baseURL = "http://127.0.0.1:\(port)"
        let config = try temporaryFile(VerifierTestConfig.section(
            port: port, database: "sqlite://\(database)", keyFile: directory.appendingPathComponent("verifier.pem").path,
            webhook: receiver.baseURL + "/notification"))
        let wallet = try Wallet(directory: directory.appendingPathComponent("wallet"))
        try wallet.issue()

        let first = try await GatewayProcess(configPath: config, baseURL: baseURL, executable: "kych-verifier")
        let body = """
            {"accepted_issuer_dids":["\(try wallet.issuerDID())"],"response_mode":"direct_post.jwt","dcql_query":{"credentials":[
            {"id":"kych","format":"dc+sd-jwt","meta":{"vct_values":["betaid-sdjwt"]},"claims":[{"path":["family_name"]}]}]}}
            """
        let created = try await HTTP.post(baseURL + "/management/api/verifications", headers: [("Content-Type", "application/json")], body: body)
        let id = try #require(created.json["id"]?.stringValue, "\(created.body)")
        #expect(try await wallet.answer(try #require(created.json["verification_deeplink"]?.stringValue)).status == 200)
        #expect(try await VerifierWebhookTests.eventually { !receiver.posts.isEmpty })   // tried, refused
        #expect(await first.terminate() == 0)

        receiver.answerPosts(with: 200)
        let refused = receiver.posts.count
        let second = try await GatewayProcess(configPath: config, baseURL: baseURL, executable: "kych-verifier")
        #expect(try await VerifierWebhookTests.eventually { receiver.posts.count == refused + 1 })
        try await Task.sleep(for: .milliseconds(200))
        #expect(receiver.posts.count == refused + 1 && receiver.posts.allSatisfy {
            (try? JSON.parse(Data($0.body.utf8)))?["verification_id"]?.stringValue == id
        })
        let result = try await HTTP.get(baseURL + "/management/api/verifications/" + id)
        #expect(result.json["wallet_response"]?["credential_subject_data"]?["kych"]?.arrayValue?.first?["family_name"] == "National")
        #expect(await second.terminate() == 0)
        let db = try await SQLiteDatabase.open(path: database, installingSchema: false, logger: TestEnvironment.logger)
        let waiting = try await db.rows("SELECT count(*) AS n FROM verifier_webhook_events").first?.int("n")
        try await db.close()
        #expect(waiting == 0)
    }

    @Test func clientManagementWorksOnSQLite() async throws {
        let (conf, _) = try setUp()
        let create = try await Run.program("kych-client-management", ["-c", conf, "create", "--client-id", "exchange_prod",
            "--secret", "secret-token:your-secure-secret", "--verifier-url", "https://swiyu-verifier.example.com",
            "--redirect-uri", "https://exchange.example.com/kyc/kych-redirect", "--accepted-issuer-dids", "{did:tdw:trusted_issuer}"])
        #expect(create.status == 0, "\(create.stderr)")
        let show = try await Run.program("kych-client-management", ["-c", conf, "show", "exchange_prod"])
        #expect(show.stdout.contains("accepted_issuer_dids          {did:tdw:trusted_issuer}"), "\(show.stdout)")
        #expect(!show.stdout.contains("your-secure-secret") && !show.stdout.contains("$2"))
        let update = try await Run.program("kych-client-management", ["-c", conf, "update", "exchange_prod",
                                                                "--redirect-uri", "https://new-exchange.example.com/kyc/kych-redirect"])
        #expect(update.status == 0, "\(update.stderr)")
        #expect(try await Run.program("kych-client-management", ["-c", conf, "show", "exchange_prod"]).stdout
            .contains("https://new-exchange.example.com/kyc/kych-redirect"))
        let prune = try await Run.program("kych-client-management", ["-c", conf, "sync", "--prune"])
        #expect(prune.status == 0 && prune.stdout.contains("created exchange_production") && prune.stdout.contains("deleted exchange_prod"))
        let duplicate = try await Run.program("kych-client-management", ["-c", conf, "create", "--client-id", "exchange_production",
            "--secret", "s", "--verifier-url", "https://v.example", "--redirect-uri", "https://r.example/cb"])
        #expect(duplicate.status != 0 && duplicate.stderr.contains("a client with id \"exchange_production\" already exists"))
        #expect(try await Run.program("kych-client-management", ["-c", conf, "delete", "exchange_production", "-y"]).status == 0)
        #expect(!(try await Run.program("kych-client-management", ["-c", conf, "list"]).stdout.contains("exchange_production")))
    }
}
