import Foundation

/// Which query language a verifier speaks: DCQL (swiyu 3.x/4.x) or DIF Presentation Exchange (2.x).
package enum VerifierQueryLanguage: String, Sendable, Equatable, CaseIterable {
    case dcql
    case presentationDefinition = "presentation_definition"

    /// Parses the config/CLI spelling; `pe` is accepted as an alias of `presentation_definition`.
    package init?(setting: String) {
        switch setting.lowercased() {
        case "dcql": self = .dcql
        case "presentation_definition", "pe": self = .presentationDefinition
        default: return nil
        }
    }
}

/// Limits on nonce-less `/authorize`: a standard OAuth request that anyone may send, each one starting a session and a
/// verification at the client's verifier. `/setup` (authenticated) is not limited by them.
package struct AuthorizeWithoutSetupLimits: Sendable, Equatable {
    /// `AUTHORIZE_WITHOUT_SETUP_PER_ADDRESS`: new sessions per minute from one source address (IPv6: one /64).
    package var perAddressPerMinute = 20
    /// `AUTHORIZE_WITHOUT_SETUP_PER_CLIENT`: new sessions per minute for one client, from all addresses together.
    package var perClientPerMinute = 300
    /// `AUTHORIZE_WITHOUT_SETUP_MAX_PENDING`: a client's nonce-less sessions still waiting for a wallet.
    package var maxPendingPerClient = 1000
    /// `AUTHORIZE_WITHOUT_SETUP_IDLE_MINUTES`: a waiting nonce-less session that nobody watched for this long (no page
    /// polling its status or reloading, no verifier answer) is expired by the purge, well before `SESSION_TTL_MINUTES`.
    package var idleMinutes = 5

    package init() {}
}

/// The whole `[kych-oauth2-gateway]` configuration plus its `[client_*]` sections, validated.
package struct GatewayConfig: Sendable {
    package var file: String
    package var binding: ServerBinding
    package var database: String
    package var nonceBytes: Int
    package var tokenBytes: Int
    package var authCodeBytes: Int
    package var authCodeTTLMinutes: Int
    package var sessionTTLMinutes: Int
    package var accessTokenTTLSeconds: Int
    /// `CLIENT_AUTH_FAILURES_PER_CLIENT`, `CLIENT_AUTH_FAILURES_PER_ADDRESS`: failed client authentications allowed per
    /// minute for one client id and from one source address; then 429 until the minute is over.
    package var authFailuresPerClient: Int
    package var authFailuresPerAddress: Int
    package var allowedScopes: [String]?
    package var vcType: String
    package var vcFormat: String
    package var vcAlgorithms: [String]
    package var vcClaims: [String]
    package var clients: [ClientConfig]
    /// The `[scope_NAME]` sections: which presented credentials grant which scope with `grant_type=vp_token-bearer`.
    package var presentationScopes: [PresentationScope] = []
    /// `DEMO_WALLET`: the folder of a test wallet whose credential the verification page's "Use the demo
    /// wallet" link presents. Only kych-demo serves it; `nil` (the default): no such link.
    package var demoWallet: String?
    /// `BASE_URL`: the gateway's public base URL, also its OAuth issuer identifier (no trailing slash). Defaults to
    /// `http://HOST:PORT` on a loopback host; `nil` behind a public host or a Unix socket when not set.
    package var baseURL: String?
    /// `ID_TOKEN_SIGNING_ALG`: how ID tokens are signed unless a client says otherwise.
    package var idTokenSigningAlg: String
    /// `KEY_ENCRYPTION_SECRET`: the signing keys' private keys are sealed at rest under a key derived from it (at least
    /// 32 bytes); `nil`: they are stored in clear.
    package var keyEncryptionSecret: String?
    package var authorizeWithoutSetup = AuthorizeWithoutSetupLimits()
    /// `CLAIMS_RETENTION_MINUTES` (default 0): how long after the verification its claims may be delivered again.
    /// 0: they are erased as they are first delivered (`/info`, `/userinfo`, an ID token carrying them). Either way
    /// they are erased at the latest once no code or token can reach them any more.
    package var claimsRetentionMinutes = 0
    /// `DPOP_PROOF_LIFETIME_SECONDS` (default 60): how old a DPoP proof's `iat` may be; its `jti` is remembered this long.
    package var dpopProofLifetimeSeconds = 60
    /// `REQUIRE_PUSHED_AUTHORIZATION_REQUESTS` (default no): every client must push its authorization requests to `/par`
    /// (RFC 9126), as a client registered with that key must.
    package var requirePushedAuthorizationRequests = false
    /// `PUSHED_AUTHORIZATION_REQUEST_TTL_SECONDS` (default 60): how long a `request_uri` from `/par` may be used.
    package var pushedRequestTTLSeconds = 60
    /// `ATTESTATION_TTL_DAYS` (default 365): how long a KyCH attestation issued at `/credential` is valid (its `exp`).
    package var attestationTTLDays = 365
    /// `ATTESTATION_OFFER_CLIENTS` (default none): the clients whose verification page, after a successful verification,
    /// offers the KyCH attestation (an OpenID4VCI credential offer) before the person continues to the client.
    package var attestationOfferClients: [String] = []
    /// `ACCEPTED_ATTESTATION_ISSUERS` (default none): KyCH instances (their `BASE_URL`s) whose attestations every client
    /// accepts instead of the Beta-ID, besides the https issuers of its own `ACCEPTED_ISSUER_DIDS`.
    package var acceptedAttestationIssuers: [String] = []
    /// The `[kych-verifier]` section of the same file, validated with the gateway's (an invalid one stops the
    /// gateway, which serves it when ``VerifierConfig/embedded``); `nil` when the file has none.
    package var verifier: VerifierConfig?
    /// Non-fatal findings (unknown sections or keys).
    package var warnings: [ConfigError]
    /// `REQUEST_TIMEOUT_SECONDS` (default 30): a connection that has not sent a whole request this long after opening
    /// or after its previous answer is closed.
    package var requestTimeout: Duration = .seconds(30)
    /// `METRICS_HOST`/`METRICS_PORT` or `METRICS_UNIXPATH`: where `/metrics` is served; `nil`: nowhere (and nothing is counted).
    package var metricsBinding: ServerBinding?
    /// `LOG_FORMAT`: `text` or `json` lines on standard error.
    package var logFormat: LogFormat = .text

    package static let defaultPath = "/etc/kych/kych.conf"
    package static let mainSection = "kych-oauth2-gateway"
    /// Sections the gateway does not validate as its own: the verifier's (validated by ``VerifierConfig``) and
    /// those other components of KyCH read.
    static let otherKnownSections: Set<String> = [VerifierConfig.section, "kych-demo", "paths"]

    /// Every claim of the Swiss Beta-ID credential, the default for VC_CLAIMS.
    package static let betaIDClaims = [
        "family_name", "given_name", "birth_date", "sex", "portrait", "place_of_origin", "birth_place",
        "nationality", "personal_administrative_number", "age_over_16", "age_over_18", "age_over_65",
        "age_birth_year", "document_number", "issuance_date", "expiry_date", "issuing_authority",
        "issuing_country", "verification_type", "verification_organization", "reference_id_type",
        "reference_id_expiry_date", "additional_person_info",
    ]

    static let mainKeys: Set<String> = [
        "HOST", "PORT", "UNIXPATH", "UNIXPATH_MODE", "DATABASE", "NONCE_BYTES", "TOKEN_BYTES",
        "AUTH_CODE_BYTES", "AUTH_CODE_TTL_MINUTES", "SESSION_TTL_MINUTES", "ACCESS_TOKEN_TTL_SECONDS",
        "ALLOWED_SCOPES", "VC_TYPE", "VC_FORMAT", "VC_ALGORITHMS", "VC_CLAIMS", "DEMO_WALLET", "ID_TOKEN_SIGNING_ALG",
        "BASE_URL", "KEY_ENCRYPTION_SECRET", "CLIENT_AUTH_FAILURES_PER_CLIENT", "CLIENT_AUTH_FAILURES_PER_ADDRESS",
        "AUTHORIZE_WITHOUT_SETUP_PER_ADDRESS", "AUTHORIZE_WITHOUT_SETUP_PER_CLIENT",
        "AUTHORIZE_WITHOUT_SETUP_MAX_PENDING", "AUTHORIZE_WITHOUT_SETUP_IDLE_MINUTES", "REQUEST_TIMEOUT_SECONDS",
        "METRICS_HOST", "METRICS_PORT", "METRICS_UNIXPATH", "METRICS_UNIXPATH_MODE", "LOG_FORMAT",
        "CLAIMS_RETENTION_MINUTES", "DPOP_PROOF_LIFETIME_SECONDS", "REQUIRE_PUSHED_AUTHORIZATION_REQUESTS",
        "PUSHED_AUTHORIZATION_REQUEST_TTL_SECONDS", "ATTESTATION_TTL_DAYS", "ATTESTATION_OFFER_CLIENTS",
        "ACCEPTED_ATTESTATION_ISSUERS",
    ]

    /// The scopes a client may request: ALLOWED_SCOPES ∩ VC_CLAIMS (VC_CLAIMS when unrestricted).
    package var grantableScopes: [String] {
        guard let allowedScopes else { return vcClaims }
        return vcClaims.filter(allowedScopes.contains)
    }

    /// Loads and validates the file at `path`. Throws ``ConfigErrors`` listing every problem found.
    package static func load(path: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws(ConfigErrors) -> GatewayConfig {
        let ini: IniFile
        do { ini = try IniFile.load(path: path, environment: environment) } catch { throw ConfigErrors(errors: [error]) }
        return try validate(ini)
    }

    /// Validates a parsed file.
    package static func validate(_ ini: IniFile) throws(ConfigErrors) -> GatewayConfig {
        var v = Validator(file: ini.path)
        guard let main = ini.section(mainSection) else {
            throw ConfigErrors(errors: [ConfigError(file: ini.path, line: nil, section: mainSection, key: nil,
                                                    message: "section is missing")])
        }
        for entry in main.entries where !mainKeys.contains(entry.key.uppercased()) {
            v.warn(main, entry, "unknown option (ignored)")
        }
        for section in ini.sections {
            let lower = section.name.lowercased()
            if lower == mainSection || lower.hasPrefix("client_") || lower.hasPrefix(PresentationScope.sectionPrefix)
                || otherKnownSections.contains(lower) { continue }
            v.warnings.append(ConfigError(file: ini.path, line: section.line, section: section.name, key: nil,
                                          message: "unknown section (ignored)"))
        }

        let binding = v.serverBinding(main)
        let requestTimeout = v.requestTimeout(main)
        let metricsBinding = v.metricsBinding(main, serving: binding)
        let logFormat = v.logFormat(main)
        var baseURL = binding?.loopbackURL
        if let entry = main.entry("BASE_URL"), !entry.value.isEmpty { baseURL = v.baseURL(main, entry) }

        let database = main.entry("DATABASE")
        if database == nil || database!.value.isEmpty {
            v.errors.append(ConfigError(file: ini.path, line: database?.line ?? main.line, section: main.name, key: "DATABASE",
                                        message: "DATABASE is required (e.g. postgres://kych@localhost/kych)"))
        }

        let nonceBytes = v.integer(main, "NONCE_BYTES", default: 32, min: 16, max: 1024, minMessage: "must be at least 16 bytes")
        let tokenBytes = v.integer(main, "TOKEN_BYTES", default: 32, min: 16, max: 1024, minMessage: "must be at least 16 bytes")
        let codeBytes = v.integer(main, "AUTH_CODE_BYTES", default: 32, min: 16, max: 1024, minMessage: "must be at least 16 bytes")
        let codeTTL = v.integer(main, "AUTH_CODE_TTL_MINUTES", default: 10, min: 1, max: 1440, minMessage: "must be at least 1 minute")
        let sessionTTL = v.integer(main, "SESSION_TTL_MINUTES", default: 15, min: 1, max: 1440, minMessage: "must be at least 1 minute")
        let tokenTTL = v.integer(main, "ACCESS_TOKEN_TTL_SECONDS", default: 3600, min: 60, max: 86400 * 30, minMessage: "must be at least 60 seconds")
        let perClient = v.integer(main, "CLIENT_AUTH_FAILURES_PER_CLIENT", default: 10, min: 1, max: 100_000, minMessage: "must be at least 1")
        let perAddress = v.integer(main, "CLIENT_AUTH_FAILURES_PER_ADDRESS", default: 30, min: 1, max: 100_000, minMessage: "must be at least 1")

        var limits = AuthorizeWithoutSetupLimits()
        limits.perAddressPerMinute = v.integer(main, "AUTHORIZE_WITHOUT_SETUP_PER_ADDRESS", default: limits.perAddressPerMinute,
                                               min: 1, max: 100_000, minMessage: "must be at least 1 per minute")
        limits.perClientPerMinute = v.integer(main, "AUTHORIZE_WITHOUT_SETUP_PER_CLIENT", default: limits.perClientPerMinute,
                                              min: 1, max: 1_000_000, minMessage: "must be at least 1 per minute")
        limits.maxPendingPerClient = v.integer(main, "AUTHORIZE_WITHOUT_SETUP_MAX_PENDING", default: limits.maxPendingPerClient,
                                               min: 1, max: 10_000_000, minMessage: "must be at least 1")
        limits.idleMinutes = v.integer(main, "AUTHORIZE_WITHOUT_SETUP_IDLE_MINUTES", default: limits.idleMinutes,
                                       min: 1, max: 1440, minMessage: "must be at least 1 minute")

        let claimsRetention = v.integer(main, "CLAIMS_RETENTION_MINUTES", default: 0, min: 0, max: 43_200,
                                        minMessage: "must be 0 (erase on delivery) or more minutes")
        let dpopLifetime = v.integer(main, "DPOP_PROOF_LIFETIME_SECONDS", default: 60, min: 5, max: 600,
                                     minMessage: "must be at least 5 seconds")
        let requirePushed = v.yesNo(main, "REQUIRE_PUSHED_AUTHORIZATION_REQUESTS", default: false)
        let pushedTTL = v.integer(main, "PUSHED_AUTHORIZATION_REQUEST_TTL_SECONDS", default: 60, min: 1, max: 600,
                                  minMessage: "must be at least 1 second")
        let attestationTTL = v.integer(main, "ATTESTATION_TTL_DAYS", default: 365, min: 1, max: 3650,
                                       minMessage: "must be at least 1 day")
        let attestationIssuers = main.entry("ACCEPTED_ATTESTATION_ISSUERS").map { IniFile.list($0.value) } ?? []
        if let e = main.entry("ACCEPTED_ATTESTATION_ISSUERS") {
            for issuer in attestationIssuers {
                if let problem = ClientRules.acceptedIssuerProblem(issuer) ?? (ClientRules.isHTTPSIssuer(issuer) ? nil
                    : "\"\(issuer)\" is not a KyCH BASE_URL (https://host[/path])") {
                    v.error(main, e, problem)
                }
            }
        }
        let vcClaims = main.entry("VC_CLAIMS").map { IniFile.list($0.value) } ?? betaIDClaims
        if let e = main.entry("VC_CLAIMS"), vcClaims.isEmpty { v.error(main, e, "must list at least one claim") }
        var allowedScopes: [String]?
        if let e = main.entry("ALLOWED_SCOPES") {
            let list = IniFile.list(e.value)
            allowedScopes = list
            for scope in list where !vcClaims.contains(scope) {
                v.error(main, e, "scope \"\(scope)\" is not in VC_CLAIMS")
            }
        }
        let vcAlgorithms = main.entry("VC_ALGORITHMS").map { IniFile.list($0.value) } ?? ["ES256"]
        let demoWallet = main.entry("DEMO_WALLET").flatMap { $0.value.isEmpty ? nil : $0 }
        let idTokenSigningAlg = v.signingAlgorithm(main, "ID_TOKEN_SIGNING_ALG") ?? "ES256"
        if let demoWallet, !demoWallet.value.hasPrefix("/") { v.error(main, demoWallet, "must be an absolute path to a wallet folder") }
        let keySecret = v.keyEncryptionSecret(main)

        // Clients
        var clients: [ClientConfig] = []
        var seen: [String: String] = [:]
        for section in ini.sections where section.name.lowercased().hasPrefix("client_") {
            guard let client = ClientConfig.validate(section, validator: &v) else { continue }
            if let other = seen[client.clientID] {
                v.error(section, section.entry("CLIENT_ID")!, "duplicate CLIENT_ID \"\(client.clientID)\" (also in [\(other)])")
                continue
            }
            if client.accessTokenFormat == .jwt, baseURL == nil, let entry = section.entry("ACCESS_TOKEN_FORMAT") {
                v.error(section, entry, "jwt access tokens need BASE_URL (their issuer)")
            }
            if let scope = client.defaultScope {
                let grantable = allowedScopes.map { a in vcClaims.filter(a.contains) } ?? vcClaims
                for s in scope where !grantable.contains(s) {
                    v.error(section, section.entry("DEFAULT_SCOPE")!, "scope \"\(s)\" is not in ALLOWED_SCOPES/VC_CLAIMS")
                }
            }
            seen[client.clientID] = section.name
            clients.append(client)
        }

        let scopeSections = ini.sections.filter { $0.name.lowercased().hasPrefix(PresentationScope.sectionPrefix) }
        let presentationScopes = scopeSections.compactMap { PresentationScope.validate($0, validator: &v) }
        // The key binding of a presentation at /token names the gateway: without its issuer identifier none could.
        if baseURL == nil, let first = scopeSections.first {
            v.errors.append(ConfigError(file: ini.path, line: first.line, section: first.name, key: nil,
                                        message: "vp_token-bearer scopes need BASE_URL (presentations are bound to BASE_URL/token)"))
        }
        for client in clients where client.grantTypes.contains(GrantType.vpTokenBearer) && scopeSections.isEmpty {
            if let section = ini.section(client.section), let entry = section.entry("GRANT_TYPES") {
                v.warn(section, entry, "vp_token-bearer grants nothing without a [scope_NAME] section")
            }
        }

        // The page's offer is of an attestation that only a gateway with its issuer identifier issues.
        let offerClients = main.entry("ATTESTATION_OFFER_CLIENTS").map { IniFile.list($0.value) } ?? []
        if let entry = main.entry("ATTESTATION_OFFER_CLIENTS"), !offerClients.isEmpty, baseURL == nil {
            v.error(main, entry, "offering the KyCH attestation needs BASE_URL (the credential issuer)")
        }

        var verifier: VerifierConfig?
        if ini.section(VerifierConfig.section) != nil {
            do {
                verifier = try VerifierConfig.validate(ini)
                v.warnings += verifier?.warnings ?? []
            } catch {
                v.errors += error.errors
            }
        }

        guard v.errors.isEmpty, let binding, let database else { throw ConfigErrors(errors: v.errors) }
        var config = GatewayConfig(
            file: ini.path, binding: binding, database: database.value,
            nonceBytes: nonceBytes, tokenBytes: tokenBytes, authCodeBytes: codeBytes,
            authCodeTTLMinutes: codeTTL, sessionTTLMinutes: sessionTTL, accessTokenTTLSeconds: tokenTTL,
            authFailuresPerClient: perClient, authFailuresPerAddress: perAddress, allowedScopes: allowedScopes,
            vcType: main.entry("VC_TYPE")?.value ?? "betaid-sdjwt",
            vcFormat: main.entry("VC_FORMAT")?.value ?? "vc+sd-jwt",
            vcAlgorithms: vcAlgorithms, vcClaims: vcClaims, clients: clients, demoWallet: demoWallet?.value, baseURL: baseURL,
            idTokenSigningAlg: idTokenSigningAlg, keyEncryptionSecret: keySecret, verifier: verifier, warnings: v.warnings,
            requestTimeout: requestTimeout)
        config.authorizeWithoutSetup = limits
        config.metricsBinding = metricsBinding
        config.logFormat = logFormat
        config.claimsRetentionMinutes = claimsRetention
        config.dpopProofLifetimeSeconds = dpopLifetime
        config.requirePushedAuthorizationRequests = requirePushed
        config.pushedRequestTTLSeconds = pushedTTL
        config.attestationTTLDays = attestationTTL
        config.attestationOfferClients = offerClients
        config.acceptedAttestationIssuers = attestationIssuers
        config.presentationScopes = presentationScopes
        return config
    }
}

/// Collects errors and warnings while validating one file.
struct Validator {
    var file: String
    var errors: [ConfigError] = []
    var warnings: [ConfigError] = []

    mutating func error(_ section: IniFile.Section, _ entry: IniFile.Entry, _ message: String) {
        errors.append(ConfigError(file: file, line: entry.line, section: section.name, key: entry.key, message: message))
    }

    mutating func missing(_ section: IniFile.Section, _ key: String) {
        errors.append(ConfigError(file: file, line: section.line, section: section.name, key: key, message: "\(key) is required"))
    }

    mutating func warn(_ section: IniFile.Section, _ entry: IniFile.Entry, _ message: String) {
        warnings.append(ConfigError(file: file, line: entry.line, section: section.name, key: entry.key, message: message))
    }

    mutating func integer(_ section: IniFile.Section, _ key: String, default value: Int, min: Int, max: Int, minMessage: String) -> Int {
        guard let entry = section.entry(key) else { return value }
        guard let n = Int(entry.value) else {
            error(section, entry, "\"\(entry.value)\" is not a whole number")
            return value
        }
        if n < min { error(section, entry, "\(minMessage) (got \(n))"); return value }
        if n > max { error(section, entry, "must be at most \(max) (got \(n))"); return value }
        return n
    }

    /// An absolute http(s) URL with a host, or nil.
    static func absoluteURL(_ s: String) -> URL? {
        guard let url = URL(string: s), let scheme = url.scheme?.lowercased(), scheme == "https" || scheme == "http",
              let host = url.host, !host.isEmpty else { return nil }
        return url
    }
}
