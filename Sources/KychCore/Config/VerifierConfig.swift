import Foundation

/// The `[kych-verifier]` section: KyCH's built-in swiyu-compatible verifier. Its keys mirror the
/// swiyu Generic Verifier's settings (`EXTERNAL_URL`, `VERIFIER_DID`, `WEBHOOK_*`, ...).
package struct VerifierConfig: Sendable {
    package var file: String
    /// Where the verifier listens; `nil` when it runs inside the gateway (`EMBEDDED = yes`).
    package var binding: ServerBinding?
    /// The gateway serves the verifier's endpoints itself (`EMBEDDED = yes`).
    package var embedded: Bool
    package var database: String
    /// The public base URL wallets reach the verifier at (no trailing slash).
    package var externalURL: String
    /// `nil`: the `did:jwk` of the signing key.
    package var verifierDID: String?
    /// The `kid` of the request objects; `nil`: `<VERIFIER_DID>#0`.
    package var verificationMethod: String?
    /// PEM file of the verifier's P-256 signing key; created (mode 0600) when missing.
    package var signingKeyFile: String
    /// `nil`: no webhook events are recorded or sent.
    package var webhookCallbackURI: String?
    package var webhookAPIKeyHeader: String?
    package var webhookAPIKeyValue: String?
    package var webhookIntervalMilliseconds: Int
    package var verificationTTLSeconds: Int
    /// How far a KB-JWT `iat` may be from now.
    package var proofTimeWindowSeconds: Int
    /// `nil`: the management API is open (as in the swiyu verifier's default).
    package var managementBearerToken: String?
    /// The deeplink scheme, `swiyu-verify` by default.
    package var deeplinkScheme: String
    /// `client_name` in the request object's `client_metadata`.
    package var clientName: String
    /// `KEY_ENCRYPTION_SECRET` of a standalone verifier: the private response-encryption keys are sealed at rest under
    /// a key derived from it. `nil` when embedded (the gateway's secret seals them) or not set (kept in clear).
    package var keyEncryptionSecret: String?
    package var warnings: [ConfigError]
    /// `REQUEST_TIMEOUT_SECONDS` of its own listener (default 30), as the gateway's.
    package var requestTimeout: Duration = .seconds(30)
    /// `METRICS_HOST`/`METRICS_PORT` or `METRICS_UNIXPATH` of a standalone verifier, as the gateway's (an embedded one
    /// is counted on the gateway's).
    package var metricsBinding: ServerBinding?
    /// `LOG_FORMAT` of a standalone verifier, as the gateway's.
    package var logFormat: LogFormat = .text

    package static let section = "kych-verifier"

    static let keys: Set<String> = [
        "HOST", "PORT", "UNIXPATH", "UNIXPATH_MODE", "EMBEDDED", "DATABASE", "EXTERNAL_URL", "VERIFIER_DID",
        "DID_VERIFICATION_METHOD", "SIGNING_KEY_FILE", "WEBHOOK_CALLBACK_URI", "WEBHOOK_API_KEY_HEADER",
        "WEBHOOK_API_KEY_VALUE", "WEBHOOK_INTERVAL", "VERIFICATION_TTL_SEC", "VERIFICATION_PROOF_TIME_WINDOW_SEC",
        "MANAGEMENT_BEARER_TOKEN", "DEEPLINK_SCHEMA", "CLIENT_NAME", "KEY_ENCRYPTION_SECRET", "REQUEST_TIMEOUT_SECONDS",
        "METRICS_HOST", "METRICS_PORT", "METRICS_UNIXPATH", "METRICS_UNIXPATH_MODE", "LOG_FORMAT",
    ]

    /// Validates the `[kych-verifier]` section of a parsed file; other sections are left to their readers.
    package static func validate(_ ini: IniFile) throws(ConfigErrors) -> VerifierConfig {
        var v = Validator(file: ini.path)
        guard let main = ini.section(section) else {
            throw ConfigErrors(errors: [ConfigError(file: ini.path, line: nil, section: section, key: nil, message: "section is missing")])
        }
        for entry in main.entries where !keys.contains(entry.key.uppercased()) {
            v.warn(main, entry, "unknown option (ignored)")
        }
        let embedded = v.yesNo(main, "EMBEDDED", default: false)
        if embedded, let entry = main.entry("EMBEDDED"), main.entry("MANAGEMENT_BEARER_TOKEN")?.value.isEmpty ?? true {
            v.error(main, entry, "needs MANAGEMENT_BEARER_TOKEN (the gateway's endpoints are public; set the client's VERIFIER_BEARER_TOKEN to it)")
        }
        let binding = embedded ? nil : v.serverBinding(main)
        let requestTimeout = v.requestTimeout(main)
        let metricsBinding = embedded ? nil : v.metricsBinding(main, serving: binding)
        let logFormat = v.logFormat(main)
        // The management API answers with verified claims; beyond loopback it must not be open to anyone.
        if let binding, main.entry("MANAGEMENT_BEARER_TOKEN")?.value.isEmpty ?? true, !binding.isLoopbackTCP,
           let entry = main.entry("UNIXPATH") ?? main.entry("HOST") {
            v.error(main, entry, "a verifier listening beyond loopback needs MANAGEMENT_BEARER_TOKEN (its management API serves verified claims)")
        }
        if embedded, let entry = main.entry("HOST") ?? main.entry("PORT") ?? main.entry("UNIXPATH") {
            v.warn(main, entry, "ignored: an embedded verifier is served by the gateway")
        }
        var keySecret = v.keyEncryptionSecret(main)
        if embedded, keySecret != nil, let entry = main.entry("KEY_ENCRYPTION_SECRET") {
            v.warn(main, entry, "ignored: an embedded verifier's keys are sealed with the gateway's KEY_ENCRYPTION_SECRET")
            keySecret = nil
        }

        func required(_ key: String) -> IniFile.Entry? {
            guard let entry = main.entry(key), !entry.value.isEmpty else { v.missing(main, key); return nil }
            return entry
        }
        let database = embedded ? main.entry("DATABASE") : required("DATABASE")
        let externalURL = required("EXTERNAL_URL").flatMap { v.baseURL(main, $0) }
        let keyFile = required("SIGNING_KEY_FILE")
        if let keyFile, !keyFile.value.hasPrefix("/") { v.error(main, keyFile, "must be an absolute path") }
        let did = main.entry("VERIFIER_DID").flatMap { $0.value.isEmpty ? nil : $0 }
        if let did, !did.value.hasPrefix("did:") || did.value.contains("#") {
            v.error(main, did, "must be a DID (did:method:...) without a fragment")
        }
        let method = main.entry("DID_VERIFICATION_METHOD").flatMap { $0.value.isEmpty ? nil : $0 }
        if let method {
            if did == nil { v.error(main, method, "needs VERIFIER_DID") }
            if let did, !method.value.hasPrefix(did.value + "#") { v.error(main, method, "must be a DID URL <VERIFIER_DID>#fragment") }
        }
        let webhook = main.entry("WEBHOOK_CALLBACK_URI").flatMap { $0.value.isEmpty ? nil : $0 }
        if let webhook, Validator.absoluteURL(webhook.value) == nil {
            v.error(main, webhook, "\"\(webhook.value)\" is not an absolute http(s) URL")
        }
        let header = main.entry("WEBHOOK_API_KEY_HEADER").flatMap { $0.value.isEmpty ? nil : $0 }
        let headerValue = main.entry("WEBHOOK_API_KEY_VALUE").flatMap { $0.value.isEmpty ? nil : $0 }
        if let header, let problem = HTTPHeaderName.problem(header.value) { v.error(main, header, problem) }
        if let headerValue, header == nil { v.error(main, headerValue, "needs WEBHOOK_API_KEY_HEADER") }
        let interval = v.integer(main, "WEBHOOK_INTERVAL", default: 2000, min: 10, max: 3_600_000, minMessage: "must be at least 10 ms")
        let ttl = v.integer(main, "VERIFICATION_TTL_SEC", default: 900, min: 10, max: 86_400, minMessage: "must be at least 10 seconds")
        let window = v.integer(main, "VERIFICATION_PROOF_TIME_WINDOW_SEC", default: 120, min: 1, max: 86_400,
                               minMessage: "must be at least 1 second")
        let scheme = main.entry("DEEPLINK_SCHEMA")
        if let scheme, scheme.value.isEmpty || !scheme.value.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "+-.".contains($0)) }) {
            v.error(main, scheme, "is not a URI scheme (e.g. swiyu-verify or openid4vp)")
        }

        guard v.errors.isEmpty, let externalURL, let keyFile else { throw ConfigErrors(errors: v.errors) }
        var config = VerifierConfig(
            file: ini.path, binding: binding, embedded: embedded, database: database?.value ?? "",
            externalURL: externalURL, verifierDID: did?.value, verificationMethod: method?.value,
            signingKeyFile: keyFile.value, webhookCallbackURI: webhook?.value,
            webhookAPIKeyHeader: header?.value, webhookAPIKeyValue: header == nil ? nil : (headerValue?.value ?? ""),
            webhookIntervalMilliseconds: interval, verificationTTLSeconds: ttl, proofTimeWindowSeconds: window,
            managementBearerToken: main.entry("MANAGEMENT_BEARER_TOKEN").flatMap { $0.value.isEmpty ? nil : $0.value },
            deeplinkScheme: scheme?.value ?? "swiyu-verify",
            clientName: main.entry("CLIENT_NAME").flatMap { $0.value.isEmpty ? nil : $0.value } ?? "KyCH Verifier",
            keyEncryptionSecret: keySecret, warnings: v.warnings, requestTimeout: requestTimeout)
        config.metricsBinding = metricsBinding
        config.logFormat = logFormat
        return config
    }
}

extension Validator {
    /// `yes`/`no` (also `true`/`false`, `1`/`0`).
    mutating func yesNo(_ section: IniFile.Section, _ key: String, default value: Bool) -> Bool {
        guard let entry = section.entry(key) else { return value }
        switch entry.value.lowercased() {
        case "yes", "true", "1": return true
        case "no", "false", "0": return false
        default:
            error(section, entry, "\"\(entry.value)\" is not yes or no")
            return value
        }
    }
}

extension CLISupport {
    /// Loads and validates the `[kych-verifier]` section; warnings go to standard error, errors become a
    /// ``CLIError`` listing each problem with its file, line and key.
    package static func loadVerifierConfig(_ path: String) throws -> VerifierConfig {
        try verifierConfig(try loadFile(path))
    }

    /// Validates the `[kych-verifier]` section of `ini`, reporting as ``loadVerifierConfig(_:)`` does.
    package static func verifierConfig(_ ini: IniFile) throws -> VerifierConfig {
        try reporting({ () throws(ConfigErrors) in try VerifierConfig.validate(ini) }, warnings: \.warnings)
    }
}
