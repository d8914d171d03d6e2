import Crypto
import Foundation
import KychCore
import KychOAuth
import KychPostgres
import KychSDJWT
import KychVerifier
import KychVerifierModel
import Testing

/// The `[kych-verifier]` section, the verifier's signing key, and `kych-dbinit` for it.
@Suite struct VerifierConfigTests {
    static func validate(_ text: String) throws -> VerifierConfig {
        try VerifierConfig.validate(try IniFile.parse(text, path: "test.conf", environment: ["KEY": "from-env"]))
    }

    static let minimal = """
        [kych-verifier]
        HOST = 127.0.0.1
        PORT = 8090
        DATABASE = postgres://kych@localhost/kych
        EXTERNAL_URL = https://verifier.example.com/
        SIGNING_KEY_FILE = /var/lib/kych/verifier.pem
        """

    @Test func minimalSectionGetsTheSwiyuDefaults() throws {
        let config = try Self.validate(Self.minimal)
        #expect(config.binding == .tcp(host: "127.0.0.1", port: 8090))
        #expect(config.externalURL == "https://verifier.example.com")
        #expect(config.verifierDID == nil && config.webhookCallbackURI == nil && config.managementBearerToken == nil)
        #expect(config.verificationTTLSeconds == 900 && config.webhookIntervalMilliseconds == 2000)
        #expect(config.proofTimeWindowSeconds == 120 && config.deeplinkScheme == "swiyu-verify")
        #expect(config.warnings.isEmpty && !config.embedded)
    }

    @Test func errorsNameTheFileLineAndKey() throws {
        // Each line is appended as line 7 (a repeated key overrides the earlier one).
        let cases: [(String, String)] = [
            ("EXTERNAL_URL = http://verifier.example.com", "test.conf:7: [kych-verifier] EXTERNAL_URL: must be an https URL"),
            ("WEBHOOK_INTERVAL = often", "test.conf:7: [kych-verifier] WEBHOOK_INTERVAL: \"often\" is not a whole number"),
            ("VERIFICATION_TTL_SEC = 1", "test.conf:7: [kych-verifier] VERIFICATION_TTL_SEC: must be at least 10 seconds"),
            ("SIGNING_KEY_FILE = verifier.pem", "test.conf:7: [kych-verifier] SIGNING_KEY_FILE: must be an absolute path"),
            ("WEBHOOK_CALLBACK_URI = /notification", "test.conf:7: [kych-verifier] WEBHOOK_CALLBACK_URI: \"/notification\" is not an absolute http(s) URL"),
            ("UNIXPATH = /run/kych/verifier.sock",
             "test.conf:7: [kych-verifier] UNIXPATH: both TCP (HOST/PORT) and Unix socket (UNIXPATH) binding are set; choose one"),
            ("PORT = 0", "test.conf:7: [kych-verifier] PORT: \"0\" is not a port number"),
            ("VERIFIER_DID = did:web:example.com#key", "test.conf:7: [kych-verifier] VERIFIER_DID: must be a DID"),
            ("DID_VERIFICATION_METHOD = did:web:other#0", "test.conf:7: [kych-verifier] DID_VERIFICATION_METHOD: needs VERIFIER_DID"),
            ("WEBHOOK_API_KEY_HEADER = X Api Key", "test.conf:7: [kych-verifier] WEBHOOK_API_KEY_HEADER: \"X Api Key\" is not an HTTP header name"),
            ("EXTERNAL_URL = http://127.evil.example", "test.conf:7: [kych-verifier] EXTERNAL_URL: must be an https URL"),
            ("WEBHOOK_API_KEY_VALUE = x", "test.conf:7: [kych-verifier] WEBHOOK_API_KEY_VALUE: needs WEBHOOK_API_KEY_HEADER"),
            ("EMBEDDED = maybe", "test.conf:7: [kych-verifier] EMBEDDED: \"maybe\" is not yes or no"),
            ("EMBEDDED = yes", "test.conf:7: [kych-verifier] EMBEDDED: needs MANAGEMENT_BEARER_TOKEN"),
            ("DATABASE = ", "test.conf:1: [kych-verifier] DATABASE: DATABASE is required"),
        ]
        for (line, message) in cases {
            do {
                _ = try Self.validate(Self.minimal + "\n" + line)
                Issue.record("accepted: \(line)")
            } catch {
                #expect("\(error)".contains(message), "\(line): \(error)")
            }
        }
        #expect(throws: ConfigErrors.self) { try Self.validate("[kych-oauth2-gateway]\nHOST = x") }
        let warned = try Self.validate(Self.minimal + "\nWEBHOOK_SECRET = x")
        #expect(warned.warnings.map(\.description) == ["test.conf:7: [kych-verifier] WEBHOOK_SECRET: unknown option (ignored)"])
    }

    /// The gateway's and the verifier's sections bind by one rule, with the same messages.
    @Test func bindingIsOneRuleForBothSections() throws {
        let cases: [(String, String)] = [
            ("HOST = 127.0.0.1", "HOST: PORT is required with HOST"),
            ("PORT = 8090", "HOST: HOST is required with PORT"),
            ("HOST = 127.0.0.1\nPORT = 8090\nUNIXPATH = /run/k.sock", "UNIXPATH: both TCP (HOST/PORT) and Unix socket (UNIXPATH) binding are set"),
            ("UNIXPATH = k.sock", "UNIXPATH: must be an absolute path to the socket file"),
            ("UNIXPATH = /run/k.sock\nUNIXPATH_MODE = 999", "UNIXPATH_MODE: \"999\" is not an octal permission mode (e.g. 660)"),
            ("", "]: no server binding: set HOST and PORT, or UNIXPATH"),
        ]
        let rest = "\nDATABASE = postgres://kych@localhost/kych\nEXTERNAL_URL = https://v.example\nSIGNING_KEY_FILE = /k.pem\n"
        for (binding, message) in cases {
            for section in [VerifierConfig.section, GatewayConfig.mainSection] {
                let ini = try IniFile.parse("[\(section)]\n" + binding + rest, path: "test.conf", environment: [:])
                let errors = #expect(throws: ConfigErrors.self) {
                    if section == VerifierConfig.section { _ = try VerifierConfig.validate(ini) } else { _ = try GatewayConfig.validate(ini) }
                }
                #expect(errors?.errors.map(\.description).contains { $0.contains("[\(section)]") && $0.contains(message) } == true,
                        "[\(section)] \(binding): \(errors?.errors ?? [])")
            }
        }
    }

    /// A standalone verifier reachable beyond loopback must protect its management API (issue 12, finding 8).
    @Test func aPublicVerifierNeedsAManagementToken() throws {
        let rest = "\nDATABASE = postgres://kych@localhost/kych\nEXTERNAL_URL = https://verifier.example.com\nSIGNING_KEY_FILE = /etc/kych/v.pem\n"
        for binding in ["HOST = 0.0.0.0\nPORT = 8090", "UNIXPATH = /run/kych/verifier.sock"] {
            let ini = try IniFile.parse("[kych-verifier]\n" + binding + rest, path: "test.conf", environment: [:])
            let errors = #expect(throws: ConfigErrors.self) { try VerifierConfig.validate(ini) }
            #expect(errors?.errors.map(\.description) == [
                "test.conf:2: [kych-verifier] \(binding.prefix { $0 != " " }): a verifier listening beyond loopback needs MANAGEMENT_BEARER_TOKEN (its management API serves verified claims)",
            ])
            let withToken = try IniFile.parse("[kych-verifier]\n" + binding + rest + "MANAGEMENT_BEARER_TOKEN = secret-token:m\n",
                                              path: "test.conf", environment: [:])
            #expect(try VerifierConfig.validate(withToken).managementBearerToken == "secret-token:m")
        }
        let loopback = try IniFile.parse("[kych-verifier]\nHOST = 127.0.0.1\nPORT = 8090" + rest, path: "test.conf", environment: [:])
        #expect(try VerifierConfig.validate(loopback).managementBearerToken == nil)
    }

    @Test func everyKeyIsRead() throws {
        let config = try Self.validate("""
            [kych-verifier]
            UNIXPATH = /run/kych/verifier.sock
            UNIXPATH_MODE = 660
            DATABASE = postgres://kych@localhost/kych
            EXTERNAL_URL = http://127.0.0.1:8090
            VERIFIER_DID = did:web:verifier.example.com
            DID_VERIFICATION_METHOD = did:web:verifier.example.com#key-1
            SIGNING_KEY_FILE = /etc/kych/verifier.pem
            WEBHOOK_CALLBACK_URI = http://127.0.0.1:8080/notification
            WEBHOOK_API_KEY_HEADER = X-Api-Key
            WEBHOOK_API_KEY_VALUE = ${KEY}
            WEBHOOK_INTERVAL = 500
            VERIFICATION_TTL_SEC = 600
            VERIFICATION_PROOF_TIME_WINDOW_SEC = 30
            MANAGEMENT_BEARER_TOKEN = secret-token:m
            DEEPLINK_SCHEMA = openid4vp
            CLIENT_NAME = Exchange
            """)
        #expect(config.binding == .unix(path: "/run/kych/verifier.sock", mode: 0o660))
        #expect(config.verifierDID == "did:web:verifier.example.com" && config.verificationMethod == "did:web:verifier.example.com#key-1")
        #expect(config.webhookAPIKeyHeader == "X-Api-Key" && config.webhookAPIKeyValue == "from-env")
        #expect(config.webhookIntervalMilliseconds == 500 && config.verificationTTLSeconds == 600 && config.proofTimeWindowSeconds == 30)
        #expect(config.managementBearerToken == "secret-token:m" && config.deeplinkScheme == "openid4vp" && config.clientName == "Exchange")
        #expect(config.warnings.isEmpty)

        let embedded = try Self.validate("""
            [kych-verifier]
            EMBEDDED = yes
            MANAGEMENT_BEARER_TOKEN = secret-token:m
            EXTERNAL_URL = https://kych.example.com
            SIGNING_KEY_FILE = /etc/kych/verifier.pem
            """)
        #expect(embedded.embedded && embedded.binding == nil && embedded.database.isEmpty)
    }

    @Test func signingKeyIsCreatedPrivatelyOnceAndMustMatchTheDID() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("kych-key-\(UUID().uuidString).pem").path
        defer { unlink(path) }
        let (key, created) = try SigningKeyFile.loadOrCreate(path: path)
        #expect(created && !SigningKeyFile.isReadableByOthers(path: path))
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        let (again, createdAgain) = try SigningKeyFile.loadOrCreate(path: path)
        #expect(!createdAgain && again.rawRepresentation == key.rawRepresentation)

        var config = try Self.validate(Self.minimal)
        #expect(try VerifierSettings(config: config, signingKey: key).verifierDID == DIDJWK.did(for: key.publicKey))
        config.verifierDID = DIDJWK.did(for: P256.Signing.PrivateKey().publicKey)
        #expect(throws: VerifierSettingsError.self) { try VerifierSettings(config: config, signingKey: key) }

        let garbage = try temporaryFile("not a key", suffix: ".pem")
        #expect(throws: SigningKeyFileError.self) { try SigningKeyFile.load(path: garbage) }
    }

    @Test func checkConfigAndDBInitWorkWithAVerifierOnlyFile() async throws {
        let bad = try temporaryFile(Self.minimal.replacingOccurrences(of: "https://verifier.example.com/", with: "ftp://x"))
        let check = try await Run.program("kych-verifier", ["-c", bad, "--check-config"])
        #expect(check.status != 0 && check.stderr.contains("[kych-verifier] EXTERNAL_URL: must be an https URL"), "\(check.stderr)")
        #expect(try await Run.program("kych-verifier", ["-c", try temporaryFile(Self.minimal), "--check-config"]).status == 0)

        let db = try await TestDatabase.create(installSchema: false)
        let file = try temporaryFile(Self.minimal.replacingOccurrences(of: "postgres://kych@localhost/kych", with: db.connectionString))
        #expect(try await Run.program("kych-dbinit", ["-c", file]).stdout.contains("Applied: verifier-0001"))
        #expect(try await Run.program("kych-dbinit", ["-c", file]).stdout.contains("Database is up to date."))
        #expect(try await db.strings("SELECT patch_name FROM _v.patches ORDER BY 1") == SchemaInstaller.verifierPatches)
        let reset = try await Run.program("kych-dbinit", ["-c", file, "--reset", "-y"])
        #expect(reset.stdout.contains("Applied: verifier-0001"), "\(reset.stderr)")
        // Applying the patch file by hand a second time is refused and changes nothing.
        let psql = try await Run.program(try #require(Run.which("psql"), "psql not on PATH"), [
            "-X", "-q", "-v", "ON_ERROR_STOP=1", db.connectionString,
            "-f", TestEnvironment.sqlDirectory.appendingPathComponent("verifier-0001.sql").path])
        #expect(psql.status != 0 && psql.stderr.contains("Patch verifier-0001 is already applied"), "\(psql.stderr)")
    }
}
