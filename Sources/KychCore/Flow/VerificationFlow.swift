import Foundation
import Logging

/// The KyCH flow (manual steps 2-11) without HTTP: each method takes request values and returns
/// response values, or throws a ``FlowError`` that says how to answer.
public struct VerificationFlow: Sendable {
    public let config: GatewayConfig
    public let clients: any ClientRepository
    public let store: any FlowStore
    public let verifier: SwiyuVerifierClient
    public let authenticator: ClientAuthenticator
    public let logger: Logger
    /// How long `/status` waits before asking the verifier itself about a waiting session.
    public var verifierPollInterval: TimeInterval = 3
    /// The longest long poll `/status` serves.
    public var maximumLongPoll: Duration = .seconds(30)

    public init(config: GatewayConfig, clients: any ClientRepository, store: any FlowStore, verifier: SwiyuVerifierClient,
                authenticator: ClientAuthenticator = ClientAuthenticator(), logger: Logger) {
        self.config = config
        self.clients = clients
        self.store = store
        self.verifier = verifier
        self.authenticator = authenticator
        self.logger = logger
    }

    // MARK: setup

    /// `POST /setup/{client_id}` with `Authorization: Bearer <secret>`: a new session's nonce.
    public func setup(clientID: String, bearerSecret: String?) async throws -> String {
        guard let bearerSecret, !bearerSecret.isEmpty else {
            throw FlowError.oauth(status: 401, error: "invalid_client", description: "missing Authorization: Bearer <client secret>",
                                  wwwAuthenticate: "Bearer realm=\"kych\"")
        }
        guard let client = try await clients.client(id: clientID), await authenticator.authenticate(client, secret: bearerSecret) else {
            logger.notice("setup refused", metadata: ["client_id": "\(clientID)"])
            throw FlowError.oauth(status: 401, error: "invalid_client", description: "unknown client or wrong client secret",
                                  wwwAuthenticate: "Bearer realm=\"kych\", error=\"invalid_client\"")
        }
        let nonce = try await createSession(for: client)
        logger.info("session created", metadata: ["client_id": "\(clientID)"])
        return nonce
    }

    private func createSession(for client: Client) async throws -> String {
        let nonce = Secrets.randomToken(bytes: config.nonceBytes)
        let expires = Date().addingTimeInterval(TimeInterval(config.sessionTTLMinutes * 60))
        guard try await store.createSession(clientID: client.clientID, sessionID: UUID().uuidString.lowercased(),
                                            nonce: nonce, expiresAt: expires) else {
            throw FlowError.oauth(status: 401, error: "invalid_client", description: "unknown client")
        }
        return nonce
    }

    // MARK: authorize

    /// The query of an authorization request.
    public struct AuthorizationRequest: Sendable {
        public var responseType: String?
        public var clientID: String?
        public var redirectURI: String?
        public var state: String?
        public var scope: String?

        public init(responseType: String?, clientID: String?, redirectURI: String?, state: String?, scope: String?) {
            self.responseType = responseType
            self.clientID = clientID
            self.redirectURI = redirectURI
            self.state = state
            self.scope = scope
        }
    }

    /// What the verification page (or its JSON form) shows.
    public struct Authorization: Sendable {
        public var session: VerificationSession
        public var client: Client
        public var verification: VerifierVerification
        /// The browser-binding cookie value to set; nil when this browser did not start the verification.
        public var bindingCookie: String?
    }

    /// `GET /authorize/{nonce}` (or `GET /authorize` with no nonce: a standard OAuth authorization request).
    public func authorize(nonce: String?, request: AuthorizationRequest) async throws -> Authorization {
        guard let clientID = request.clientID, !clientID.isEmpty else {
            throw FlowError.page(status: 400, title: "Invalid request", message: "The request does not name a client (client_id).")
        }
        if let state = request.state, state.utf8.count > 512 {
            throw FlowError.page(status: 400, title: "Invalid request", message: "The state parameter is too long.")
        }
        let registered = try await clients.client(id: clientID)
        let session: VerificationSession, client: Client
        if let nonce {
            guard let found = try await store.session(nonce: nonce), found.clientID == clientID, let registered else {
                throw FlowError.page(status: 404, title: "Unknown verification link",
                                     message: "This verification link is unknown. Please start again from the service that sent you here.")
            }
            (session, client) = (found, registered)
            try checkRedirect(request, client: client)
        } else {
            guard let registered else {
                throw FlowError.page(status: 400, title: "Unknown client", message: "The client \(clientID) is not registered.")
            }
            client = registered
            try checkRedirect(request, client: client)
            try validate(request, client: client)
            guard let created = try await store.session(nonce: try await createSession(for: client)) else {
                throw FlowError.page(status: 500, title: "Internal error", message: "The session could not be created.")
            }
            session = created
        }
        if session.effectiveStatus(now: Date()) == .expired {
            throw FlowError.page(status: 410, title: "Verification expired",
                                 message: "This verification link has expired. Please start again from the service that sent you here.")
        }
        let scope = try validate(request, client: client)
        if let verification = session.verification {
            // A reload (the page's no-JavaScript path): ask the verifier if it is due, send a failure on to the client.
            var current = session
            if current.status == .authorized, try await store.claimVerifierCheck(verificationID: verification.id, interval: verifierPollInterval) {
                try? await refresh(current, client: client)
                current = try await store.session(nonce: current.nonce) ?? current
            }
            if current.status == .failed, let redirect = current.redirectURI {
                throw FlowError.redirect(failureRedirect(current, client: client, redirectURI: redirect))
            }
            guard !current.status.isFinal else {
                throw FlowError.page(status: 410, title: "Verification finished",
                                     message: "This verification has already finished. Please start again from the service that sent you here.")
            }
            return Authorization(session: current, client: client, verification: verification, bindingCookie: nil)
        }
        let verification: VerifierVerification
        do {
            verification = try await verifier.createVerification(for: client, claims: scope)
        } catch {
            logger.error("verifier unavailable", metadata: ["client_id": "\(client.clientID)", "error": "\(error)"])
            throw FlowError.page(status: 502, title: "Verification service unavailable",
                                 message: "The identity verification service is not reachable right now. Please try again in a moment.")
        }
        let cookie = Secrets.randomToken(bytes: 32)
        let record = AuthorizationRequestRecord(redirectURI: client.redirectURI, state: request.state, scope: scope,
                                                browserBindingHash: Secrets.sha256(cookie))
        guard let stored = try await store.recordAuthorization(nonce: session.nonce, request: record, verification: verification),
              let storedVerification = stored.verification else {
            throw FlowError.page(status: 410, title: "Verification expired",
                                 message: "This verification link has expired. Please start again from the service that sent you here.")
        }
        let won = stored.browserBindingHash == record.browserBindingHash
        logger.info("verification started", metadata: ["client_id": "\(client.clientID)", "verification_id": "\(storedVerification.id)"])
        return Authorization(session: stored, client: client, verification: storedVerification, bindingCookie: won ? cookie : nil)
    }

    /// The redirect URI must equal the registered one exactly before any error may be redirected.
    private func checkRedirect(_ request: AuthorizationRequest, client: Client) throws {
        guard request.redirectURI == client.redirectURI else {
            throw FlowError.page(status: 400, title: "Invalid redirect URI",
                                 message: "The redirect_uri of this request is not the one registered for the client.")
        }
    }

    /// Checks response_type and scope (errors go back to the redirect URI); returns the granted claims.
    @discardableResult
    private func validate(_ request: AuthorizationRequest, client: Client) throws -> [String] {
        func fail(_ error: String, _ description: String) -> FlowError {
            .redirect(RedirectURI.with(client.redirectURI, [("error", error), ("error_description", description), ("state", request.state)]))
        }
        guard request.responseType == "code" else {
            throw fail("unsupported_response_type", "response_type must be code")
        }
        let grantable = config.grantableScopes
        let requested = (request.scope ?? "").split(separator: " ").map(String.init)
        let scope = !requested.isEmpty ? requested : client.defaultScope ?? grantable
        if let bad = scope.first(where: { !grantable.contains($0) }) {
            throw fail("invalid_scope", "the scope \(bad) may not be requested")
        }
        var seen = Set<String>()
        return scope.filter { seen.insert($0).inserted }
    }

    // MARK: notification and status

    /// `POST /notification`: the verifier's webhook. `apiKey` reads a request header by name.
    public func notification(verificationID: String, apiKey: (String) -> String?) async throws {
        guard let session = try await store.session(verificationID: verificationID),
              let client = try await clients.client(id: session.clientID) else {
            logger.info("webhook for unknown verification ignored", metadata: ["verification_id": "\(verificationID)"])
            return
        }
        if let header = client.webhookAPIKeyHeader, let expected = client.webhookAPIKeyValue {
            guard let presented = apiKey(header), constantTimeEqual(presented, expected) else {
                logger.notice("webhook refused: wrong API key", metadata: ["verification_id": "\(verificationID)"])
                throw FlowError.oauth(status: 401, error: "invalid_client", description: "missing or wrong webhook API key")
            }
        }
        logger.info("webhook received", metadata: ["verification_id": "\(verificationID)"])
        try await refresh(session, client: client)
    }

    /// Asks the verifier about a waiting session and applies the answer.
    private func refresh(_ session: VerificationSession, client: Client) async throws {
        guard session.status == .authorized, let verification = session.verification else { return }
        let outcome: VerifierOutcome
        do {
            outcome = try await verifier.outcome(of: verification.id, for: client, granted: session.scope ?? [])
        } catch {
            logger.warning("verifier result unavailable", metadata: ["verification_id": "\(verification.id)", "error": "\(error)"])
            throw FlowError.oauth(status: 503, error: "temporarily_unavailable", description: "the verifier could not be asked; retry later")
        }
        if let status = try await store.applyOutcome(verificationID: verification.id, outcome: outcome) {
            var metadata: Logger.Metadata = ["verification_id": "\(verification.id)", "status": "\(status.rawValue)"]
            if case .failed(let code, _) = outcome { metadata["error_code"] = "\(code ?? "none")" }
            logger.info("session status changed", metadata: metadata)
        }
    }

    /// `GET /status/{verification_id}`: the session status, waiting up to `timeout` for a change, or until
    /// `stopWaiting` says the server is shutting down (then the current status is the answer).
    public func status(verificationID: String, state: String?, timeout: Duration,
                       stopWaiting: @Sendable () -> Bool = { false }) async throws -> SessionStatus {
        let deadline = ContinuousClock.now + min(timeout, maximumLongPoll)
        var client: Client?
        while true {
            guard let session = try await store.session(verificationID: verificationID) else {
                throw FlowError.oauth(status: 404, error: "not_found", description: "unknown verification")
            }
            if let state, session.state != nil, state != session.state {
                throw FlowError.invalidRequest("state does not match this verification")
            }
            let status = session.effectiveStatus(now: Date())
            guard status == .authorized || status == .pending else { return status }
            if status == .authorized,
               try await store.claimVerifierCheck(verificationID: verificationID, interval: verifierPollInterval) {
                if client == nil { client = try await clients.client(id: session.clientID) }
                if let client {
                    try? await refresh(session, client: client)
                    if let now = try await store.session(verificationID: verificationID)?.effectiveStatus(now: Date()), now != status {
                        return now
                    }
                }
            }
            if ContinuousClock.now >= deadline || stopWaiting() { return status }
            try await Task.sleep(for: min(.milliseconds(250), deadline - ContinuousClock.now))
        }
    }

    // MARK: finalize

    /// `GET /finalize/{verification_id}`: the redirect back to the client, with a code or an error.
    public func finalize(verificationID: String, state: String?, bindingCookie: String?) async throws -> String {
        guard let session = try await store.session(verificationID: verificationID),
              let client = try await clients.client(id: session.clientID), let redirect = session.redirectURI else {
            throw FlowError.page(status: 404, title: "Unknown verification", message: "This verification is unknown.")
        }
        if let state, session.state != nil, state != session.state {
            throw FlowError.page(status: 400, title: "Invalid request", message: "The state does not match this verification.")
        }
        switch session.effectiveStatus(now: Date()) {
        case .verified:
            let code = Secrets.randomToken(bytes: config.authCodeBytes)
            let expires = Date().addingTimeInterval(TimeInterval(config.authCodeTTLMinutes * 60))
            let result = try await store.issueCode(verificationID: verificationID, browserBindingHash: bindingCookie.map(Secrets.sha256),
                                                   codeHash: Secrets.sha256(code), expiresAt: expires)
            guard case .issued = result else {
                throw FlowError.page(status: 403, title: "Different browser",
                                     message: "This verification was started in another browser. Please finish it there, or start again.")
            }
            logger.info("authorization code issued", metadata: ["client_id": "\(client.clientID)", "verification_id": "\(verificationID)"])
            return RedirectURI.with(redirect, [("code", code), ("state", session.state)])
        case .failed:
            return failureRedirect(session, client: client, redirectURI: redirect)
        case .expired:
            throw FlowError.page(status: 410, title: "Verification expired",
                                 message: "This verification has expired. Please start again from the service that sent you here.")
        case .completed:
            throw FlowError.page(status: 409, title: "Verification finished", message: "This verification has already been completed.")
        case .pending, .authorized:
            throw FlowError.page(status: 409, title: "Not verified yet",
                                 message: "The verification is not finished yet. Please complete it in your swiyu wallet.")
        }
    }

    /// The redirect that tells the client a verification failed: its FAILURE_ERROR for a failed verification,
    /// `server_error` for a fault of KyCH, the verifier or a registry.
    private func failureRedirect(_ session: VerificationSession, client: Client, redirectURI: String) -> String {
        let failure = session.failure
        let error = failure?.kind == .server ? "server_error" : client.failureError.rawValue
        let description = failure?.kind == .server
            ? "the verification could not be completed because of a technical fault"
            : "the identity verification failed" + (failure?.code.map { " (\($0))" } ?? "")
        return RedirectURI.with(redirectURI, [("error", error), ("error_description", description), ("state", session.state)])
    }

    // MARK: token and info

    /// The fields of a token request (form body) and the HTTP Basic credentials, if any.
    public struct TokenRequest: Sendable {
        public var form: [String: String]
        public var basic: (clientID: String, secret: String)?
        public init(form: [String: String], basic: (clientID: String, secret: String)?) {
            self.form = form
            self.basic = basic
        }
    }

    /// The token response.
    public struct TokenResponse: Sendable, Codable, Equatable {
        public var access_token: String
        public var token_type: String
        public var expires_in: Int
    }

    /// `POST /token`: exchanges a code for an access token (RFC 6749 §4.1.3).
    public func token(_ request: TokenRequest) async throws -> TokenResponse {
        let form = request.form
        let clientID: String, secret: String
        if let basic = request.basic {
            if form["client_secret"] != nil { throw FlowError.invalidRequest("use one client authentication method, not two") }
            if let bodyID = form["client_id"], bodyID != basic.clientID { throw FlowError.invalidRequest("client_id does not match the credentials") }
            (clientID, secret) = basic
        } else {
            guard let id = form["client_id"], let s = form["client_secret"] else {
                throw FlowError.invalidClient("client authentication is missing (client_id and client_secret, or HTTP Basic)")
            }
            (clientID, secret) = (id, s)
        }
        guard let grantType = form["grant_type"] else { throw FlowError.invalidRequest("grant_type is missing") }
        guard grantType == "authorization_code" else {
            throw FlowError.oauth(status: 400, error: "unsupported_grant_type", description: "only authorization_code is supported")
        }
        guard let client = try await clients.client(id: clientID), await authenticator.authenticate(client, secret: secret) else {
            logger.notice("token request with bad client credentials", metadata: ["client_id": "\(clientID)"])
            throw FlowError.invalidClient("unknown client or wrong client secret", basic: request.basic != nil)
        }
        guard let code = form["code"], !code.isEmpty else { throw FlowError.invalidRequest("code is missing") }
        guard let redirectURI = form["redirect_uri"] else { throw FlowError.invalidRequest("redirect_uri is missing") }
        let token = Secrets.randomToken(bytes: config.tokenBytes)
        let result = try await store.redeemCode(
            codeHash: Secrets.sha256(code), clientID: client.clientID, redirectURI: redirectURI,
            tokenHash: Secrets.sha256(token), tokenExpiresAt: Date().addingTimeInterval(TimeInterval(config.accessTokenTTLSeconds)))
        switch result {
        case .issued:
            logger.info("access token issued", metadata: ["client_id": "\(client.clientID)"])
            return TokenResponse(access_token: token, token_type: "Bearer", expires_in: config.accessTokenTTLSeconds)
        case .unknownCode: throw FlowError.invalidGrant("the authorization code is unknown")
        case .expired: throw FlowError.invalidGrant("the authorization code has expired")
        case .replayed:
            logger.warning("authorization code replayed; tokens revoked", metadata: ["client_id": "\(client.clientID)"])
            throw FlowError.invalidGrant("the authorization code was already used; tokens issued from it are revoked")
        case .otherClient: throw FlowError.invalidGrant("the authorization code was issued to another client")
        case .redirectMismatch: throw FlowError.invalidGrant("redirect_uri does not match the authorization request")
        }
    }

    /// The `/info` response.
    public struct Info: Sendable, Encodable {
        public var id: String
        public var status: String
        public var claims: [String: JSON]
        public var credential: Credential
        public var verified_at: String?

        public struct Credential: Sendable, Encodable {
            public var vct: String?
            public var issuer: String?
        }
    }

    /// `GET /info` with `Authorization: Bearer <token>`: the verified claims.
    public func info(bearerToken: String?) async throws -> Info {
        guard let bearerToken, !bearerToken.isEmpty else { throw FlowError.invalidToken("missing access token") }
        guard let grant = try await store.tokenGrant(tokenHash: Secrets.sha256(bearerToken)) else {
            throw FlowError.invalidToken("the access token is unknown, expired or revoked")
        }
        logger.info("claims served", metadata: ["client_id": "\(grant.clientID)"])
        return Info(id: grant.sessionID, status: "success", claims: grant.claims,
                    credential: .init(vct: grant.vct, issuer: grant.issuer),
                    verified_at: grant.verifiedAt.map { $0.formatted(.iso8601) })
    }
}

/// Compares two strings in time independent of where they differ.
func constantTimeEqual(_ a: String, _ b: String) -> Bool {
    let x = Array(a.utf8), y = Array(b.utf8)
    guard x.count == y.count else { return false }
    return zip(x, y).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
}
