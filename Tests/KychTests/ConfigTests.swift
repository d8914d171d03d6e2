import Foundation
import KychCore
import KychOAuth
import Testing

/// The `[kych-oauth2-gateway]` section of the manual, TCP variant, used as a base by the tests.
private let base = """
    [kych-oauth2-gateway]
    HOST = 127.0.0.1
    PORT = 8080
    DATABASE = postgres://kych:password@localhost/kych
    """

/// The manual's `[client_exchange]` example, verbatim.
let manualClientSection = """
    [client_exchange]
    CLIENT_ID = exchange_production
    CLIENT_SECRET = secret-token:your-secure-secret-here
    VERIFIER_URL = https://swiyu-verifier.example.com
    VERIFIER_MANAGEMENT_API_PATH = /management/api/verifications
    REDIRECT_URI = https://exchange.example.com/kyc/kych-redirect
    ACCEPTED_ISSUER_DIDS = {did:tdw:trusted_issuer_1, did:tdw:trusted_issuer_2}
    """

private func parse(_ text: String, env: [String: String] = [:]) throws -> GatewayConfig {
    let ini = try IniFile.parse(text, path: "/etc/kych/kych.conf", environment: env)
    return try GatewayConfig.validate(ini)
}

/// The single error message a config produces (fails the test if it loads or gives several).
private func error(_ text: String, env: [String: String] = [:]) -> String {
    do {
        _ = try parse(text, env: env)
        Issue.record("configuration was accepted")
    } catch let e as ConfigErrors {
        #expect(e.errors.count == 1, "\(e.errors)")
        return e.errors.first?.description ?? ""
    } catch {
        return "\(error)"
    }
    return ""
}

@Suite struct ConfigParsingTests {
    @Test func manualMainSectionLoads() throws {
        let config = try parse("""
            [kych-oauth2-gateway]
            # Server binding - choose either TCP or Unix socket (not both)
            #HOST = 127.0.0.1
            #PORT = 8080
            UNIXPATH = /run/kych/kych.sock
            UNIXPATH_MODE = 666
            DATABASE = postgres://kych:password@localhost/kych
            NONCE_BYTES = 32
            TOKEN_BYTES = 32
            AUTH_CODE_BYTES = 32
            AUTH_CODE_TTL_MINUTES = 10
            #ALLOWED_SCOPES = {family_name, given_name, birth_date}
            VC_TYPE = betaid-sdjwt
            VC_FORMAT = vc+sd-jwt
            VC_ALGORITHMS = {ES256}
            VC_CLAIMS = {family_name, given_name, birth_date, age_over_18}

            \(manualClientSection)
            """)
        #expect(config.binding == .unix(path: "/run/kych/kych.sock", mode: 0o666))
        #expect(config.database == "postgres://kych:password@localhost/kych")
        #expect(config.nonceBytes == 32 && config.tokenBytes == 32 && config.authCodeBytes == 32)
        #expect(config.authCodeTTLMinutes == 10)
        #expect(config.allowedScopes == nil)
        #expect(config.vcType == "betaid-sdjwt" && config.vcFormat == "vc+sd-jwt" && config.vcAlgorithms == ["ES256"])
        #expect(config.vcClaims == ["family_name", "given_name", "birth_date", "age_over_18"])
        #expect(config.grantableScopes == config.vcClaims)
        #expect(config.warnings.isEmpty)
        let client = try #require(config.clients.first)
        #expect(client.clientID == "exchange_production")
        #expect(client.clientSecret == "secret-token:your-secure-secret-here")
        #expect(client.verifierURL == "https://swiyu-verifier.example.com")
        #expect(client.verifierManagementAPIPath == "/management/api/verifications")
        #expect(client.redirectURI == "https://exchange.example.com/kyc/kych-redirect")
        #expect(client.acceptedIssuerDIDs == ["did:tdw:trusted_issuer_1", "did:tdw:trusted_issuer_2"])
        #expect(client.verifierQuery == .dcql && client.failureError == .accessDenied && client.defaultScope == nil)
    }

    @Test func defaultsApplyWhenKeysAreAbsent() throws {
        let config = try parse(base)
        #expect(config.binding == .tcp(host: "127.0.0.1", port: 8080))
        #expect(config.nonceBytes == 32 && config.authCodeTTLMinutes == 10 && config.sessionTTLMinutes == 15)
        #expect(config.accessTokenTTLSeconds == 3600)
        #expect(config.vcClaims == GatewayConfig.betaIDClaims)
    }

    @Test func commentsCaseAndValuesWithSpecialCharacters() throws {
        let config = try parse("""
            ; a semicolon comment
            [KYCH-OAUTH2-GATEWAY]
            host = 127.0.0.1
            Port = 8080
            database = "postgres://u:p=q@h:5432/db?sslmode=disable"
            VC_CLAIMS = {given_name,family_name , age_over_18}
            ALLOWED_SCOPES = {age_over_18}
            [Client_A]
            client_id = a
            CLIENT_SECRET = secret-token:with:colons=and=equals
            VERIFIER_URL = http://127.0.0.1:9000
            REDIRECT_URI = https://x.example/cb?a=1&b=two words
            """)
        #expect(config.database == "postgres://u:p=q@h:5432/db?sslmode=disable")
        #expect(config.vcClaims == ["given_name", "family_name", "age_over_18"])
        #expect(config.grantableScopes == ["age_over_18"])
        #expect(config.clients.first?.clientSecret == "secret-token:with:colons=and=equals")
    }

    @Test func environmentExpansion() throws {
        let env = ["KYCH_DB": "postgres://kych@db/kych", "SECRET": "secret-token:abc-0123456789abcdefghijklmn"]
        let config = try parse("""
            [kych-oauth2-gateway]
            UNIXPATH = ${RUNDIR:-/run/kych}/kych.sock
            DATABASE = $KYCH_DB
            [client_x]
            CLIENT_ID = x
            CLIENT_SECRET = ${SECRET}
            VERIFIER_URL = https://v.example
            REDIRECT_URI = https://c.example/cb?cost=$$5
            """, env: env)
        #expect(config.database == "postgres://kych@db/kych")
        #expect(config.binding == .unix(path: "/run/kych/kych.sock", mode: 0o666))
        #expect(config.clients.first?.clientSecret == "secret-token:abc-0123456789abcdefghijklmn")
        #expect(config.clients.first?.redirectURI == "https://c.example/cb?cost=$5")
        #expect(error(base + "\nTOKEN_BYTES = ${MISSING}") == "/etc/kych/kych.conf:5: [kych-oauth2-gateway] TOKEN_BYTES: environment variable MISSING is not set")
    }

    @Test func bindingErrors() {
        #expect(error(base + "\nUNIXPATH = /run/kych.sock") ==
            "/etc/kych/kych.conf:5: [kych-oauth2-gateway] UNIXPATH: both TCP (HOST/PORT) and Unix socket (UNIXPATH) binding are set; choose one")
        #expect(error("[kych-oauth2-gateway]\nDATABASE = postgres://x@y/z") ==
            "/etc/kych/kych.conf:1: [kych-oauth2-gateway]: no server binding: set HOST and PORT, or UNIXPATH")
        #expect(error(base.replacingOccurrences(of: "PORT = 8080", with: "PORT = 80a")) ==
            "/etc/kych/kych.conf:3: [kych-oauth2-gateway] PORT: \"80a\" is not a port number (1-65535)")
        #expect(error(base.replacingOccurrences(of: "PORT = 8080", with: "PORT = 70000")).contains("is not a port number"))
        #expect(error("[kych-oauth2-gateway]\nUNIXPATH = /run/k.sock\nUNIXPATH_MODE = 689\nDATABASE = postgres://x@y/z") ==
            "/etc/kych/kych.conf:3: [kych-oauth2-gateway] UNIXPATH_MODE: \"689\" is not an octal permission mode (e.g. 660)")
        #expect(error("[kych-oauth2-gateway]\nUNIXPATH = /run/k.sock\nUNIXPATH_MODE = 1777\nDATABASE = postgres://x@y/z")
            .contains("is not an octal permission mode"))
    }

    @Test func byteCountsAndNumbers() {
        #expect(error(base + "\nNONCE_BYTES = 8") == "/etc/kych/kych.conf:5: [kych-oauth2-gateway] NONCE_BYTES: must be at least 16 bytes (got 8)")
        #expect(error(base + "\nTOKEN_BYTES = 15") == "/etc/kych/kych.conf:5: [kych-oauth2-gateway] TOKEN_BYTES: must be at least 16 bytes (got 15)")
        #expect(error(base + "\nAUTH_CODE_BYTES = 0") == "/etc/kych/kych.conf:5: [kych-oauth2-gateway] AUTH_CODE_BYTES: must be at least 16 bytes (got 0)")
        #expect(error(base + "\nAUTH_CODE_TTL_MINUTES = ten") == "/etc/kych/kych.conf:5: [kych-oauth2-gateway] AUTH_CODE_TTL_MINUTES: \"ten\" is not a whole number")
    }

    @Test func databaseIsRequired() {
        #expect(error("[kych-oauth2-gateway]\nHOST = 127.0.0.1\nPORT = 1") ==
            "/etc/kych/kych.conf:1: [kych-oauth2-gateway] DATABASE: DATABASE is required (e.g. postgres://kych@localhost/kych)")
        #expect(error("") == "/etc/kych/kych.conf: [kych-oauth2-gateway]: section is missing")
    }

    @Test func scopesMustBeClaims() {
        #expect(error(base + "\nVC_CLAIMS = {given_name}\nALLOWED_SCOPES = {given_name, portrait}") ==
            "/etc/kych/kych.conf:6: [kych-oauth2-gateway] ALLOWED_SCOPES: scope \"portrait\" is not in VC_CLAIMS")
    }

    @Test func unknownSectionsAndKeysWarn() throws {
        let config = try parse(base + "\nCOLOUR = blue\n[mystery]\nX = 1")
        #expect(config.warnings.map(\.description) == [
            "/etc/kych/kych.conf:5: [kych-oauth2-gateway] COLOUR: unknown option (ignored)",
            "/etc/kych/kych.conf:6: [mystery]: unknown section (ignored)",
        ])
    }

    @Test func syntaxErrors() {
        #expect(error("[kych-oauth2-gateway\nHOST=1") == "/etc/kych/kych.conf:1: malformed section header [kych-oauth2-gateway")
        #expect(error("HOST = 1") == "/etc/kych/kych.conf:1: HOST: option outside of any [section]")
        #expect(error("[kych-oauth2-gateway]\njust words") ==
            "/etc/kych/kych.conf:2: [kych-oauth2-gateway]: expected KEY = VALUE, a [section] header or a comment")
        #expect(error("[kych-oauth2-gateway]\nHOST = ${unterminated") ==
            "/etc/kych/kych.conf:2: [kych-oauth2-gateway] HOST: unterminated ${...} in value")
    }

    @Test func missingFileIsAClearError() {
        #expect(throws: ConfigErrors.self) { try GatewayConfig.load(path: "/nonexistent/kych.conf") }
        do { _ = try GatewayConfig.load(path: "/nonexistent/kych.conf") } catch {
            #expect(error.description == "/nonexistent/kych.conf: cannot read the configuration file (missing or not readable)")
        }
    }
}

@Suite struct ClientSectionTests {
    private let client = """

        [client_exchange]
        CLIENT_ID = exchange_production
        CLIENT_SECRET = secret-token:s3cret-0123456789abcdefghijklm
        VERIFIER_URL = https://swiyu-verifier.example.com
        REDIRECT_URI = https://exchange.example.com/kyc-proof/swiyu
        """

    @Test func missingRequiredKeys() {
        for key in ["CLIENT_ID", "CLIENT_SECRET", "VERIFIER_URL", "REDIRECT_URI"] {
            let text = base + "\n" + client.split(separator: "\n").filter { !$0.hasPrefix(key) }.joined(separator: "\n")
            #expect(error(text) == "/etc/kych/kych.conf:5: [client_exchange] \(key): \(key) is required")
        }
    }

    /// Issue 12, finding 1: a registered secret has 32 to 72 bytes (before, any length up to 72 loaded).
    @Test func aSecretHas32To72Bytes() throws {
        let line = "CLIENT_SECRET = secret-token:s3cret-0123456789abcdefghijklm"
        func with(_ secret: String) -> String { base + client.replacingOccurrences(of: line, with: "CLIENT_SECRET = \(secret)") }
        #expect(error(with("secret-token:s3cret-0123456789a")) == "/etc/kych/kych.conf:7: [client_exchange] CLIENT_SECRET: "
                + "is shorter than 32 bytes (got 31); use e.g. secret-token:$(openssl rand -hex 24)")
        #expect(try parse(with("secret-token:s3cret-0123456789ab")).clients.first?.clientSecret?.utf8.count == 32)
        #expect(try parse(with(String(repeating: "x", count: 72))).clients.count == 1)
        #expect(error(with(String(repeating: "x", count: 73))) == "/etc/kych/kych.conf:7: [client_exchange] CLIENT_SECRET: "
                + "is longer than 72 bytes (got 73); bcrypt would ignore the rest: use a shorter secret")
    }

    /// An https entry of ACCEPTED_ISSUER_DIDS (a KyCH whose attestations are accepted) is compared exactly with their `iss`.
    @Test func anAcceptedHTTPSIssuerIsABaseURL() throws {
        func with(_ issuers: String) -> String { base + client + "\nACCEPTED_ISSUER_DIDS = {\(issuers)}" }
        #expect(try parse(with("did:tdw:a, https://kych-a.example.com, https://kych.example.com/tenant, http://127.0.0.1:8080"))
            .clients.first?.acceptedIssuerDIDs.count == 4)
        for bad in ["https://kych-a.example.com/", "http://kych-a.example.com", "https://kych-a.example.com?x", "HTTPS://kych-a.example.com"] {
            #expect(error(with(bad)) == "/etc/kych/kych.conf:10: [client_exchange] ACCEPTED_ISSUER_DIDS: \"\(bad)\" is not an https issuer "
                    + "identifier (a KyCH BASE_URL: https://host[/path], lower-case scheme, no trailing slash, query or fragment; plain http only on loopback hosts)")
        }
    }

    @Test func duplicateClientID() {
        let second = client.replacingOccurrences(of: "[client_exchange]", with: "[client_other]")
        #expect(error(base + "\n" + client + "\n" + second) ==
            "/etc/kych/kych.conf:13: [client_other] CLIENT_ID: duplicate CLIENT_ID \"exchange_production\" (also in [client_exchange])")
    }

    @Test func redirectURIMustBeAbsolute() {
        let bad = client.replacingOccurrences(of: "https://exchange.example.com/kyc-proof/swiyu", with: "/kyc-proof/swiyu")
        #expect(error(base + bad) == "/etc/kych/kych.conf:9: [client_exchange] REDIRECT_URI: \"/kyc-proof/swiyu\" is not an absolute http(s) URL")
        let fragment = client.replacingOccurrences(of: "kyc-proof/swiyu", with: "kyc-proof/swiyu#x")
        #expect(error(base + fragment).hasSuffix("must not contain a fragment"))
        let http = client.replacingOccurrences(of: "https://exchange.example.com", with: "http://exchange.example.com")
        #expect(error(base + http).hasSuffix("must use https (plain http only for localhost, 127.0.0.1 or [::1])"))
        for loopback in ["http://127.0.0.1:8081/cb", "http://localhost/cb", "http://[::1]:9/cb"] {
            #expect(ClientRules.redirectURIProblem(loopback) == nil, "\(loopback)")
        }
    }

    /// `127.` starts loopback addresses, but `127.evil.example` is anyone's host name: one rule (four numeric octets).
    @Test func loopbackRedirectURIsNeedALoopbackAddress() throws {
        let evil = client.replacingOccurrences(of: "https://exchange.example.com/kyc-proof/swiyu", with: "http://127.evil.example/cb")
        #expect(error(base + evil) == "/etc/kych/kych.conf:9: [client_exchange] REDIRECT_URI: \"http://127.evil.example/cb\" must use https "
            + "(plain http only for localhost, 127.0.0.1 or [::1])")
        for loopback in ["http://127.0.0.1:9/cb", "http://[::1]/cb", "http://localhost/cb"] {
            let config = try parse(base + client.replacingOccurrences(of: "https://exchange.example.com/kyc-proof/swiyu", with: loopback))
            #expect(config.clients.first?.redirectURI == loopback)
        }
        #expect(LoopbackHost.contains("127.1.2.3") && LoopbackHost.contains("[::1]"))
        #expect(!LoopbackHost.contains("127.0.0.1.example") && !LoopbackHost.contains("127.1") && !LoopbackHost.contains(nil))
    }

    /// A header name outside RFC 9110's token characters would make the client's webhooks unanswerable.
    @Test func webhookHeaderNamesAreHTTPTokens() throws {
        for name in ["X Api Key", "X-Api-Key:", "Schlüssel", "X(Key)"] {
            #expect(error(base + client + "\nWEBHOOK_API_KEY_HEADER = \(name)\nWEBHOOK_API_KEY_VALUE = k")
                == "/etc/kych/kych.conf:10: [client_exchange] WEBHOOK_API_KEY_HEADER: \"\(name)\" is not an HTTP header name "
                + "(letters, digits and !#$%&'*+-.^_`|~ only)")
        }
        let token = "X-Api_Key.1!#$%&'*+^`|~"
        let config = try parse(base + client + "\nWEBHOOK_API_KEY_HEADER = \(token)\nWEBHOOK_API_KEY_VALUE = k")
        #expect(config.clients.first?.webhookAPIKeyHeader == token)
    }

    @Test func otherClientRules() {
        #expect(error(base + client.replacingOccurrences(of: "https://swiyu-verifier.example.com", with: "swiyu"))
            == "/etc/kych/kych.conf:8: [client_exchange] VERIFIER_URL: \"swiyu\" is not an absolute http(s) URL")
        #expect(error(base + client.replacingOccurrences(of: "exchange_production", with: "exchange production"))
            == "/etc/kych/kych.conf:6: [client_exchange] CLIENT_ID: \"exchange production\" may contain only A-Z a-z 0-9 - . _ ~")
        #expect(error(base + client + "\nVERIFIER_QUERY = sql")
            == "/etc/kych/kych.conf:10: [client_exchange] VERIFIER_QUERY: \"sql\" is not one of dcql, presentation_definition")
        #expect(error(base + client + "\nFAILURE_ERROR = nope")
            == "/etc/kych/kych.conf:10: [client_exchange] FAILURE_ERROR: \"nope\" is not one of access_denied, unauthorized_client")
        #expect(error(base + client + "\nWEBHOOK_API_KEY_HEADER = x-api-key")
            == "/etc/kych/kych.conf:10: [client_exchange] WEBHOOK_API_KEY_HEADER: WEBHOOK_API_KEY_HEADER and WEBHOOK_API_KEY_VALUE must be set together")
        #expect(error(base + "\nVC_CLAIMS = {given_name}" + client + "\nDEFAULT_SCOPE = {birth_date}")
            == "/etc/kych/kych.conf:11: [client_exchange] DEFAULT_SCOPE: scope \"birth_date\" is not in ALLOWED_SCOPES/VC_CLAIMS")
    }

    @Test func optionalClientKeys() throws {
        let config = try parse(base + client + """

            DEFAULT_SCOPE = {given_name, family_name}
            VERIFIER_QUERY = presentation_definition
            VERIFIER_BEARER_TOKEN = tok
            FAILURE_ERROR = unauthorized_client
            WEBHOOK_API_KEY_HEADER = x-api-key
            WEBHOOK_API_KEY_VALUE = k
            """)
        let c = try #require(config.clients.first)
        #expect(c.defaultScope == ["given_name", "family_name"])
        #expect(c.verifierQuery == .presentationDefinition && c.verifierBearerToken == "tok")
        #expect(c.failureError == .unauthorizedClient && c.webhookAPIKeyHeader == "x-api-key" && c.webhookAPIKeyValue == "k")
    }
}

/// `BASE_URL`: the gateway's public base URL and OAuth issuer identifier.
@Suite struct BaseURLTests {
    private let unix = "[kych-oauth2-gateway]\nUNIXPATH = /run/kych/kych.sock\nDATABASE = postgres://x@y/z"

    @Test func defaultsToTheBindingOnlyOnLoopback() throws {
        #expect(try parse(base).baseURL == "http://127.0.0.1:8080")
        #expect(try parse(base.replacingOccurrences(of: "127.0.0.1", with: "::1")).baseURL == "http://[::1]:8080")
        #expect(try parse(base.replacingOccurrences(of: "127.0.0.1", with: "localhost")).baseURL == "http://localhost:8080")
        #expect(try parse(base.replacingOccurrences(of: "127.0.0.1", with: "0.0.0.0")).baseURL == nil)
        #expect(try parse(base.replacingOccurrences(of: "127.0.0.1", with: "127.evil.example")).baseURL == nil)
        #expect(try parse(unix).baseURL == nil)
    }

    @Test func validValuesLoseTheirTrailingSlash() throws {
        #expect(try parse(unix + "\nBASE_URL = https://kych.example.com/").baseURL == "https://kych.example.com")
        #expect(try parse(unix + "\nBASE_URL = https://kych.example.com/oauth//").baseURL == "https://kych.example.com/oauth")
        #expect(try parse(base + "\nBASE_URL = http://[::1]:9000").baseURL == "http://[::1]:9000")
        #expect(try parse(base + "\nBASE_URL = https://kych.example.com").baseURL == "https://kych.example.com", "set beats the default")
    }

    @Test func theGatewayWarnsWithoutOne() async throws {
        let check = try await Run.program("kych-oauth2-gateway", ["-c", try temporaryFile(unix), "--check-config"])
        #expect(check.status == 0 && check.stderr.contains("warning: BASE_URL is not set"), "\(check.stderr)")
        let set = try await Run.program("kych-oauth2-gateway", ["-c", try temporaryFile(unix + "\nBASE_URL = https://kych.example.com"), "--check-config"])
        #expect(set.status == 0 && !set.stderr.contains("BASE_URL"), "\(set.stderr)")
    }

    @Test func invalidValuesAreRefused() {
        for value in ["http://kych.example.com", "http://127.evil.example", "https://kych.example.com/?a=1", "https://kych.example.com/#top",
                      "kych.example.com", "/oauth", "ftp://kych.example.com"] {
            #expect(error(base + "\nBASE_URL = \(value)") == "/etc/kych/kych.conf:5: [kych-oauth2-gateway] BASE_URL: must be an https URL "
                + "(plain http only for loopback hosts) without query or fragment", "\(value)")
        }
    }
}

/// `KEY_ENCRYPTION_SECRET`: optional, at least 32 bytes, usually from the environment; never echoed in errors.
@Suite struct KeyEncryptionSecretTests {
    @Test func optionalAndReadFromTheEnvironment() throws {
        #expect(try parse(base).keyEncryptionSecret == nil)
        let secret = String(repeating: "k", count: 32)
        #expect(try parse(base + "\nKEY_ENCRYPTION_SECRET = ${KYCH_KEY_SECRET}", env: ["KYCH_KEY_SECRET": secret]).keyEncryptionSecret == secret)
    }

    @Test func shorterThan32BytesIsRefusedWithoutShowingIt() {
        for value in ["", "short-secret", String(repeating: "k", count: 31)] {
            #expect(error(base + "\nKEY_ENCRYPTION_SECRET = \(value)")
                == "/etc/kych/kych.conf:5: [kych-oauth2-gateway] KEY_ENCRYPTION_SECRET: must be at least 32 bytes (got \(value.utf8.count))")
        }
        #expect(!error(base + "\nKEY_ENCRYPTION_SECRET = short-secret").contains("short-secret"))
    }
}

/// The gateway's one parsed configuration carries the `[kych-verifier]` section of the same file.
@Suite struct GatewayVerifierSectionTests {
    private let verifier = "\n[kych-verifier]\nEMBEDDED = yes\nMANAGEMENT_BEARER_TOKEN = t\nEXTERNAL_URL = http://127.0.0.1:8080/\n"
        + "SIGNING_KEY_FILE = /var/lib/kych/verifier.pem"

    @Test func isValidatedInTheSamePass() throws {
        let config = try parse(base + verifier + "\nCOLOUR = blue")
        #expect(config.verifier?.embedded == true && config.verifier?.externalURL == "http://127.0.0.1:8080")
        #expect(config.warnings.map(\.description) == ["/etc/kych/kych.conf:10: [kych-verifier] COLOUR: unknown option (ignored)"])
        #expect(try parse(base).verifier == nil)
        #expect(error(base + verifier + "\nVERIFICATION_TTL_SEC = soon")
            == "/etc/kych/kych.conf:10: [kych-verifier] VERIFICATION_TTL_SEC: \"soon\" is not a whole number")
    }
}

@Suite struct DatabaseURLTests {
    @Test func tcpWithCredentials() throws {
        let url = try DatabaseURL(parsing: "postgres://kych:p%40ss@db.example:6543/kych")
        #expect(url.endpoint == .tcp(host: "db.example", port: 6543))
        #expect(url.username == "kych" && url.password == "p@ss" && url.database == "kych")
        #expect(url.redacted == "postgres://kych@db.example:6543/kych")
    }

    @Test func defaultsAndSockets() throws {
        #expect(try DatabaseURL(parsing: "postgres://kych:password@localhost/kych").endpoint == .tcp(host: "localhost", port: 5432))
        #expect(try DatabaseURL(parsing: "postgresql:///kych?host=/tmp/pg").endpoint == .unixSocket(path: "/tmp/pg/.s.PGSQL.5432"))
        #expect(try DatabaseURL(parsing: "postgres://%2Fvar%2Frun%2Fpostgresql:5433/kych").endpoint
            == .unixSocket(path: "/var/run/postgresql/.s.PGSQL.5433"))
        #expect(try DatabaseURL(parsing: "postgres://a@h/d?sslmode=require").requireTLS)
    }

    @Test func rejectsOtherSchemes() {
        #expect(throws: DatabaseURLError.self) { try DatabaseURL(parsing: "mysql://x@y/z") }
        #expect(throws: DatabaseURLError.self) { try DatabaseURL(parsing: "not a url") }
    }
}

@Suite struct ShippedConfigTests {
    /// contrib/kych.conf documents every key and loads as shipped.
    @Test func exampleConfigLoads() throws {
        let path = TestEnvironment.packageRoot.appendingPathComponent("contrib/kych.conf").path
        let config = try GatewayConfig.load(path: path, environment: ["KYCH_EXCHANGE_SECRET": "secret-token:shipped-config-test-secret"])
        #expect(config.warnings.isEmpty, "\(config.warnings)")
        #expect(config.binding == .unix(path: "/run/kych/kych.sock", mode: 0o660))
        #expect(config.clients.map(\.clientID) == ["exchange_production"])
        #expect(config.clients.first?.failureError == .unauthorizedClient)
        let text = try String(contentsOfFile: path, encoding: .utf8).uppercased()
        for key in ["HOST", "PORT", "UNIXPATH", "UNIXPATH_MODE", "DATABASE", "NONCE_BYTES", "TOKEN_BYTES", "AUTH_CODE_BYTES",
                    "AUTH_CODE_TTL_MINUTES", "SESSION_TTL_MINUTES", "ACCESS_TOKEN_TTL_SECONDS", "ALLOWED_SCOPES", "VC_TYPE",
                    "VC_FORMAT", "VC_ALGORITHMS", "VC_CLAIMS", "DEMO_WALLET", "BASE_URL", "KEY_ENCRYPTION_SECRET", "CLIENT_AUTH_FAILURES_PER_CLIENT",
                    "CLIENT_AUTH_FAILURES_PER_ADDRESS", "CLIENT_ID", "CLIENT_SECRET", "VERIFIER_URL",
                    "VERIFIER_MANAGEMENT_API_PATH", "REDIRECT_URI", "ACCEPTED_ISSUER_DIDS", "DEFAULT_SCOPE", "VERIFIER_QUERY",
                    "VERIFIER_BEARER_TOKEN", "FAILURE_ERROR", "WEBHOOK_API_KEY_HEADER", "WEBHOOK_API_KEY_VALUE", "ID_TOKEN_SIGNING_ALG",
                    "CLIENT_TYPE", "REDIRECT_URIS", "CLIENT_NAME", "REQUIRE_PKCE", "ID_TOKEN_CLAIMS", "ACCESS_TOKEN_FORMAT",
                    "ALLOW_AUTHORIZE_WITHOUT_SETUP", "AUTHORIZE_WITHOUT_SETUP_PER_ADDRESS", "AUTHORIZE_WITHOUT_SETUP_PER_CLIENT",
                    "AUTHORIZE_WITHOUT_SETUP_MAX_PENDING", "AUTHORIZE_WITHOUT_SETUP_IDLE_MINUTES", "REQUEST_TIMEOUT_SECONDS",
                    "METRICS_HOST", "METRICS_PORT", "METRICS_UNIXPATH", "METRICS_UNIXPATH_MODE", "LOG_FORMAT",
                    "CLAIMS_RETENTION_MINUTES", "JWKS", "JWKS_URI", "TOKEN_ENDPOINT_AUTH_METHOD", "REQUIRE_DPOP", "REQUIRE_DPOP_NONCE",
                    "REQUIRE_SIGNED_REQUEST_OBJECT", "REQUIRE_PUSHED_AUTHORIZATION_REQUESTS", "PROFILE", "DPOP_PROOF_LIFETIME_SECONDS",
                    "PUSHED_AUTHORIZATION_REQUEST_TTL_SECONDS", "ATTESTATION_OFFER_CLIENTS"] {
            #expect(text.contains("\n\(key) =") || text.contains("#\(key) ="), "contrib/kych.conf lacks \(key)")
        }
    }

    /// No well-known secret (issue 12, finding 9): without the environment variable the shipped file does not load,
    /// and a placeholder secret is refused wherever it comes from.
    @Test func noDefaultOrPlaceholderSecret() throws {
        let path = TestEnvironment.packageRoot.appendingPathComponent("contrib/kych.conf").path
        let unset = #expect(throws: ConfigErrors.self) { try GatewayConfig.load(path: path, environment: [:]) }
        #expect(unset?.errors.contains { $0.description.contains("KYCH_EXCHANGE_SECRET") && $0.description.contains("CLIENT_SECRET") } == true,
                "\(unset?.errors ?? [])")
        let placeholder = #expect(throws: ConfigErrors.self) {
            try GatewayConfig.load(path: path, environment: ["KYCH_EXCHANGE_SECRET": "secret-token:change-me"])
        }
        #expect(placeholder?.errors.map(\.description).contains { $0.hasSuffix("CLIENT_SECRET: is a placeholder; set a real secret (e.g. CLIENT_SECRET = ${KYCH_EXCHANGE_SECRET} from the environment)") } == true)
        #expect(ClientRules.secretProblem("secret-token:CHANGEME-please") != nil && ClientRules.secretProblem("secret-token:x7Q-0123456789abcdefghijklmn") == nil)
    }
}

/// The client keys of OAuth 2.1 / OpenID Connect: CLIENT_TYPE, REDIRECT_URIS, CLIENT_NAME, REQUIRE_PKCE.
@Suite struct ClientOAuth21KeysTests {
    private let app = """

        [client_app]
        CLIENT_ID = app
        CLIENT_TYPE = public
        VERIFIER_URL = https://swiyu-verifier.example.com
        REDIRECT_URIS = {com.example.app:/cb, http://127.0.0.1/cb, https://app.example/cb}
        CLIENT_NAME = Example App
        """

    @Test func aPublicClientHasNoSecretAndMayUseAppRedirects() throws {
        let client = try #require(try parse(base + app).clients.first)
        #expect(client.clientSecret == nil && client.clientName == "Example App" && !client.requirePKCE)
        #expect(client.redirectURI == "com.example.app:/cb" && client.additionalRedirectURIs == ["http://127.0.0.1/cb", "https://app.example/cb"])
        #expect(error(base + app + "\nCLIENT_SECRET = secret-token:x")
                == "/etc/kych/kych.conf:11: [client_app] CLIENT_SECRET: a public client (CLIENT_TYPE = public) has no secret; it authenticates with PKCE")
        let native = """

            [client_app]
            CLIENT_ID = app
            CLIENT_TYPE = native
            CLIENT_SECRET = secret-token:native-0123456789abcdefghijk
            VERIFIER_URL = https://swiyu-verifier.example.com
            REDIRECT_URI = https://app.example/cb
            """
        #expect(error(base + native).hasSuffix("CLIENT_TYPE: \"native\" is not one of confidential, public"))
        #expect(error(base + app.replacingOccurrences(of: "com.example.app:/cb", with: "myapp:/cb")).hasSuffix("must contain a period (reverse domain name, RFC 8252 §7.1)"))
        #expect(error(base + app.replacingOccurrences(of: "REDIRECT_URIS = {", with: "REDIRECT_URIS = {}\n#{"))
                .hasSuffix("REDIRECT_URIS: must list at least one redirect URI"))
    }

    @Test func aConfidentialClientKeepsHTTPSRedirectsAndMayRequirePKCE() throws {
        let confidential = """

            [client_exchange]
            CLIENT_ID = exchange
            CLIENT_SECRET = secret-token:s3cret-0123456789abcdefghijklm
            VERIFIER_URL = https://swiyu-verifier.example.com
            REDIRECT_URI = https://exchange.example.com/cb
            REDIRECT_URIS = {https://exchange.example.com/cb2}
            REQUIRE_PKCE = yes
            """
        let client = try #require(try parse(base + confidential).clients.first)
        #expect(client.requirePKCE && client.redirectURI == "https://exchange.example.com/cb" && client.additionalRedirectURIs == ["https://exchange.example.com/cb2"])
        #expect(error(base + confidential.replacingOccurrences(of: "{https://exchange.example.com/cb2}", with: "{com.example.app:/cb}"))
                .hasSuffix("\"com.example.app:/cb\" is not an absolute http(s) URL"))
        #expect(error(base + confidential.replacingOccurrences(of: "REQUIRE_PKCE = yes", with: "REQUIRE_PKCE = maybe"))
                .hasSuffix("REQUIRE_PKCE: \"maybe\" is not yes or no"))
        #expect(error(base + confidential.replacingOccurrences(of: "CLIENT_SECRET = secret-token:s3cret-0123456789abcdefghijklm\n", with: ""))
                .hasSuffix("CLIENT_SECRET: CLIENT_SECRET is required"))
    }
}

@Suite struct AccessTokenFormatConfigTests {
    @Test func jwtAccessTokensNeedABaseURLAndLifetimesAreBounded() throws {
        let client = """

            [client_exchange]
            CLIENT_ID = exchange
            CLIENT_SECRET = secret-token:s3cret-0123456789abcdefghijklm
            VERIFIER_URL = https://swiyu-verifier.example.com
            REDIRECT_URI = https://exchange.example.com/cb
            ACCESS_TOKEN_FORMAT = jwt
            ACCESS_TOKEN_TTL_SECONDS = 600
            """
        let parsed = try #require(try parse(base + client).clients.first)   // base binds to a loopback host: BASE_URL defaults
        #expect(parsed.accessTokenFormat == .jwt && parsed.accessTokenTTLSeconds == 600)
        let socket = base.replacingOccurrences(of: "HOST = 127.0.0.1\nPORT = 8080", with: "UNIXPATH = /run/kych/kych.sock")
        try #require(socket != base, "the base configuration binds differently than this test assumes")
        #expect(error(socket + client).hasSuffix("ACCESS_TOKEN_FORMAT: jwt access tokens need BASE_URL (their issuer)"))
        #expect(error(base + client.replacingOccurrences(of: "= jwt", with: "= paseto")).hasSuffix("\"paseto\" is not one of opaque, jwt"))
        #expect(error(base + client.replacingOccurrences(of: "= 600", with: "= 5")).hasSuffix("must be at least 60 seconds (got 5)"))
    }
}

@Suite struct VerifierURLRuleTests {
    @Test func verifierURLsUseHTTPSExceptOnLoopback() throws {
        let client = """

            [client_exchange]
            CLIENT_ID = exchange
            CLIENT_SECRET = secret-token:s3cret-0123456789abcdefghijklm
            VERIFIER_URL = http://verifier.internal:8080
            REDIRECT_URI = https://exchange.example.com/cb
            """
        #expect(error(base + client).hasSuffix("\"http://verifier.internal:8080\" must use https (the verifier's bearer token and the claims travel over it; plain http only on loopback)"))
        for ok in ["https://verifier.internal:8443", "http://127.0.0.1:8080", "http://localhost/"] {
            #expect(try parse(base + client.replacingOccurrences(of: "http://verifier.internal:8080", with: ok)).clients.first?.verifierURL == ok)
        }
    }
}

/// Issue 12, findings 6 and 15: `REQUEST_TIMEOUT_SECONDS`, and the warnings where the OAuth security guidance is
/// stricter than the manual's defaults (which stay).
@Suite struct HardeningConfigTests {
    private let unix = "[kych-oauth2-gateway]\nUNIXPATH = /run/kych/kych.sock\nDATABASE = postgres://x@y/z"

    @Test func requestTimeoutDefaultsTo30Seconds() throws {
        #expect(try parse(base).requestTimeout == .seconds(30))
        #expect(try parse(base + "\nREQUEST_TIMEOUT_SECONDS = 5").requestTimeout == .seconds(5))
        #expect(try parse(base).claimsRetentionMinutes == 0)
        #expect(try parse(base + "\nCLAIMS_RETENTION_MINUTES = 60").claimsRetentionMinutes == 60)
        #expect(error(base + "\nCLAIMS_RETENTION_MINUTES = -1")
            == "/etc/kych/kych.conf:5: [kych-oauth2-gateway] CLAIMS_RETENTION_MINUTES: must be 0 (erase on delivery) or more minutes (got -1)")
        #expect(try parse(base).dpopProofLifetimeSeconds == 60)
        #expect(try parse(base + "\nDPOP_PROOF_LIFETIME_SECONDS = 30").dpopProofLifetimeSeconds == 30)
        #expect(error(base + "\nDPOP_PROOF_LIFETIME_SECONDS = 1")
            == "/etc/kych/kych.conf:5: [kych-oauth2-gateway] DPOP_PROOF_LIFETIME_SECONDS: must be at least 5 seconds (got 1)")
        let pushed = try parse(base + "\nREQUIRE_PUSHED_AUTHORIZATION_REQUESTS = yes\nPUSHED_AUTHORIZATION_REQUEST_TTL_SECONDS = 10")
        #expect(pushed.requirePushedAuthorizationRequests && pushed.pushedRequestTTLSeconds == 10)
        #expect(try parse(base).requirePushedAuthorizationRequests == false && parse(base).pushedRequestTTLSeconds == 60)
        #expect(error(base + "\nPUSHED_AUTHORIZATION_REQUEST_TTL_SECONDS = 601")
            == "/etc/kych/kych.conf:5: [kych-oauth2-gateway] PUSHED_AUTHORIZATION_REQUEST_TTL_SECONDS: must be at most 600 (got 601)")
        #expect(try parse(base).acceptedAttestationIssuers.isEmpty)
        #expect(try parse(base + "\nACCEPTED_ATTESTATION_ISSUERS = {https://kych-a.example.com, https://kych-b.example.com/t}")
            .acceptedAttestationIssuers == ["https://kych-a.example.com", "https://kych-b.example.com/t"])
        #expect(error(base + "\nACCEPTED_ATTESTATION_ISSUERS = {did:tdw:issuer}")
            == "/etc/kych/kych.conf:5: [kych-oauth2-gateway] ACCEPTED_ATTESTATION_ISSUERS: \"did:tdw:issuer\" is not a KyCH BASE_URL (https://host[/path])")
        #expect(error(base + "\nREQUEST_TIMEOUT_SECONDS = 0")
            == "/etc/kych/kych.conf:5: [kych-oauth2-gateway] REQUEST_TIMEOUT_SECONDS: must be at least 1 second (got 0)")
        let verifier = try VerifierConfig.validate(try IniFile.parse("""
            [kych-verifier]
            HOST = 127.0.0.1
            PORT = 8090
            DATABASE = sqlite::memory:
            EXTERNAL_URL = http://127.0.0.1:8090
            SIGNING_KEY_FILE = /tmp/verifier.pem
            REQUEST_TIMEOUT_SECONDS = 7
            """, path: "/etc/kych/kych.conf", environment: [:]))
        #expect(verifier.requestTimeout == .seconds(7) && verifier.warnings.isEmpty)
    }

    @Test func theManualsDefaultsGetSecurityAdvice() throws {
        let defaults = try parse(unix)
        #expect(defaults.authCodeTTLMinutes == 10 && defaults.binding == .unix(path: "/run/kych/kych.sock", mode: 0o666))
        let advice = defaults.securityAdvice
        #expect(advice.count == 2, "\(advice)")
        #expect(advice.first { $0.hasPrefix("AUTH_CODE_TTL_MINUTES = 10:") }?.contains("A maximum authorization code lifetime of 10 minutes is RECOMMENDED") == true)
        #expect(advice.contains { $0.hasPrefix("UNIXPATH_MODE = 666 lets every local user connect") })
        #expect(try parse(unix + "\nAUTH_CODE_TTL_MINUTES = 30").securityAdvice.first?.contains("more than RFC 6749's recommended maximum") == true)
        #expect(try parse(unix + "\nAUTH_CODE_TTL_MINUTES = 1\nUNIXPATH_MODE = 660").securityAdvice.isEmpty)
        #expect(try parse(base + "\nAUTH_CODE_TTL_MINUTES = 1").securityAdvice.isEmpty)
    }

    @Test func checkConfigWarnsAndStillAccepts() async throws {
        let check = try await Run.program("kych-oauth2-gateway", ["-c", try temporaryFile(unix + "\nBASE_URL = https://kych.example.com"), "--check-config"])
        #expect(check.status == 0 && check.stdout.contains("is valid"), "\(check.stderr)")
        #expect(check.stderr.contains("warning: AUTH_CODE_TTL_MINUTES = 10:") && check.stderr.contains("warning: UNIXPATH_MODE = 666"), "\(check.stderr)")
        let strict = try await Run.program("kych-oauth2-gateway", ["-c", try temporaryFile(unix + "\nBASE_URL = https://kych.example.com\nAUTH_CODE_TTL_MINUTES = 1\nUNIXPATH_MODE = 660\nKEY_ENCRYPTION_SECRET = 0123456789abcdef0123456789abcdef"), "--check-config"])
        #expect(strict.status == 0 && strict.stderr.isEmpty, "\(strict.stderr)")
        let verifier = try await Run.program("kych-verifier", ["-c", try temporaryFile("""
            [kych-verifier]
            UNIXPATH = /run/kych/verifier.sock
            MANAGEMENT_BEARER_TOKEN = token
            DATABASE = sqlite::memory:
            EXTERNAL_URL = https://verifier.example.com
            SIGNING_KEY_FILE = /tmp/verifier.pem
            """), "--check-config"])
        #expect(verifier.status == 0 && verifier.stderr.contains("warning: UNIXPATH_MODE = 666"), "\(verifier.stderr)")
    }
}

/// Issue 15's client keys: JWKS / JWKS_URI (no secret needed), TOKEN_ENDPOINT_AUTH_METHOD, the DPoP, PAR and JAR switches,
/// PROFILE; each inconsistency is an error naming its key.
@Suite struct ClientSecurityConfigTests {
    private static let jwk = #"{"kty": "EC", "crv": "P-256", "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU", "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}"#
    private let keysOnly = """

        [client_bank]
        CLIENT_ID = bank
        VERIFIER_URL = https://swiyu-verifier.example.com
        REDIRECT_URI = https://bank.example/cb
        JWKS = {"keys": [\(jwk)]}
        TOKEN_ENDPOINT_AUTH_METHOD = private_key_jwt
        REQUIRE_DPOP = yes
        REQUIRE_DPOP_NONCE = yes
        REQUIRE_SIGNED_REQUEST_OBJECT = yes
        REQUIRE_PUSHED_AUTHORIZATION_REQUESTS = yes
        PROFILE = fapi2
        """

    @Test func aClientWithKeysNeedsNoSecret() throws {
        let config = try #require(try parse(base + keysOnly).clients.first)
        let security = config.security
        #expect(config.clientSecret == nil && security.jwks?.contains("f83OJ3D2") == true && security.tokenEndpointAuthMethod == "private_key_jwt")
        #expect(security.requireDPoP && security.requireDPoPNonce && security.requireSignedRequestObject)
        #expect(security.requirePushedAuthorizationRequests && security.profile == .fapi2)
        let client = Client(config: config)
        #expect(!client.isPublic && client.requiresPKCE && client.requiresDPoP && client.authenticationMethods == ["private_key_jwt"])
        let byURL = keysOnly.replacingOccurrences(of: "JWKS = {\"keys\": [\(Self.jwk)]}", with: "JWKS_URI = https://bank.example/jwks.json")
        #expect(try #require(try parse(base + byURL).clients.first).security.jwksURI == "https://bank.example/jwks.json")
    }

    @Test func inconsistentSettingsAreRefusedByKey() {
        func with(_ old: String, _ new: String) -> String { base + keysOnly.replacingOccurrences(of: old, with: new) }
        let standard = keysOnly.replacingOccurrences(of: "PROFILE = fapi2", with: "PROFILE = standard")
        #expect(error(with("JWKS = {\"keys\": [\(Self.jwk)]}", "JWKS = {\"keys\": [{\"kty\": \"oct\", \"k\": \"c2VjcmV0\"}]}"))
                .hasSuffix("JWKS: holds a private key: register the public keys only"))
        #expect(error(with("JWKS = {\"keys\": [\(Self.jwk)]}", "JWKS = not json")).contains("JWKS: must be a JSON object"))
        #expect(error(with("JWKS = {\"keys\": [\(Self.jwk)]}", "JWKS_URI = http://bank.example/jwks.json"))
                .hasSuffix("must use https (plain http only on loopback)"))
        #expect(error(base + standard.replacingOccurrences(of: "= private_key_jwt", with: "= client_secret_basic"))
                .hasSuffix("client_secret_basic needs a CLIENT_SECRET"))
        #expect(error(base + standard.replacingOccurrences(of: "= private_key_jwt", with: "= tls_client_auth")).contains("\"tls_client_auth\" is not one of"))
        #expect(error(with("= private_key_jwt", "= client_secret_post").replacingOccurrences(
            of: "CLIENT_ID = bank", with: "CLIENT_ID = bank\nCLIENT_SECRET = secret-token:s3cret-0123456789abcdefghijklm"))
            .hasSuffix("TOKEN_ENDPOINT_AUTH_METHOD: a fapi2 client uses private_key_jwt"))
        #expect(error(with("PROFILE = fapi2", "PROFILE = fapi9")).hasSuffix("\"fapi9\" is not one of standard, fapi2"))
        #expect(error(with("REQUIRE_DPOP = yes", "REQUIRE_DPOP = perhaps")).hasSuffix("REQUIRE_DPOP: \"perhaps\" is not yes or no"))
        // Without keys the secret is required again, and FAPI 2.0 needs keys.
        let noKeys = base + keysOnly.replacingOccurrences(of: "JWKS = {\"keys\": [\(Self.jwk)]}\n", with: "")
            .replacingOccurrences(of: "TOKEN_ENDPOINT_AUTH_METHOD = private_key_jwt\n", with: "")
            .replacingOccurrences(of: "CLIENT_ID = bank", with: "CLIENT_ID = bank\nCLIENT_SECRET = secret-token:s3cret-0123456789abcdefghijklm")
        #expect(error(noKeys).hasSuffix("fapi2 clients authenticate with private_key_jwt: set JWKS or JWKS_URI"))
    }
}
