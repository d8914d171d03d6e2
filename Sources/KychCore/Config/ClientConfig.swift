import Foundation

/// The OAuth error code sent to a client's redirect URI when a verification fails.
/// RFC 6749's `access_denied` by default; Taler exchanges need `unauthorized_client`.
package enum FailureError: String, Sendable, CaseIterable {
    case accessDenied = "access_denied"
    case unauthorizedClient = "unauthorized_client"
}

/// What a client's access tokens are (seed 003's token strategies).
package enum AccessTokenFormat: String, Sendable, CaseIterable {
    /// Random; only its hash is stored.
    case opaque
    /// An RFC 9068 JWT signed by the gateway, verifiable offline against `jwks_uri`, revocable like an opaque one.
    case jwt
}

/// The `grant_type` values of `/token` a client can be allowed (`GRANT_TYPES`).
package enum GrantType {
    package static let authorizationCode = "authorization_code"
    /// Nuts RFC021: an organisation's wallet presents credentials directly at `/token` (issue 16).
    package static let vpTokenBearer = "vp_token-bearer"
    package static let all = [authorizationCode, vpTokenBearer]
    /// Without `GRANT_TYPES` a client has the authorization-code flow only: presenting credentials at `/token`
    /// is opted into per client.
    package static let defaultForClients = [authorizationCode]

    /// Why `list` is not a valid `GRANT_TYPES` value, or nil.
    package static func listProblem(_ list: [String]) -> String? {
        if list.isEmpty { return "must list at least one grant type (\(all.joined(separator: ", ")))" }
        if let unknown = list.first(where: { !all.contains($0) }) {
            return "\"\(unknown)\" is not one of \(all.joined(separator: ", "))"
        }
        return nil
    }
}

/// One `[client_*]` section: an OAuth client as the operator declared it.
package struct ClientConfig: Sendable, Equatable {
    package var section: String
    package var clientID: String
    /// nil for a public client (`CLIENT_TYPE = public`).
    package var clientSecret: String?
    package var verifierURL: String
    package var verifierManagementAPIPath: String
    package var redirectURI: String
    package var acceptedIssuerDIDs: [String]
    package var defaultScope: [String]?
    package var verifierQuery: VerifierQueryLanguage
    package var verifierBearerToken: String?
    package var failureError: FailureError
    package var webhookAPIKeyHeader: String?
    package var webhookAPIKeyValue: String?
    package var additionalRedirectURIs: [String]
    package var clientName: String?
    package var requirePKCE: Bool
    package var idTokenClaims: Bool
    package var idTokenSigningAlg: String?
    package var accessTokenFormat: AccessTokenFormat
    package var accessTokenTTLSeconds: Int?
    /// `ALLOW_AUTHORIZE_WITHOUT_SETUP`: a nonce-less `/authorize` (a standard OAuth request) may start a session.
    package var allowAuthorizeWithoutSetup = true
    /// `JWKS`, `JWKS_URI`, `TOKEN_ENDPOINT_AUTH_METHOD`, `REQUIRE_DPOP`, `REQUIRE_DPOP_NONCE`,
    /// `REQUIRE_SIGNED_REQUEST_OBJECT`, `REQUIRE_PUSHED_AUTHORIZATION_REQUESTS`, `PROFILE`.
    package var security = ClientSecurity()
    /// `GRANT_TYPES`: the grant types it may use at `/token`.
    package var grantTypes = GrantType.defaultForClients

    package static let defaultManagementAPIPath = "/management/api/verifications"
    static let keys: Set<String> = [
        "CLIENT_ID", "CLIENT_SECRET", "VERIFIER_URL", "VERIFIER_MANAGEMENT_API_PATH", "REDIRECT_URI",
        "ACCEPTED_ISSUER_DIDS", "DEFAULT_SCOPE", "VERIFIER_QUERY", "VERIFIER_BEARER_TOKEN", "FAILURE_ERROR",
        "WEBHOOK_API_KEY_HEADER", "WEBHOOK_API_KEY_VALUE", "CLIENT_TYPE", "REDIRECT_URIS", "CLIENT_NAME", "REQUIRE_PKCE",
        "ID_TOKEN_CLAIMS", "ID_TOKEN_SIGNING_ALG", "ACCESS_TOKEN_FORMAT", "ACCESS_TOKEN_TTL_SECONDS",
        "ALLOW_AUTHORIZE_WITHOUT_SETUP", "JWKS", "JWKS_URI", "TOKEN_ENDPOINT_AUTH_METHOD", "REQUIRE_DPOP", "REQUIRE_DPOP_NONCE",
        "REQUIRE_SIGNED_REQUEST_OBJECT", "REQUIRE_PUSHED_AUTHORIZATION_REQUESTS", "PROFILE", "GRANT_TYPES",
    ]
    /// The JWS algorithms KyCH signs ID tokens with (OpenID Connect Discovery requires RS256 to be offered).
    package static let signingAlgorithms = ["ES256", "RS256"]

    static func validate(_ section: IniFile.Section, validator v: inout Validator) -> ClientConfig? {
        for entry in section.entries where !keys.contains(entry.key.uppercased()) {
            v.warn(section, entry, "unknown option (ignored)")
        }
        let before = v.errors.count
        func required(_ key: String) -> IniFile.Entry? {
            guard let e = section.entry(key), !e.value.isEmpty else { v.missing(section, key); return nil }
            return e
        }
        var isPublic = false
        if let e = section.entry("CLIENT_TYPE") {
            switch e.value.lowercased() {
            case "confidential": break
            case "public": isPublic = true
            default: v.error(section, e, "\"\(e.value)\" is not one of confidential, public")
            }
        }
        let id = required("CLIENT_ID"), verifier = required("VERIFIER_URL")
        let security = v.clientSecurity(section)
        var secret: IniFile.Entry?
        if isPublic {
            if let e = section.entry("CLIENT_SECRET"), !e.value.isEmpty {
                v.error(section, e, "a public client (CLIENT_TYPE = public) has no secret; it authenticates with PKCE")
            }
        } else if security.hasKeys {
            // A client with keys authenticates with private_key_jwt; a secret is optional.
            secret = section.entry("CLIENT_SECRET").flatMap { $0.value.isEmpty ? nil : $0 }
        } else {
            secret = required("CLIENT_SECRET")
        }
        for (key, problem) in security.problems(hasSecret: secret != nil, isPublic: isPublic) {
            if let entry = section.entry(key) { v.error(section, entry, problem) } else { v.missing(section, key) }
        }
        if let id, let problem = ClientRules.clientIDProblem(id.value) { v.error(section, id, problem) }
        if let secret, let problem = ClientRules.secretProblem(secret.value) { v.error(section, secret, problem) }
        if let verifier, let problem = ClientRules.verifierURLProblem(verifier.value) { v.error(section, verifier, problem) }
        if let entry = section.entry("ACCEPTED_ISSUER_DIDS") {
            for issuer in IniFile.list(entry.value) {
                if let problem = ClientRules.acceptedIssuerProblem(issuer) { v.error(section, entry, problem) }
            }
        }
        let listed = section.entry("REDIRECT_URIS")
        let redirectURIs = listed.map { IniFile.list($0.value) } ?? []
        let redirect = section.entry("REDIRECT_URI").flatMap { $0.value.isEmpty ? nil : $0 }
        if redirect == nil && redirectURIs.isEmpty {
            if let listed { v.error(section, listed, "must list at least one redirect URI") } else { v.missing(section, "REDIRECT_URI") }
        }
        if let redirect, let problem = ClientRules.redirectURIProblem(redirect.value, publicClient: isPublic) {
            v.error(section, redirect, problem)
        }
        if let listed {
            for uri in redirectURIs {
                if let problem = ClientRules.redirectURIProblem(uri, publicClient: isPublic) { v.error(section, listed, problem) }
            }
        }
        let name = section.entry("CLIENT_NAME")?.value.nilIfEmpty
        if let entry = section.entry("CLIENT_NAME"), let name, let problem = ClientRules.clientNameProblem(name) {
            v.error(section, entry, problem)
        }
        let requirePKCE = v.yesNo(section, "REQUIRE_PKCE", default: false)
        let idTokenClaims = v.yesNo(section, "ID_TOKEN_CLAIMS", default: false)
        let withoutSetup = v.yesNo(section, "ALLOW_AUTHORIZE_WITHOUT_SETUP", default: true)
        let idTokenAlg = v.signingAlgorithm(section, "ID_TOKEN_SIGNING_ALG")
        var tokenFormat = AccessTokenFormat.opaque
        if let e = section.entry("ACCESS_TOKEN_FORMAT") {
            if let f = AccessTokenFormat(rawValue: e.value.lowercased()) { tokenFormat = f } else {
                v.error(section, e, "\"\(e.value)\" is not one of opaque, jwt")
            }
        }
        let tokenTTL = section.entry("ACCESS_TOKEN_TTL_SECONDS").map { _ in
            v.integer(section, "ACCESS_TOKEN_TTL_SECONDS", default: 3600, min: 60, max: 86400 * 30, minMessage: "must be at least 60 seconds")
        }
        let path = section.entry("VERIFIER_MANAGEMENT_API_PATH")
        if let path, !path.value.hasPrefix("/") { v.error(section, path, "must start with /") }
        var query = VerifierQueryLanguage.dcql
        if let e = section.entry("VERIFIER_QUERY") {
            if let q = VerifierQueryLanguage(setting: e.value) { query = q } else {
                v.error(section, e, "\"\(e.value)\" is not one of dcql, presentation_definition")
            }
        }
        var failure = FailureError.accessDenied
        if let e = section.entry("FAILURE_ERROR") {
            if let f = FailureError(rawValue: e.value.lowercased()) { failure = f } else {
                v.error(section, e, "\"\(e.value)\" is not one of access_denied, unauthorized_client")
            }
        }
        let header = section.entry("WEBHOOK_API_KEY_HEADER")?.value.nilIfEmpty
        let headerValue = section.entry("WEBHOOK_API_KEY_VALUE")?.value.nilIfEmpty
        if let entry = section.entry("WEBHOOK_API_KEY_HEADER"), let problem = header.flatMap(HTTPHeaderName.problem) {
            v.error(section, entry, problem)
        }
        if (header == nil) != (headerValue == nil) {
            let e = section.entry("WEBHOOK_API_KEY_HEADER") ?? section.entry("WEBHOOK_API_KEY_VALUE")!
            v.error(section, e, "WEBHOOK_API_KEY_HEADER and WEBHOOK_API_KEY_VALUE must be set together")
        }
        guard v.errors.count == before, let id, let verifier, let primary = redirect?.value ?? redirectURIs.first,
              isPublic || secret != nil || security.hasKeys else { return nil }
        var client = ClientConfig(
            section: section.name, clientID: id.value, clientSecret: secret?.value,
            verifierURL: verifier.value,
            verifierManagementAPIPath: path?.value.nilIfEmpty ?? defaultManagementAPIPath,
            redirectURI: primary,
            acceptedIssuerDIDs: section.entry("ACCEPTED_ISSUER_DIDS").map { IniFile.list($0.value) } ?? [],
            defaultScope: section.entry("DEFAULT_SCOPE").map { IniFile.list($0.value) },
            verifierQuery: query,
            verifierBearerToken: section.entry("VERIFIER_BEARER_TOKEN")?.value.nilIfEmpty,
            failureError: failure, webhookAPIKeyHeader: header, webhookAPIKeyValue: headerValue,
            additionalRedirectURIs: redirectURIs.filter { $0 != primary }, clientName: name, requirePKCE: requirePKCE,
            idTokenClaims: idTokenClaims, idTokenSigningAlg: idTokenAlg, accessTokenFormat: tokenFormat, accessTokenTTLSeconds: tokenTTL)
        client.allowAuthorizeWithoutSetup = withoutSetup
        client.security = security
        if let entry = section.entry("GRANT_TYPES") {
            let list = IniFile.list(entry.value)
            if let problem = GrantType.listProblem(list) { v.error(section, entry, problem) } else { client.grantTypes = list }
        }
        return client
    }
}

/// Rules shared by the config file and the client-management CLI.
package enum ClientRules {
    /// Whether an `ACCEPTED_ISSUER_DIDS` entry is an https issuer identifier (another or this KyCH instance's `BASE_URL`,
    /// whose attestations are accepted instead of the Beta-ID) rather than a DID; plain http is for tests on loopback
    /// hosts, which is all the outbound policy fetches over http.
    package static func isHTTPSIssuer(_ entry: String) -> Bool { entry.hasPrefix("https://") || entry.hasPrefix("http://") }

    /// An `ACCEPTED_ISSUER_DIDS` entry that is a URL names a KyCH instance whose attestations are accepted, and is compared
    /// exactly with their `iss` (its `BASE_URL`): https (http only on loopback hosts), no trailing slash, query or fragment.
    package static func acceptedIssuerProblem(_ entry: String) -> String? {
        guard isHTTPSIssuer(entry.lowercased()) else { return nil }
        guard let url = URLComponents(string: entry), let host = url.host, !host.isEmpty, url.user == nil,
              url.query == nil, url.fragment == nil, !entry.hasSuffix("/"),
              entry.hasPrefix("https://") || (entry.hasPrefix("http://") && LoopbackHost.contains(host)) else {
            return "\"\(entry)\" is not an https issuer identifier (a KyCH BASE_URL: https://host[/path], lower-case scheme, no trailing slash, query or fragment; plain http only on loopback hosts)"
        }
        return nil
    }

    /// Client ids go raw into URL paths and queries: RFC 3986 unreserved characters only.
    package static func clientIDProblem(_ id: String) -> String? {
        if id.isEmpty || id.utf8.count > 128 { return "must be 1 to 128 characters long" }
        let ok = id.unicodeScalars.allSatisfy { $0.isASCII && (CharacterSet.alphanumerics.contains($0) || "-._~".unicodeScalars.contains($0)) }
        return ok ? nil : "\"\(id)\" may contain only A-Z a-z 0-9 - . _ ~"
    }

    /// The shortest client secret registered: `secret-token:` and 19 random characters at the very least.
    package static let minimumSecretBytes = 32

    /// Secrets are sent after `Bearer `, bcrypt reads at most 72 bytes (a longer secret is refused, never cut), and a
    /// short one is guessed too soon. Only the CLI lowers `minimumBytes`, for the manual's own example (it warns then).
    package static func secretProblem(_ secret: String, minimumBytes: Int = minimumSecretBytes) -> String? {
        let bytes = secret.utf8.count
        if bytes > Secrets.bcryptMaximumBytes {
            return "is longer than \(Secrets.bcryptMaximumBytes) bytes (got \(bytes)); bcrypt would ignore the rest: use a shorter secret"
        }
        if secret.unicodeScalars.contains(where: { $0.value <= 0x20 || $0.value == 0x7f }) { return "must not contain spaces or control characters" }
        let lower = secret.lowercased()
        if ["change-me", "changeme", "change_me"].contains(where: lower.contains) {
            return "is a placeholder; set a real secret (e.g. CLIENT_SECRET = ${KYCH_EXCHANGE_SECRET} from the environment)"
        }
        if bytes < minimumBytes {
            return "is shorter than \(minimumSecretBytes) bytes (got \(bytes)); use e.g. secret-token:$(openssl rand -hex 24)"
        }
        return nil
    }

    /// A redirect URI must be an absolute https URL without a fragment (RFC 9700 §2.6); plain http only on loopback.
    /// A public client (a native app, RFC 8252 §7.1) may also use a private-use scheme with a period in it
    /// (`com.example.app:/cb`).
    package static func redirectURIProblem(_ uri: String, publicClient: Bool = false) -> String? {
        if publicClient, let scheme = privateUseScheme(uri) {
            if uri.contains("#") { return "\"\(uri)\" must not contain a fragment" }
            return scheme.contains(".") ? nil : "\"\(uri)\": a private-use scheme must contain a period (reverse domain name, RFC 8252 §7.1)"
        }
        guard let url = Validator.absoluteURL(uri) else { return "\"\(uri)\" is not an absolute http(s) URL" }
        if url.fragment != nil || uri.contains("#") { return "\"\(uri)\" must not contain a fragment" }
        if url.scheme?.lowercased() == "http", !LoopbackHost.contains(url.host) {
            return "\"\(uri)\" must use https (plain http only for localhost, 127.0.0.1 or [::1])"
        }
        return nil
    }

    /// The scheme of `uri` when it is neither http nor https.
    static func privateUseScheme(_ uri: String) -> String? {
        guard let colon = uri.firstIndex(of: ":") else { return nil }
        let scheme = uri[..<colon].lowercased()
        let valid = !scheme.isEmpty && scheme.first?.isLetter == true
            && scheme.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "+-.".contains($0)) }
        return valid && scheme != "http" && scheme != "https" ? scheme : nil
    }

    /// A client name is shown on the verification page: short, one line.
    package static func clientNameProblem(_ name: String) -> String? {
        if name.count > 100 { return "must be at most 100 characters long" }
        if name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) { return "must not contain control characters" }
        return nil
    }

    /// A verifier base URL must be an absolute https URL: the bearer token and the verified claims travel over it.
    /// Plain http only to a loopback host (a verifier on the same machine, tests).
    /// `JWKS_URI`: the client's keys decide who it is, so they come over https (plain http only on loopback).
    package static func keySetURLProblem(_ uri: String) -> String? {
        guard let url = Validator.absoluteURL(uri) else { return "\"\(uri)\" is not an absolute http(s) URL" }
        if url.scheme?.lowercased() == "http", !LoopbackHost.contains(url.host) {
            return "\"\(uri)\" must use https (plain http only on loopback)"
        }
        return nil
    }

    package static func verifierURLProblem(_ uri: String) -> String? {
        guard let url = Validator.absoluteURL(uri) else { return "\"\(uri)\" is not an absolute http(s) URL" }
        if url.scheme?.lowercased() == "http", !LoopbackHost.contains(url.host) {
            return "\"\(uri)\" must use https (the verifier's bearer token and the claims travel over it; plain http only on loopback)"
        }
        return nil
    }
}

extension String {
    var nilIfEmpty: String? { isEmpty ? nil : self }
}

extension Validator {
    /// The issue-15 settings of a `[client_*]` section; values that are not valid are reported and left at their defaults.
    mutating func clientSecurity(_ section: IniFile.Section) -> ClientSecurity {
        var security = ClientSecurity()
        security.jwks = section.entry("JWKS")?.value.nilIfEmpty
        security.jwksURI = section.entry("JWKS_URI")?.value.nilIfEmpty
        security.tokenEndpointAuthMethod = section.entry("TOKEN_ENDPOINT_AUTH_METHOD")?.value.lowercased().nilIfEmpty
        security.requireDPoP = yesNo(section, "REQUIRE_DPOP", default: false)
        security.requireDPoPNonce = yesNo(section, "REQUIRE_DPOP_NONCE", default: false)
        security.requireSignedRequestObject = yesNo(section, "REQUIRE_SIGNED_REQUEST_OBJECT", default: false)
        security.requirePushedAuthorizationRequests = yesNo(section, "REQUIRE_PUSHED_AUTHORIZATION_REQUESTS", default: false)
        if let e = section.entry("PROFILE") {
            if let profile = ClientProfile(rawValue: e.value.lowercased()) { security.profile = profile } else {
                error(section, e, "\"\(e.value)\" is not one of standard, fapi2")
            }
        }
        return security
    }

    /// `ES256` or `RS256` (case-insensitive), or nil when the key is absent or empty.
    mutating func signingAlgorithm(_ section: IniFile.Section, _ key: String) -> String? {
        guard let entry = section.entry(key), !entry.value.isEmpty else { return nil }
        guard let alg = ClientConfig.signingAlgorithms.first(where: { $0.caseInsensitiveCompare(entry.value) == .orderedSame }) else {
            error(section, entry, "\"\(entry.value)\" is not one of ES256, RS256")
            return nil
        }
        return alg
    }
}
