import ArgumentParser
import Foundation
import KychCore
import KychOAuth
import KychPostgres
import KychQR
import KychStorage
import Logging
import PostgresNIO

/// `kych-client-management`: registers, changes and removes KyCH's OAuth clients in the database.
@main
struct ClientManagement: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kych-client-management",
        abstract: "Manage the OAuth 2.0 clients registered with a KyCH gateway.",
        subcommands: [List.self, Show.self, Create.self, Update.self, Delete.self, Sync.self, Purge.self, RevokeAttestation.self,
                      CredentialOffer.self])

    @Option(name: [.short, .long], help: "Configuration file (for the DATABASE setting and [client_*] sections).")
    var config: String = GatewayConfig.defaultPath

    /// Loads the configuration and runs `body` with the client repository.
    func withRepository<T: Sendable>(_ body: @Sendable (GatewayConfig, any ClientRepository) async throws -> T) async throws -> T {
        try await withStores { config, stores in try await body(config, stores.clients) }
    }

    /// Loads the configuration and runs `body` with the database's stores.
    func withStores<T: Sendable>(_ body: @Sendable (GatewayConfig, Stores) async throws -> T) async throws -> T {
        let gatewayConfig = try CLISupport.loadConfig(config)
        var logger = Logger(label: "kych-client-management")
        logger.logLevel = .error
        do {
            return try await Stores.with(gatewayConfig.database, sealing: gatewayConfig.sealing, logger: logger) { stores in
                try await body(gatewayConfig, stores)
            }
        } catch let error as PSQLError {
            throw CLIError(PostgresDatabase.operatorMessage(error))
        }
    }
}

/// Flags shared by `create` and `update`; in `update` every one is optional.
struct ClientOptions: ParsableArguments {
    @Option(help: "Client secret (stored as a bcrypt hash; use the RFC 8959 secret-token: prefix).")
    var secret: String?
    @Option(help: "Base URL of the swiyu Verifier this client uses.")
    var verifierURL: String?
    @Option(help: "Path of the verifier's management API (default /management/api/verifications).")
    var verifierApiPath: String?
    @Option(help: "Redirect URI; must match the authorization request's redirect_uri exactly.")
    var redirectURI: String?
    @Option(help: "Trusted issuer DIDs, as a bracketed list: \"{did:a, did:b}\".")
    var acceptedIssuerDids: String?
    @Option(help: "Claims granted when a request has no scope, as a bracketed list: \"{given_name, family_name}\".")
    var defaultScope: String?
    @Option(help: "Verifier query language: dcql (swiyu 3.x/4.x, default) or presentation_definition (2.x).")
    var verifierQuery: String?
    @Option(help: "Static bearer token for the verifier's management API.")
    var verifierBearerToken: String?
    @Option(help: "OAuth error for failed verifications: access_denied (default) or unauthorized_client (Taler).")
    var failureError: String?
    @Option(help: "Header name the verifier's webhook must carry (with --webhook-api-key-value).")
    var webhookApiKeyHeader: String?
    @Option(help: "Value of that webhook header.")
    var webhookApiKeyValue: String?
    @Option(name: .customLong("redirect-uris"), help: "Further redirect URIs, as a bracketed list: \"{https://a.example/cb, com.example.app:/cb}\" (\"{}\" clears them).")
    var redirectURIs: String?
    @Option(help: "Name shown on the verification page instead of the client id (\"\" clears it).")
    var clientName: String?
    @Option(help: "Require PKCE also for this confidential client: yes or no.")
    var requirePkce: String?
    @Option(help: "Put the granted claims into ID tokens too (not only /userinfo): yes or no.")
    var idTokenClaims: String?
    @Option(help: "ID token signature algorithm for this client: ES256 or RS256 (\"\" for the gateway's ID_TOKEN_SIGNING_ALG).")
    var idTokenSigningAlg: String?
    @Option(help: "Access token format: opaque (default) or jwt (RFC 9068, signed by the gateway).")
    var accessTokenFormat: String?
    @Option(name: .customLong("access-token-ttl-seconds"),
            help: "Access token lifetime for this client, 60 to 2592000 seconds (\"\" for the gateway's ACCESS_TOKEN_TTL_SECONDS).")
    var accessTokenTTLSeconds: String?
    @Option(help: "Whether a standard authorization request without /setup may start a session: yes (default) or no.")
    var allowAuthorizeWithoutSetup: String?
    @Option(help: "The client's public keys, a JWK Set as JSON (private_key_jwt, signed request objects; \"\" clears it).")
    var jwks: String?
    @Option(name: .customLong("jwks-uri"), help: "https URL of the client's JWK Set, fetched by the gateway (\"\" clears it).")
    var jwksURI: String?
    @Option(help: "The one client-authentication method allowed: client_secret_basic, client_secret_post, private_key_jwt or none (\"\" allows any).")
    var tokenEndpointAuthMethod: String?
    @Option(name: .customLong("require-dpop"), help: "Issue this client DPoP-bound tokens only: yes or no.")
    var requireDPoP: String?
    @Option(name: .customLong("require-dpop-nonce"), help: "DPoP proofs must carry a server-provided nonce: yes or no.")
    var requireDPoPNonce: String?
    @Option(help: "Authorization requests only as signed request objects (JAR): yes or no.")
    var requireSignedRequestObject: String?
    @Option(help: "Authorization requests only through /par: yes or no.")
    var requirePushedAuthorizationRequests: String?
    @Option(help: "Security profile: standard or fapi2 (PAR, PKCE, DPoP and private_key_jwt).")
    var profile: String?
    @Option(help: "The grant types allowed at /token, e.g. \"{authorization_code, vp_token-bearer}\" (default {authorization_code}).")
    var grantTypes: String?

    /// The issue-15 flags, checked together with the client's credentials as the config file's keys are.
    func applySecurity(to client: inout Client) throws {
        var security = client.security
        if let jwks { security.jwks = jwks.isEmpty ? nil : jwks }
        if let jwksURI { security.jwksURI = jwksURI.isEmpty ? nil : jwksURI }
        if let tokenEndpointAuthMethod { security.tokenEndpointAuthMethod = tokenEndpointAuthMethod.isEmpty ? nil : tokenEndpointAuthMethod.lowercased() }
        if let requireDPoP { security.requireDPoP = try Self.yesNo(requireDPoP, flag: "--require-dpop") }
        if let requireDPoPNonce { security.requireDPoPNonce = try Self.yesNo(requireDPoPNonce, flag: "--require-dpop-nonce") }
        if let requireSignedRequestObject {
            security.requireSignedRequestObject = try Self.yesNo(requireSignedRequestObject, flag: "--require-signed-request-object")
        }
        if let requirePushedAuthorizationRequests {
            security.requirePushedAuthorizationRequests = try Self.yesNo(requirePushedAuthorizationRequests,
                                                                         flag: "--require-pushed-authorization-requests")
        }
        if let profile {
            guard let value = ClientProfile(rawValue: profile.lowercased()) else { throw CLIError("--profile must be standard or fapi2") }
            security.profile = value
        }
        let flags = ["JWKS": "--jwks", "JWKS_URI": "--jwks-uri", "TOKEN_ENDPOINT_AUTH_METHOD": "--token-endpoint-auth-method",
                     "PROFILE": "--profile"]
        if let (key, problem) = security.problems(hasSecret: client.secretHash != nil,
                                                  isPublic: client.secretHash == nil && !security.hasKeys).first {
            throw CLIError("\(flags[key] ?? key) \(problem)")
        }
        client.security = security
    }

    static func yesNo(_ value: String, flag: String) throws -> Bool {
        switch value.lowercased() {
        case "yes", "true", "1": return true
        case "no", "false", "0": return false
        default: throw CLIError("\(flag) must be yes or no")
        }
    }

    /// Applies the given flags to `client`, validating each.
    func apply(to client: inout Client, config: GatewayConfig) throws {
        if let secret {
            // The manual's own `create` example has a 31-byte secret and must work as written: too short is a warning here.
            if let p = ClientRules.secretProblem(secret, minimumBytes: 0) { throw CLIError("--secret \(p)") }
            if let p = ClientRules.secretProblem(secret) { CLISupport.printError("warning: --secret \(p)") }
            client.secretHash = Secrets.hashSecret(secret)
        }
        // Before the redirect URIs: whether the client is public depends on its secret and its keys.
        try applySecurity(to: &client)
        if let grantTypes {
            let list = IniFile.list(grantTypes)
            if let problem = GrantType.listProblem(list) { throw CLIError("--grant-types \(problem)") }
            client.grantTypes = list
        }
        if let verifierURL {
            if let p = ClientRules.verifierURLProblem(verifierURL) { throw CLIError("--verifier-url \(p)") }
            client.verifierURL = verifierURL
        }
        if let verifierApiPath {
            guard verifierApiPath.hasPrefix("/") else { throw CLIError("--verifier-api-path must start with /") }
            client.verifierManagementAPIPath = verifierApiPath
        }
        if let redirectURI {
            if let p = ClientRules.redirectURIProblem(redirectURI, publicClient: client.isPublic) { throw CLIError("--redirect-uri \(p)") }
            client.redirectURI = redirectURI
        }
        if let redirectURIs {
            let uris = IniFile.list(redirectURIs)
            for uri in uris {
                if let p = ClientRules.redirectURIProblem(uri, publicClient: client.isPublic) { throw CLIError("--redirect-uris \(p)") }
            }
            client.additionalRedirectURIs = uris
        }
        if let clientName {
            if let p = ClientRules.clientNameProblem(clientName) { throw CLIError("--client-name \(p)") }
            client.clientName = clientName.isEmpty ? nil : clientName
        }
        if let requirePkce { client.requirePKCE = try Self.yesNo(requirePkce, flag: "--require-pkce") }
        if let idTokenClaims { client.idTokenClaims = try Self.yesNo(idTokenClaims, flag: "--id-token-claims") }
        if let allowAuthorizeWithoutSetup {
            client.allowsAuthorizeWithoutSetup = try Self.yesNo(allowAuthorizeWithoutSetup, flag: "--allow-authorize-without-setup")
        }
        if let idTokenSigningAlg {
            guard idTokenSigningAlg.isEmpty || ClientConfig.signingAlgorithms.contains(idTokenSigningAlg.uppercased()) else {
                throw CLIError("--id-token-signing-alg must be ES256 or RS256")
            }
            client.idTokenSigningAlg = idTokenSigningAlg.isEmpty ? nil : idTokenSigningAlg.uppercased()
        }
        if let accessTokenFormat {
            guard let format = AccessTokenFormat(rawValue: accessTokenFormat.lowercased()) else {
                throw CLIError("--access-token-format must be opaque or jwt")
            }
            client.accessTokenFormat = format
        }
        if let accessTokenTTLSeconds {
            guard accessTokenTTLSeconds.isEmpty || Int(accessTokenTTLSeconds).map({ (60...2_592_000).contains($0) }) == true else {
                throw CLIError("--access-token-ttl-seconds must be 60 to 2592000")
            }
            client.accessTokenTTLSeconds = Int(accessTokenTTLSeconds)
        }
        if let acceptedIssuerDids {
            client.acceptedIssuerDIDs = IniFile.list(acceptedIssuerDids)
            if let p = client.acceptedIssuerDIDs.lazy.compactMap(ClientRules.acceptedIssuerProblem).first {
                throw CLIError("--accepted-issuer-dids: \(p)")
            }
        }
        if let defaultScope {
            let scope = IniFile.list(defaultScope)
            for s in scope where !config.grantableScopes.contains(s) {
                throw CLIError("--default-scope: \"\(s)\" is not in ALLOWED_SCOPES/VC_CLAIMS of \(config.file)")
            }
            client.defaultScope = scope.isEmpty ? nil : scope
        }
        if let verifierQuery {
            guard let q = VerifierQueryLanguage(setting: verifierQuery) else {
                throw CLIError("--verifier-query must be dcql or presentation_definition")
            }
            client.verifierQuery = q
        }
        if let verifierBearerToken { client.verifierBearerToken = verifierBearerToken.isEmpty ? nil : verifierBearerToken }
        if let failureError {
            guard let f = FailureError(rawValue: failureError) else {
                throw CLIError("--failure-error must be access_denied or unauthorized_client")
            }
            client.failureError = f
        }
        if let webhookApiKeyHeader {
            if !webhookApiKeyHeader.isEmpty, let p = HTTPHeaderName.problem(webhookApiKeyHeader) { throw CLIError("--webhook-api-key-header \(p)") }
            client.webhookAPIKeyHeader = webhookApiKeyHeader.isEmpty ? nil : webhookApiKeyHeader
        }
        if let webhookApiKeyValue { client.webhookAPIKeyValue = webhookApiKeyValue.isEmpty ? nil : webhookApiKeyValue }
        if (client.webhookAPIKeyHeader == nil) != (client.webhookAPIKeyValue == nil) {
            throw CLIError("--webhook-api-key-header and --webhook-api-key-value must be set together")
        }
    }
}

extension ClientManagement {
    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List all registered clients.")
        @ParentCommand var root: ClientManagement

        func run() async throws {
            let clients = try await root.withRepository { _, repo in try await repo.listClients() }
            if clients.isEmpty {
                print("No clients registered.")
                return
            }
            let rows = [["CLIENT_ID", "VERIFIER_URL", "REDIRECT_URI"]] + clients.map { [$0.clientID, $0.verifierURL, $0.redirectURI] }
            let widths = (0..<3).map { i in rows.map { $0[i].count }.max() ?? 0 }
            for row in rows {
                print(row.enumerated().map { i, cell in i == 2 ? cell : cell.padding(toLength: widths[i], withPad: " ", startingAt: 0) }
                    .joined(separator: "  "))
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one client's settings (never its secret).")
        @ParentCommand var root: ClientManagement
        @Argument(help: "The client id.") var clientID: String

        func run() async throws {
            let id = clientID
            guard let c = try await root.withRepository({ _, repo in try await repo.client(id: id) }) else {
                throw CLIError(ClientStoreError.unknownClient(id).description)
            }
            let lines: [(String, String)] = [
                ("client_id", c.clientID),
                ("client_secret", c.secretHash == nil ? "(none: public client)" : "(set; stored as a bcrypt hash)"),
                ("verifier_url", c.verifierURL),
                ("verifier_management_api_path", c.verifierManagementAPIPath),
                ("verifier_query", c.verifierQuery.rawValue),
                ("verifier_bearer_token", c.verifierBearerToken == nil ? "(not set)" : "(set)"),
                ("client_type", c.isPublic ? "public" : "confidential"),
                ("client_name", c.clientName ?? "(not set)"),
                ("redirect_uri", c.redirectURI),
                ("redirect_uris", "{" + c.additionalRedirectURIs.joined(separator: ", ") + "}"),
                ("require_pkce", c.requiresPKCE ? "yes" : "no"),
                ("id_token_claims", c.idTokenClaims ? "yes" : "no"),
                ("id_token_signing_alg", c.idTokenSigningAlg ?? "(gateway default)"),
                ("access_token_format", c.accessTokenFormat.rawValue),
                ("access_token_ttl_seconds", c.accessTokenTTLSeconds.map(String.init) ?? "(gateway default)"),
                ("authorize_without_setup", c.allowsAuthorizeWithoutSetup ? "yes" : "no"),
                ("jwks", c.security.jwks == nil ? "(not set)" : "(set)"),
                ("jwks_uri", c.security.jwksURI ?? "(not set)"),
                ("token_endpoint_auth_method", c.security.tokenEndpointAuthMethod ?? "(any of: " + c.authenticationMethods.joined(separator: ", ") + ")"),
                ("require_dpop", c.requiresDPoP ? "yes" : "no"),
                ("require_dpop_nonce", c.security.requireDPoPNonce ? "yes" : "no"),
                ("require_request_object", c.security.requireSignedRequestObject ? "yes" : "no"),
                ("require_par", c.requiresPushedAuthorizationRequests ? "yes" : "no"),
                ("profile", c.security.profile.rawValue),
                ("grant_types", "{" + c.grantTypes.joined(separator: ", ") + "}"),
                ("accepted_issuer_dids", "{" + c.acceptedIssuerDIDs.joined(separator: ", ") + "}"),
                ("default_scope", c.defaultScope.map { "{" + $0.joined(separator: ", ") + "}" } ?? "(gateway default)"),
                ("failure_error", c.failureError.rawValue),
                ("webhook_api_key_header", c.webhookAPIKeyHeader ?? "(not set)"),
                ("webhook_api_key_value", c.webhookAPIKeyValue == nil ? "(not set)" : "(set)"),
            ]
            let width = lines.map(\.0.count).max() ?? 0
            for (k, v) in lines { print("\(k.padding(toLength: width, withPad: " ", startingAt: 0))  \(v)") }
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Register a new client.")
        @ParentCommand var root: ClientManagement
        @Option(help: "The new client's id (A-Z a-z 0-9 - . _ ~).") var clientID: String
        @Flag(name: .customLong("public"), help: "A public client (browser or mobile app): no secret, PKCE required.")
        var isPublic = false
        @OptionGroup var options: ClientOptions

        func validate() throws {
            var required = [("--verifier-url", options.verifierURL), ("--redirect-uri", options.redirectURI)]
            if isPublic {
                if options.secret != nil { throw ValidationError("a --public client has no --secret") }
                if options.jwks != nil || options.jwksURI != nil { throw ValidationError("a --public client has no --jwks or --jwks-uri") }
            } else if options.jwks == nil && options.jwksURI == nil {
                // A client with keys authenticates with private_key_jwt and needs no secret.
                required.insert(("--secret", options.secret), at: 0)
            }
            for (flag, value) in required where value == nil {
                throw ValidationError("Missing expected argument '\(flag)'")
            }
            if let p = ClientRules.clientIDProblem(clientID) { throw ValidationError("--client-id \(p)") }
        }

        func run() async throws {
            let id = clientID, options = options
            try await root.withRepository { config, repo in
                // Public until a secret is applied: the redirect URI rules of a public client apply to it.
                var client = Client(clientID: id, secretHash: nil, verifierURL: "", redirectURI: "")
                try options.apply(to: &client, config: config)
                try await repo.createClient(client)
            }
            print("Client \(id) created.")
        }
    }

    struct Update: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Change a client; only the given options change.")
        @ParentCommand var root: ClientManagement
        @Argument(help: "The client id.") var clientID: String
        @OptionGroup var options: ClientOptions

        func run() async throws {
            let id = clientID, options = options
            try await root.withRepository { config, repo in
                guard var client = try await repo.client(id: id) else { throw ClientStoreError.unknownClient(id) }
                try options.apply(to: &client, config: config)
                try await repo.updateClient(client)
            }
            print("Client \(id) updated.")
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delete a client and, with it, all its sessions, codes and tokens.")
        @ParentCommand var root: ClientManagement
        @Argument(help: "The client id.") var clientID: String
        @Flag(name: .short, help: "Do not ask for confirmation.") var y = false

        func run() async throws {
            let id = clientID
            if !y {
                guard isatty(STDIN_FILENO) == 1 else {
                    throw CLIError("refusing to delete \(id) without confirmation: standard input is not a terminal (use -y)")
                }
                FileHandle.standardError.write(Data("Delete client \(id) and all its sessions, codes and tokens? [y/N] ".utf8))
                let answer = readLine()?.trimmingCharacters(in: .whitespaces).lowercased() ?? ""
                guard answer == "y" || answer == "yes" else {
                    print("Not deleted.")
                    throw ExitCode(1)
                }
            }
            let deleted = try await root.withRepository { _, repo in try await repo.deleteClient(id: id) }
            guard deleted else { throw CLIError(ClientStoreError.unknownClient(id).description) }
            print("Client \(id) deleted.")
        }
    }

    struct Purge: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Erase now the verified claims a client's sessions still hold, and delete its finished sessions.",
            discussion: """
                The client stays registered. Sessions that failed, expired or ended with a code are deleted with their \
                codes and tokens; sessions still waiting for a wallet or for /finalize keep their record, without claims. \
                What the gateway keeps otherwise, and for how long, is in the README ("Data retention").
                """)
        @ParentCommand var root: ClientManagement
        @Option(help: "The client id.") var client: String

        func run() async throws {
            let id = client
            let report = try await root.withStores { _, stores in try await stores.flow.purgeClient(id: id, at: Date()) }
            guard let report else { throw CLIError(ClientStoreError.unknownClient(id).description) }
            print("Client \(id): claims erased from \(report.erasedClaims) sessions, \(report.deletedSessions) finished sessions deleted.")
        }
    }

    struct RevokeAttestation: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "revoke-attestation",
            abstract: "Revoke KyCH attestations (OpenID4VCI): the one with this attestation id, or all issued in the flow with this session id.",
            discussion: """
                The gateway logs each attestation's id when it issues it, with the flow's session id (the "id" of /info). \
                The attestations' status list (GET /status-lists/kych-attestations) marks it revoked from the next fetch on.
                """)
        @ParentCommand var root: ClientManagement
        @Argument(help: "The attestation id, or the session id of the flow it was issued in.") var id: String

        func run() async throws {
            let id = id
            let revoked = try await root.withStores { _, stores in try await stores.flow.revokeAttestations(id: id, at: Date()) }
            guard revoked > 0 else { throw CLIError("no live attestation has the id or session id \(id)") }
            print("Revoked \(revoked) attestation\(revoked == 1 ? "" : "s").")
        }
    }

    struct CredentialOffer: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "credential-offer",
            abstract: "Print an OpenID4VCI credential offer of the KyCH attestation (authorization code flow): an openid-credential-offer:// link.",
            discussion: """
                A wallet that opens the link sends the person through a KyCH verification (GET /authorize with the offer's \
                issuer_state) and receives the attestation. The issuer_state is signed with a key the gateway keeps in the \
                database and expires; it needs BASE_URL.
                """)
        @ParentCommand var root: ClientManagement
        @Option(help: "Only this (public) wallet client may start a flow with the offer.") var clientId: String?
        @Option(help: "Seconds the offer may be started, 60 to 2592000 (default 86400).") var expiresIn: Int = Int(CredentialOffers.defaultLifetime)
        @Option(help: "Also write the link as a QR code into this PNG file.") var qr: String?
        @Flag(help: "Also print the link as a QR code for the terminal.") var qrText = false
        @Flag(help: "Link to the offer (credential_offer_uri, served by the gateway) instead of carrying it: a shorter link and QR code.")
        var byReference = false

        func validate() throws {
            guard (60...Int(CredentialOffers.maximumLifetime)).contains(expiresIn) else {
                throw ValidationError("--expires-in must be 60 to \(Int(CredentialOffers.maximumLifetime)) seconds")
            }
        }

        func run() async throws {
            let (clientID, lifetime, byReference) = (clientId, TimeInterval(expiresIn), byReference)
            let link = try await root.withStores { config, stores in
                guard let issuer = config.baseURL else { throw CLIError("credential offers need BASE_URL in the configuration") }
                if let clientID, try await stores.clients.client(id: clientID) == nil {
                    throw CLIError(ClientStoreError.unknownClient(clientID).description)
                }
                let offers = CredentialOffers(issuer: issuer, store: stores.flow)
                let offer = try await offers.offer(clientID: clientID, lifetime: lifetime, now: Date())
                return byReference ? offers.linkByReference(offer) : CredentialOffers.link(offer)
            }
            print(link)
            guard qr != nil || qrText else { return }
            let code: QRCode
            do { code = try QRCode(text: link) } catch { throw CLIError("the offer is too long for a QR code") }
            if let qr {
                guard FileManager.default.createFile(atPath: qr, contents: Data(code.png())) else { throw CLIError("cannot write \(qr)") }
            }
            if qrText { print(code.text(), terminator: "") }
        }
    }

    struct Sync: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create or update every [client_*] section of the configuration in the database.")
        @ParentCommand var root: ClientManagement
        @Flag(help: "Also delete clients that are not in the configuration file (with their sessions and tokens).")
        var prune = false

        func run() async throws {
            let prune = prune
            let report = try await root.withRepository { config, repo in
                var clients: [Client] = []
                for c in config.clients {
                    let existing: Client?
                    do {
                        existing = try await repo.client(id: c.clientID)
                    } catch is SecretSealingError {
                        existing = nil   // sealed under another KEY_ENCRYPTION_SECRET: the sync writes them anew
                    }
                    clients.append(Client(config: c, existingHash: existing?.secretHash))
                }
                return try await repo.syncClients(clients, prune: prune)
            }
            for id in report.created { print("created \(id)") }
            for id in report.updated { print("updated \(id)") }
            for id in report.deleted { print("deleted \(id)") }
            print("Sync complete: \(report.created.count) created, \(report.updated.count) updated, \(report.deleted.count) deleted.")
        }
    }
}
