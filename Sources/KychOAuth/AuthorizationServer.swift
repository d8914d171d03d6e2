import Foundation
import KychCore
import Logging

/// The KyCH authorization server without HTTP: each endpoint takes typed request values and returns
/// response values, or throws a ``FlowError`` that says how to answer. It composes the parts: the
/// authorize checks, the client authenticator, the token endpoint's grant handlers, the session state
/// machine, a ``FlowStore`` and a ``VerifierPort``.
package struct AuthorizationServer: Sendable {
    package let config: GatewayConfig
    package let clients: any ClientRepository
    package let store: any FlowStore
    package let verifier: any VerifierPort
    package let authenticator: ClientAuthenticator
    package let tokenEndpoint: TokenEndpoint
    package let infoEndpoint: InfoEndpoint
    package let tokenManagement: TokenManagement
    /// OpenID Connect: ID tokens, `/userinfo` and the discovery document; nil without `BASE_URL` or signing keys.
    package let openID: OpenIDProvider?
    package let authorizeChecks: [any AuthorizeCheck]
    package let logger: Logger
    /// The one clock every rule reads.
    package let now: @Sendable () -> Date
    /// How long `/status` waits before asking the verifier itself about a waiting session.
    package var verifierPollInterval: TimeInterval = 3
    /// The longest long poll `/status` serves.
    package var maximumLongPoll: Duration = .seconds(30)
    /// Lets one webhook per verification and interval ask the verifier.
    package let notificationThrottle = NotificationThrottle(interval: 3)

    package init(config: GatewayConfig, clients: any ClientRepository, store: any FlowStore, verifier: any VerifierPort,
                 signingKeys: SigningKeys? = nil,
                 checkSecret: @escaping ClientAuthenticator.SecretCheck = { Secrets.verifySecret($0, hash: $1) },
                 logger: Logger, now: @escaping @Sendable () -> Date = Date.init) {
        self.config = config
        self.clients = clients
        self.store = store
        self.verifier = verifier
        self.logger = logger
        self.now = now
        let limits = FailedAuthenticationLimits(.init(perClient: config.authFailuresPerClient, perAddress: config.authFailuresPerAddress),
                                                now: now)
        let authenticator = ClientAuthenticator(clients: clients, limits: limits, logger: logger, checkSecret: checkSecret)
        self.authenticator = authenticator
        let openID = signingKeys.flatMap { OpenIDProvider(config: config, keys: $0, store: store, logger: logger, now: now) }
        self.openID = openID
        var issuers: [AccessTokenFormat: any AccessTokenIssuer] = [.opaque: OpaqueAccessTokenIssuer(bytes: config.tokenBytes)]
        if let idTokens = openID?.idTokens {
            issuers[.jwt] = JWTAccessTokenIssuer(keys: idTokens.keys, subjects: idTokens.subjects, issuer: idTokens.issuer,
                                                 algorithm: idTokens.defaultAlgorithm)
        }
        tokenEndpoint = TokenEndpoint(authenticator: authenticator, handlers: [
            AuthorizationCodeGrant(store: store, issuers: issuers, defaultLifetimeSeconds: config.accessTokenTTLSeconds,
                                   idTokens: openID?.idTokens, logger: logger, now: now),
        ])
        infoEndpoint = InfoEndpoint(store: store, logger: logger, now: now)
        tokenManagement = TokenManagement(authenticator: authenticator, store: store, issuer: config.baseURL, logger: logger, now: now)
        authorizeChecks = AuthorizeChecks.standard
    }

    // MARK: setup

    /// `POST /setup/{client_id}` with `Authorization: Bearer <secret>`: a new session's nonce.
    package func setup(clientID: String, authorization: String?, sourceAddress: String? = nil) async throws -> String {
        let request = ClientAuthenticationRequest(pathClientID: clientID, authorization: authorization, sourceAddress: sourceAddress)
        let client = try await authenticator.authenticate(request, methods: [BearerSecretAuthentication()])
        let nonce = try await createSession(for: client)
        logger.info("session created", metadata: ["client_id": "\(clientID)"])
        return nonce
    }

    func createSession(for client: Client) async throws -> String {
        let nonce = Secrets.randomToken(bytes: config.nonceBytes)
        let now = now()
        let session = NewSession(clientID: client.clientID, sessionID: UUID().uuidString.lowercased(), nonce: nonce,
                                 createdAt: now, expiresAt: now.addingTimeInterval(TimeInterval(config.sessionTTLMinutes * 60)))
        guard try await store.createSession(session) else {
            throw FlowError.oauth(status: 401, error: "invalid_client", description: "unknown client")
        }
        return nonce
    }

    // MARK: notification and status

    /// `POST /notification`: the verifier's webhook. `apiKey` reads a request header by name.
    ///
    /// The body names only a verification, and the API key belongs to a client, so the key is checked
    /// first against the keys of all clients, before the verification is looked up. Without a valid key
    /// the answer is 401 when every client has a key, and 204 when some client has none (it takes anyone's
    /// notifications): either way the same for known and unknown ids, so the answer is no oracle. A
    /// notification for a client whose key was not presented is ignored (204) like an unknown one. Only
    /// one notification per verification and ``notificationThrottle`` interval makes KyCH ask the verifier;
    /// the others are answered 204 and coalesced (their answer would be the same).
    package func notification(verificationID: String, apiKey: (String) -> String?) async throws {
        let clients = try await clients.listClients()
        var keyless = false
        var keyHolders: Set<String> = []
        for client in clients {
            guard let header = client.webhookAPIKeyHeader, let expected = client.webhookAPIKeyValue else {
                keyless = true
                continue
            }
            if let presented = apiKey(header), Secrets.constantTimeEqual(presented, expected) { keyHolders.insert(client.clientID) }
        }
        if keyHolders.isEmpty && !keyless && !clients.isEmpty {
            logger.notice("webhook refused: missing or wrong API key")
            throw FlowError.oauth(status: 401, error: "invalid_client", description: "missing or wrong webhook API key")
        }
        guard let session = try await store.session(verificationID: verificationID),
              let client = clients.first(where: { $0.clientID == session.clientID }),
              client.webhookAPIKeyHeader == nil || keyHolders.contains(client.clientID) else {
            logger.info("webhook ignored: unknown verification or not its client's key", metadata: ["verification_id": "\(verificationID)"])
            return
        }
        guard session.status == .authorized else { return }
        guard notificationThrottle.admit(verificationID, now: now()) else {
            logger.info("webhook coalesced", metadata: ["verification_id": "\(verificationID)"])
            return
        }
        logger.info("webhook received", metadata: ["verification_id": "\(verificationID)"])
        try await refresh(session, client: client)
    }

    /// Asks the verifier about a waiting session and applies the answer.
    func refresh(_ session: VerificationSession, client: Client) async throws {
        guard session.status == .authorized, let verification = session.verification else { return }
        let outcome: VerifierOutcome
        do {
            outcome = try await verifier.outcome(of: verification.id, for: client, granted: session.scope ?? [])
                .requiringIssuer(in: client.acceptedIssuerDIDs)
        } catch {
            logger.warning("verifier result unavailable", metadata: ["verification_id": "\(verification.id)", "error": "\(error)"])
            throw FlowError.oauth(status: 503, error: "temporarily_unavailable", description: "the verifier could not be asked; retry later")
        }
        guard let transition = SessionMachine(now: now()).verifierAnswered(outcome, session: session),
              try await store.apply(transition, toSession: session.serial) else { return }
        var metadata: Logger.Metadata = ["verification_id": "\(verification.id)", "status": "\(transition.to.rawValue)"]
        if case .failed(let code, _) = outcome { metadata["error_code"] = "\(code ?? "none")" }
        logger.info("session status changed", metadata: metadata)
    }

    /// Claims the right to ask the verifier about `session` now (once per poll interval across instances).
    func claimVerifierCheck(_ session: VerificationSession) async throws -> Bool {
        let now = now()
        guard SessionMachine(now: now).verifierCheckDue(session, interval: verifierPollInterval) else { return false }
        return try await store.claimVerifierCheck(session: session.serial, status: .authorized,
                                                  checkedBefore: now.addingTimeInterval(-verifierPollInterval), now: now)
    }

    /// `GET /status/{verification_id}`: the session status, waiting up to `timeout` for a change, or until
    /// `stopWaiting` says the server is shutting down (then the current status is the answer).
    package func status(verificationID: String, state: String?, timeout: Duration,
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
            let status = session.effectiveStatus(now: now())
            guard status == .authorized || status == .pending else { return status }
            if status == .authorized, try await claimVerifierCheck(session) {
                if client == nil { client = try await clients.client(id: session.clientID) }
                if let client {
                    try? await refresh(session, client: client)
                    if let current = try await store.session(verificationID: verificationID)?.effectiveStatus(now: now()), current != status {
                        return current
                    }
                }
            }
            if ContinuousClock.now >= deadline || stopWaiting() { return status }
            try await Task.sleep(for: min(.milliseconds(250), deadline - ContinuousClock.now))
        }
    }

    // MARK: finalize

    /// `GET /finalize/{verification_id}`: the redirect back to the client, with a code or an error.
    package func finalize(verificationID: String, state: String?, bindingCookie: String?) async throws -> String {
        guard let session = try await store.session(verificationID: verificationID),
              let client = try await clients.client(id: session.clientID), let redirect = session.redirectURI else {
            throw FlowError.page(status: 404, kind: .unknownVerification, message: "This verification is unknown.")
        }
        if let state, session.state != nil, state != session.state {
            throw FlowError.page(status: 400, kind: .invalidRequest, message: "The state does not match this verification.")
        }
        let now = now()
        switch session.effectiveStatus(now: now) {
        case .verified:
            // The cookie set by /authorize binds the code to the browser that started the verification.
            if let binding = session.browserBindingHash, bindingCookie.map(Secrets.sha256) != binding {
                throw FlowError.page(status: 403, kind: .differentBrowser,
                                     message: "This verification was started in another browser. Please finish it there, or start again.")
            }
            let code = Secrets.randomToken(bytes: config.authCodeBytes)
            let record = NewAuthorizationCode(codeHash: Secrets.sha256(code), redirectURI: redirect, codeChallenge: session.codeChallenge,
                                              createdAt: now,
                                              expiresAt: now.addingTimeInterval(TimeInterval(config.authCodeTTLMinutes * 60)))
            guard try await store.apply(SessionMachine(now: now).codeIssued(), toSession: session.serial, issuing: record) else {
                throw FlowError.page(status: 409, kind: .finished, message: "This verification has already been completed.")
            }
            logger.info("authorization code issued", metadata: ["client_id": "\(client.clientID)", "verification_id": "\(verificationID)"])
            return RedirectURI.with(redirect, [("code", code), ("state", session.state), ("iss", config.baseURL)])
        case .failed:
            return failureRedirect(session, client: client, redirectURI: redirect)
        case .expired:
            throw FlowError.page(status: 410, kind: .expired,
                                 message: "This verification has expired. Please start again from the service that sent you here.")
        case .completed:
            throw FlowError.page(status: 409, kind: .finished, message: "This verification has already been completed.")
        case .pending, .authorized:
            throw FlowError.page(status: 409, kind: .notVerifiedYet,
                                 message: "The verification is not finished yet. Please complete it in your swiyu wallet.")
        }
    }

    /// The redirect that tells the client a verification failed: its FAILURE_ERROR for a failed verification,
    /// `server_error` for a fault of KyCH, the verifier or a registry.
    func failureRedirect(_ session: VerificationSession, client: Client, redirectURI: String) -> String {
        let failure = session.failure
        let error = failure?.kind == .server ? "server_error" : client.failureError.rawValue
        let description = failure?.kind == .server
            ? "the verification could not be completed because of a technical fault"
            : "the identity verification failed" + (failure?.code.map { " (\($0))" } ?? "")
        return RedirectURI.with(redirectURI, [("error", error), ("error_description", description), ("state", session.state),
                                              ("iss", config.baseURL)])
    }

    // MARK: token and info

    /// `POST /token`.
    package func token(_ request: TokenRequest) async throws -> TokenResponse {
        try await tokenEndpoint.token(request)
    }

    /// `GET /info`.
    package func info(bearerToken: String?) async throws -> Info {
        try await infoEndpoint.info(bearerToken: bearerToken)
    }

    // MARK: purge

    /// Marks waiting sessions past their expiry `expired`, and deletes what expired more than `retention` ago.
    package func purge(retention: TimeInterval) async throws -> PurgeReport {
        let now = now()
        let expired = try await store.applyToExpiredSessions(SessionMachine(now: now).timedOut(), expiredBy: now)
        var report = try await store.deleteExpired(before: now.addingTimeInterval(-retention))
        report.expiredSessions = expired
        return report
    }
}
