import Foundation
import KychCore
import KychOAuth
import KychStorage
import Testing

/// The manual's "Client Management" examples, run verbatim (only the config path differs) against PostgreSQL.
@Suite struct ClientManagementCLITests {
    /// A config with the manual's [client_exchange] section, pointing at a fresh database.
    private func setUp() async throws -> (TestDatabase, String) {
        let db = try await TestDatabase.create()
        let conf = try temporaryFile("""
            [kych-oauth2-gateway]
            UNIXPATH = /run/kych/kych.sock
            UNIXPATH_MODE = 666
            DATABASE = \(db.connectionString)
            VC_CLAIMS = {family_name, given_name, birth_date, age_over_18}

            \(manualClientSection)
            """)
        return (db, conf)
    }

    /// Runs a manual command line: shell-style words, `/etc/kych/kych.conf` replaced by `conf`.
    private func manual(_ line: String, _ conf: String, stdin: String? = nil) async throws -> ProcessResult {
        let words = shellWords(line.replacingOccurrences(of: "/etc/kych/kych.conf", with: conf))
        #expect(words.first == "kych-client-management")
        return try await Run.program("kych-client-management", Array(words.dropFirst()), stdin: stdin)
    }

    @Test func manualExamplesWorkVerbatim() async throws {
        let (db, conf) = try await setUp()
        let create = try await manual("""
            kych-client-management --config /etc/kych/kych.conf create \\
            --client-id exchange_prod \\
            --secret "secret-token:your-secure-secret" \\
            --verifier-url https://swiyu-verifier.example.com \\
            --redirect-uri https://exchange.example.com/kyc/kych-redirect \\
            --accepted-issuer-dids "{did:tdw:trusted_issuer}"
            """, conf)
        #expect(create.status == 0, "\(create.stderr)")
        // The manual's secret has 31 bytes: it works as written, with a warning (the config file refuses it).
        #expect(create.stderr.contains("warning: --secret is shorter than 32 bytes (got 31)"), "\(create.stderr)")

        let list = try await manual("kych-client-management --config /etc/kych/kych.conf list", conf)
        #expect(list.status == 0)
        #expect(list.stdout.contains("exchange_prod") && list.stdout.contains("https://swiyu-verifier.example.com"))

        let show = try await manual("kych-client-management --config /etc/kych/kych.conf show exchange_prod", conf)
        #expect(show.status == 0)
        #expect(show.stdout.contains("verifier_management_api_path  /management/api/verifications"))
        #expect(show.stdout.contains("accepted_issuer_dids          {did:tdw:trusted_issuer}"))
        #expect(!show.stdout.contains("your-secure-secret") && !show.stdout.contains("$2"))

        let hash = try await db.strings("SELECT secret_hash FROM oauth2gw.clients WHERE client_id = 'exchange_prod'")
        #expect(hash.first?.hasPrefix("$2") == true)
        #expect(Secrets.verifySecret("secret-token:your-secure-secret", hash: hash.first ?? ""))

        let update = try await manual("""
            kych-client-management --config /etc/kych/kych.conf update exchange_prod \\
            --redirect-uri https://new-exchange.example.com/kyc/kych-redirect
            """, conf)
        #expect(update.status == 0, "\(update.stderr)")
        #expect(try await db.strings("SELECT redirect_uri || ' ' || verifier_url FROM oauth2gw.clients WHERE client_id = 'exchange_prod'")
            == ["https://new-exchange.example.com/kyc/kych-redirect https://swiyu-verifier.example.com"])
        #expect(try await db.strings("SELECT secret_hash FROM oauth2gw.clients WHERE client_id = 'exchange_prod'") == hash)

        // A KyCH whose attestations are accepted is named by its BASE_URL exactly.
        let attestations = try await manual("""
            kych-client-management --config /etc/kych/kych.conf update exchange_prod \\
            --accepted-issuer-dids "{did:tdw:trusted_issuer, https://kych-a.example.com}"
            """, conf)
        #expect(attestations.status == 0, "\(attestations.stderr)")
        let slash = try await manual("""
            kych-client-management --config /etc/kych/kych.conf update exchange_prod --accepted-issuer-dids "{https://kych-a.example.com/}"
            """, conf)
        #expect(slash.status != 0 && slash.stderr.contains("--accepted-issuer-dids: \"https://kych-a.example.com/\" is not an https issuer"))
        #expect(try await db.strings("SELECT accepted_issuer_dids::text FROM oauth2gw.clients WHERE client_id = 'exchange_prod'")
            == ["{did:tdw:trusted_issuer,https://kych-a.example.com}"])

        let sync = try await manual("kych-client-management --config /etc/kych/kych.conf sync", conf)
        #expect(sync.status == 0 && sync.stdout.contains("created exchange_production"), "\(sync.stderr)")
        #expect(try await db.strings("SELECT client_id FROM oauth2gw.clients ORDER BY 1") == ["exchange_prod", "exchange_production"])

        // Without -y and without a terminal, delete refuses and changes nothing.
        let refused = try await manual("kych-client-management --config /etc/kych/kych.conf delete exchange_prod", conf)
        #expect(refused.status != 0 && refused.stderr.contains("standard input is not a terminal"))
        #expect(try await db.strings("SELECT count(*)::text FROM oauth2gw.clients") == ["2"])

        let prune = try await manual("kych-client-management --config /etc/kych/kych.conf sync --prune", conf)
        #expect(prune.status == 0 && prune.stdout.contains("deleted exchange_prod"))
        #expect(try await db.strings("SELECT client_id FROM oauth2gw.clients") == ["exchange_production"])

        let delete = try await manual("kych-client-management --config /etc/kych/kych.conf delete exchange_production -y", conf)
        #expect(delete.status == 0)
        #expect(try await db.strings("SELECT count(*)::text FROM oauth2gw.clients") == ["0"])
    }

    @Test func deletePromptsOnATerminal() async throws {
        let (db, conf) = try await setUp()
        await #expect(try manual("kych-client-management --config /etc/kych/kych.conf sync", conf).status == 0)
        let script = try #require(Run.which("script"), "script(1) from util-linux is needed for a pseudo-terminal")
        let bin = TestEnvironment.binDirectory.appendingPathComponent("kych-client-management").path
        let command = "\(bin) --config \(conf) delete exchange_production"
        let no = try await Run.program(script, ["-qec", command, "/dev/null"], stdin: "n\n")
        #expect(no.stdout.contains("[y/N]") && no.status != 0)
        #expect(try await db.strings("SELECT count(*)::text FROM oauth2gw.clients") == ["1"])
        let yes = try await Run.program(script, ["-qec", command, "/dev/null"], stdin: "y\n")
        #expect(yes.status == 0 && yes.stdout.contains("Client exchange_production deleted."), "\(yes.stdout)")
        #expect(try await db.strings("SELECT count(*)::text FROM oauth2gw.clients") == ["0"])
    }

    /// `purge --client`: the client's claims are gone from the database at once, its finished sessions too.
    @Test func purgeErasesAClientsClaimsNow() async throws {
        let (db, conf) = try await setUp()
        await #expect(try manual("kych-client-management --config /etc/kych/kych.conf sync", conf).status == 0)
        try await Stores.with(db.connectionString, sealing: .unencrypted, logger: TestEnvironment.logger) { stores in
            _ = try await StoreContractTests.verifiedSession(stores.flow, 1, client: "exchange_production")
            let completed = try await StoreContractTests.verifiedSession(stores.flow, 2, client: "exchange_production")
            let code = NewAuthorizationCode(codeHash: Secrets.sha256("code"), redirectURI: "https://r.example/cb", codeChallenge: nil,
                                            createdAt: Date(), expiresAt: Date().addingTimeInterval(600))
            #expect(try await stores.flow.apply(SessionMachine(now: Date()).codeIssued(), toSession: completed, issuing: code))
        }
        func dump() async throws -> String {
            let dump = try await Run.program("/usr/bin/pg_dump", ["--no-owner", "-n", "oauth2gw", db.connectionString])
            try #require(dump.status == 0, "\(dump.stderr)")
            return dump.stdout
        }
        await #expect(try dump().contains("Helvetia"))

        let purge = try await Run.program("kych-client-management", ["-c", conf, "purge", "--client", "exchange_production"])
        #expect(purge.status == 0 && purge.stdout
            == "Client exchange_production: claims erased from 2 sessions, 1 finished sessions deleted.\n", "\(purge.stderr)")
        await #expect(try !dump().contains("Helvetia"))
        #expect(try await db.strings("SELECT status || ' ' || claims::text FROM oauth2gw.verification_sessions") == ["verified {}"])
        let unknown = try await Run.program("kych-client-management", ["-c", conf, "purge", "--client", "nobody"])
        #expect(unknown.status != 0 && unknown.stderr.contains("no client with id \"nobody\""))
    }

    /// `revoke-attestation`: by attestation id or by the flow's session id; the status list reads it from the database.
    @Test func revokeAttestationMarksAttestationsRevoked() async throws {
        let (db, conf) = try await setUp()
        let issued = Date()
        try await Stores.with(db.connectionString, sealing: .unencrypted, logger: TestEnvironment.logger) { stores in
            for (id, session) in [("att-1", "session-1"), ("att-2", "session-1"), ("att-3", "session-2")] {
                _ = try await stores.flow.recordAttestation(NewAttestation(id: id, sessionID: session, clientID: "wallet", issuedAt: issued,
                                                                           expiresAt: issued.addingTimeInterval(86_400)))
            }
        }
        let bySession = try await Run.program("kych-client-management", ["-c", conf, "revoke-attestation", "session-1"])
        #expect(bySession.status == 0 && bySession.stdout == "Revoked 2 attestations.\n", "\(bySession.stderr)")
        let byID = try await Run.program("kych-client-management", ["-c", conf, "revoke-attestation", "att-3"])
        #expect(byID.status == 0 && byID.stdout == "Revoked 1 attestation.\n", "\(byID.stderr)")
        let again = try await Run.program("kych-client-management", ["-c", conf, "revoke-attestation", "att-3"])
        #expect(again.status != 0 && again.stderr.contains("no live attestation has the id or session id att-3"))
        #expect(try await db.strings("SELECT count(*)::text FROM oauth2gw.attestations WHERE revoked_at IS NOT NULL") == ["3"])
    }

    @Test func errorsLeaveTheDatabaseUnchanged() async throws {
        let (db, conf) = try await setUp()
        await #expect(try manual("kych-client-management --config /etc/kych/kych.conf sync", conf).status == 0)
        let before = try await db.strings("SELECT client_id || redirect_uri || secret_hash FROM oauth2gw.clients")

        let duplicate = try await Run.program("kych-client-management", ["--config", conf, "create", "--client-id", "exchange_production",
            "--secret", "s", "--verifier-url", "https://v.example", "--redirect-uri", "https://r.example/cb"])
        #expect(duplicate.status != 0 && duplicate.stderr.contains("a client with id \"exchange_production\" already exists"))

        let badURL = try await Run.program("kych-client-management", ["--config", conf, "update", "exchange_production", "--redirect-uri", "not-a-url"])
        #expect(badURL.status != 0 && badURL.stderr.contains("--redirect-uri \"not-a-url\" is not an absolute http(s) URL"))

        let unknown = try await Run.program("kych-client-management", ["--config", conf, "update", "nobody", "--redirect-uri", "https://x.example"])
        #expect(unknown.status != 0 && unknown.stderr.contains("no client with id \"nobody\""))
        let show = try await Run.program("kych-client-management", ["-c", conf, "show", "nobody"])
        #expect(show.status != 0 && show.stderr.contains("no client with id \"nobody\""))
        let delete = try await Run.program("kych-client-management", ["-c", conf, "delete", "nobody", "-y"])
        #expect(delete.status != 0 && delete.stderr.contains("no client with id \"nobody\""))

        let long = try await Run.program("kych-client-management", ["--config", conf, "create", "--client-id", "long",
            "--secret", String(repeating: "x", count: 73), "--verifier-url", "https://v.example", "--redirect-uri", "https://r.example/cb"])
        #expect(long.status != 0 && long.stderr.contains("--secret is longer than 72 bytes (got 73)"), "\(long.stderr)")

        let missing = try await Run.program("kych-client-management", ["--config", conf, "create", "--client-id", "x", "--secret", "s"])
        #expect(missing.status != 0 && missing.stderr.contains("--verifier-url"))

        let scope = try await Run.program("kych-client-management", ["--config", conf, "update", "exchange_production", "--default-scope", "{portrait}"])
        #expect(scope.status != 0 && scope.stderr.contains("\"portrait\" is not in ALLOWED_SCOPES/VC_CLAIMS"))

        #expect(try await db.strings("SELECT client_id || redirect_uri || secret_hash FROM oauth2gw.clients") == before)
    }

    @Test func syncKeepsHashOfUnchangedSecretAndOptionalFlagsRoundTrip() async throws {
        let (db, conf) = try await setUp()
        await #expect(try manual("kych-client-management --config /etc/kych/kych.conf sync", conf).status == 0)
        let hash = try await db.strings("SELECT secret_hash FROM oauth2gw.clients")
        await #expect(try manual("kych-client-management --config /etc/kych/kych.conf sync", conf).stdout.contains("updated exchange_production"))
        #expect(try await db.strings("SELECT secret_hash FROM oauth2gw.clients") == hash)

        let update = try await Run.program("kych-client-management", ["-c", conf, "update", "exchange_production",
            "--default-scope", "{given_name, family_name}", "--verifier-query", "presentation_definition",
            "--failure-error", "unauthorized_client", "--webhook-api-key-header", "x-api-key", "--webhook-api-key-value", "k"])
        #expect(update.status == 0, "\(update.stderr)")
        let show = try await Run.program("kych-client-management", ["-c", conf, "show", "exchange_production"]).stdout
        #expect(show.contains("default_scope                 {given_name, family_name}"))
        #expect(show.contains("verifier_query                presentation_definition"))
        #expect(show.contains("failure_error                 unauthorized_client"))
        #expect(show.contains("webhook_api_key_value         (set)") && !show.contains(" k\n"))
    }

    @Test func publicClientsAndTheOAuth21Flags() async throws {
        let (_, conf) = try await setUp()
        func cli(_ arguments: [String]) async throws -> ProcessResult { try await Run.program("kych-client-management", ["-c", conf] + arguments) }
        let create = try await cli(["create", "--client-id", "app", "--public", "--verifier-url", "https://v.example",
                              "--redirect-uri", "com.example.app:/cb", "--redirect-uris", "{http://127.0.0.1/cb}", "--client-name", "Example App"])
        #expect(create.status == 0, "\(create.stderr)")
        let show = try await cli(["show", "app"]).stdout
        for line in ["client_secret                 (none: public client)", "client_type                   public",
                     "client_name                   Example App", "redirect_uris                 {http://127.0.0.1/cb}",
                     "require_pkce                  yes"] {
            #expect(show.contains(line), "\(show)")
        }
        await #expect(try cli(["create", "--client-id", "app2", "--public", "--secret", "secret-token:x", "--verifier-url", "https://v.example",
                         "--redirect-uri", "https://a.example/cb"]).status != 0)
        await #expect(try cli(["sync"]).status == 0)   // the manual's [client_exchange]: exchange_production, confidential
        let appScheme = try await cli(["update", "exchange_production", "--redirect-uris", "{com.example.app:/cb}"])
        #expect(appScheme.status != 0 && appScheme.stderr.contains("is not an absolute http(s) URL"))
        await #expect(try cli(["update", "exchange_production", "--require-pkce", "yes", "--client-name", "Exchange"]).status == 0)
        let confidential = try await cli(["show", "exchange_production"]).stdout
        #expect(confidential.contains("require_pkce                  yes") && confidential.contains("client_name                   Exchange"))
        await #expect(try cli(["update", "exchange_production", "--require-pkce", "maybe"]).stderr.contains("--require-pkce must be yes or no"))
        #expect(confidential.contains("authorize_without_setup       yes"))
        await #expect(try cli(["update", "exchange_production", "--allow-authorize-without-setup", "no"]).status == 0)
        await #expect(try cli(["show", "exchange_production"]).stdout.contains("authorize_without_setup       no"))
        // Issue 16: the grant types a client may use at /token.
        #expect(confidential.contains("grant_types                   {authorization_code}"), "\(confidential)")
        await #expect(try cli(["update", "exchange_production", "--grant-types", "{authorization_code, vp_token-bearer}"]).status == 0)
        await #expect(try cli(["show", "exchange_production"]).stdout.contains("grant_types                   {authorization_code, vp_token-bearer}"))
        await #expect(try cli(["update", "exchange_production", "--grant-types", "{password}"]).stderr
                    .contains("--grant-types \"password\" is not one of authorization_code, vp_token-bearer"))

        // Issue 15: a client with keys needs no secret; the switches round-trip; inconsistent ones are refused.
        let jwks = #"{"keys":[{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]}"#
        await #expect(try cli(["create", "--client-id", "bank", "--verifier-url", "https://v.example", "--redirect-uri", "https://bank.example/cb",
                         "--jwks", jwks, "--profile", "fapi2", "--require-dpop-nonce", "yes"]).status == 0)
        let bank = try await cli(["show", "bank"]).stdout
        #expect(bank.contains("client_type                   confidential") && bank.contains("jwks                          (set)"))
        #expect(bank.contains("token_endpoint_auth_method    (any of: private_key_jwt)") && bank.contains("require_dpop                  yes"))
        #expect(bank.contains("require_dpop_nonce            yes") && bank.contains("require_par                   yes"))
        #expect(bank.contains("profile                       fapi2") && bank.contains("require_pkce                  yes"))
        await #expect(try cli(["update", "bank", "--token-endpoint-auth-method", "client_secret_post"]).stderr
                    .contains("--token-endpoint-auth-method client_secret_post needs a CLIENT_SECRET"))
        await #expect(try cli(["update", "bank", "--jwks", #"{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}"#]).stderr
                    .contains("--jwks holds a private key"))
        await #expect(try cli(["create", "--client-id", "bank2", "--verifier-url", "https://v.example", "--redirect-uri", "https://bank.example/cb"])
                    .stderr.contains("--secret"))
    }

    @Test func invalidConfigIsReportedWithoutStack() async throws {
        let conf = try temporaryFile("[kych-oauth2-gateway]\nHOST = 127.0.0.1\nPORT = 99999\nDATABASE = postgres://x@127.0.0.1/x\n")
        let result = try await Run.program("kych-client-management", ["-c", conf, "list"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("\(conf):3: [kych-oauth2-gateway] PORT: \"99999\" is not a port number (1-65535)"))
        #expect(!result.stderr.contains("Fatal error") && !result.stderr.contains("Stack"))
        let gateway = try await Run.program("kych-oauth2-gateway", ["-c", conf])
        #expect(gateway.status != 0 && gateway.stderr.contains("PORT: \"99999\" is not a port number"))

        // --check-config also checks an embedded verifier's section.
        let good = "[kych-oauth2-gateway]\nHOST = 127.0.0.1\nPORT = 8080\nDATABASE = sqlite::memory:\n"
        #expect(try await Run.program("kych-oauth2-gateway", ["-c", try temporaryFile(good), "--check-config"]).status == 0)
        let embedded = try temporaryFile(good + "[kych-verifier]\nEMBEDDED = yes\nMANAGEMENT_BEARER_TOKEN = t\nEXTERNAL_URL = http://127.0.0.1:8080\nVERIFICATION_TTL_SEC = soon\n")
        let check = try await Run.program("kych-oauth2-gateway", ["-c", embedded, "--check-config"])
        #expect(check.status != 0 && check.stderr.contains("VERIFICATION_TTL_SEC"), "\(check.stderr)")
    }
}

/// `create`/`update` apply the configuration's rules: loopback redirect URIs, HTTP header names.
@Suite struct ClientManagementRuleTests {
    @Test func redirectURIsAndWebhookHeadersFollowTheConfigRules() async throws {
        let dir = try VerifierTestConfig.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let conf = try temporaryFile("[kych-oauth2-gateway]\nHOST = 127.0.0.1\nPORT = 8080\nDATABASE = sqlite://\(dir.path)/kych.db\n")
        func run(_ arguments: [String]) async throws -> ProcessResult { try await Run.program("kych-client-management", ["-c", conf] + arguments) }
        func create(_ id: String, redirect: String) async throws -> ProcessResult {
            try await run(["create", "--client-id", id, "--secret", "secret-token:s-0123456789abcdefghijklmnopq", "--verifier-url", "https://v.example", "--redirect-uri", redirect])
        }

        let evil = try await create("evil", redirect: "http://127.evil.example/cb")
        #expect(evil.status != 0 && evil.stderr.contains("--redirect-uri \"http://127.evil.example/cb\" must use https"), "\(evil.stderr)")
        for (index, uri) in ["http://127.0.0.1:9/cb", "http://[::1]/cb", "http://localhost/cb"].enumerated() {
            let created = try await create("loopback\(index)", redirect: uri)
            #expect(created.status == 0, "\(uri): \(created.stderr)")
        }

        for command in [["create", "--client-id", "hook", "--secret", "secret-token:s-0123456789abcdefghijklmnopq", "--verifier-url", "https://v.example",
                         "--redirect-uri", "https://c.example/cb"], ["update", "loopback0"]] {
            let refused = try await run(command + ["--webhook-api-key-header", "X Api", "--webhook-api-key-value", "k"])
            #expect(refused.status != 0 && refused.stderr.contains("--webhook-api-key-header \"X Api\" is not an HTTP header name"),
                    "\(command[0]): \(refused.stderr)")
        }
        await #expect(try run(["update", "loopback0", "--webhook-api-key-header", "X-Api-Key", "--webhook-api-key-value", "k"]).status == 0)
        await #expect(try run(["show", "loopback0"]).stdout.contains("X-Api-Key"))
    }
}

/// Splits a shell command line into words: double quotes group, backslash-newline continues.
func shellWords(_ line: String) -> [String] {
    var words: [String] = [], current = "", inQuotes = false, hasWord = false
    for c in line.replacingOccurrences(of: "\\\n", with: " ") {
        if c == "\"" { inQuotes.toggle(); hasWord = true; continue }
        if c.isWhitespace && !inQuotes {
            if hasWord { words.append(current); current = ""; hasWord = false }
            continue
        }
        current.append(c)
        hasWord = true
    }
    if hasWord { words.append(current) }
    return words
}
