import Foundation
import KychCore
import KychSDJWT
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
    /// The clients' public keys (`JWKS`, `JWKS_URI`), for what they sign.
    package let clientKeys: any ClientKeySource
    package let authenticator: ClientAuthenticator
    package let tokenEndpoint: TokenEndpoint
    /// The nonces of `POST /nonce` for `vp_token-bearer` presentations.
    package let presentationNonces: PresentationNonces
    package let infoEndpoint: InfoEndpoint
    /// `CLAIMS_RETENTION_MINUTES`: claims are erased as they are delivered, or once past their retention.
    package let claimsRetention: ClaimsRetention
    package let tokenManagement: TokenManagement
    /// DPoP proofs (RFC 9449) at every endpoint that takes them, and the server nonces.
    package let dpop: DPoPProofChecker
    /// The live token a resource request presents, DPoP-bound ones only with their key's proof.
    package let resourceAccess: ResourceAccess
    /// OpenID Connect: ID tokens, `/userinfo` and the discovery document; nil without `BASE_URL` or signing keys.
    package let openID: OpenIDProvider?
    /// OpenID4VCI: the KyCH attestation issued at `/credential`; nil without `BASE_URL` or signing keys.
    package let credentialIssuer: CredentialIssuer?
    /// OpenID4VCI credential offers of the attestation (their `issuer_state`); nil when KyCH issues none.
    package let credentialOffers: CredentialOffers?
    package let authorizeChecks: [any AuthorizeCheck]
    /// The limits on sessions that nonce-less `/authorize` requests start.
    package let admission: SessionAdmission
    /// The key of the browser-binding cookies (see ``bindingCookie(nonce:)``).
    let bindingKey: SharedKey
    /// Each session's one authorization code (``AuthorizationCodes``).
    let codes: AuthorizationCodes
    package let logger: Logger
    /// The one clock every rule reads.
    package let now: @Sendable () -> Date
    /// How long `/status` waits before asking the verifier itself about a waiting session.
    package var verifierPollInterval: TimeInterval = 3
    /// The longest long poll `/status` serves.
    package var maximumLongPoll: Duration = .seconds(30)
    /// Wakes waiting `/status` polls when a session changes (across instances on PostgreSQL).
    package var wakeups: any SessionWakeups = LocalSessionWakeups()
    /// Where the flow's events are counted (``FlowEvents``).
    package let events: any FlowEvents
    /// The longest a waiting poll goes without reading its session, in case a signal was lost.
    package var wakeupFallback: TimeInterval = 5
    /// How many long polls may wait at once, per verification and in total.
    package var longPolls = LongPollLimits()
    /// Lets one webhook per verification and interval ask the verifier.
    package let notificationThrottle = NotificationThrottle(interval: 3)

    package init(config: GatewayConfig, clients: any ClientRepository, store: any FlowStore, verifier: any VerifierPort,
                 signingKeys: SigningKeys? = nil, clientKeys: any ClientKeySource = InlineClientKeys(),
                 presentationVerifier: @escaping PresentationVerifierFactory = { _, checks in
                     SDJWTVerifier(resolver: DIDJWKResolver(), statusListChecker: checks ? nil : StatusNotChecked())
                 },
                 checkSecret: @escaping ClientAuthenticator.SecretCheck = { Secrets.verifySecret($0, hash: $1) },
                 events: any FlowEvents = NoFlowEvents(), logger: Logger, now: @escaping @Sendable () -> Date = Date.init) {
        self.config = config
        self.events = events
        self.clients = clients
        self.store = store
        self.verifier = verifier
        self.clientKeys = clientKeys
        self.logger = logger
        self.now = now
        let limits = FailedAuthenticationLimits(.init(perClient: config.authFailuresPerClient, perAddress: config.authFailuresPerAddress),
                                                now: now)
        let assertions = ClientAssertions(keys: clientKeys, store: store, issuer: config.baseURL, now: now)
        let authenticator = ClientAuthenticator(clients: clients, limits: limits, assertions: assertions, logger: logger, checkSecret: checkSecret)
        self.authenticator = authenticator
        let openID = signingKeys.flatMap { OpenIDProvider(config: config, keys: $0, store: store, logger: logger, now: now) }
        self.openID = openID
        var issuers: [AccessTokenFormat: any AccessTokenIssuer] = [.opaque: OpaqueAccessTokenIssuer(bytes: config.tokenBytes)]
        if let idTokens = openID?.idTokens {
            issuers[.jwt] = JWTAccessTokenIssuer(keys: idTokens.keys, subjects: idTokens.subjects, issuer: idTokens.issuer,
                                                 algorithm: idTokens.defaultAlgorithm)
        }
        let retention = ClaimsRetention(store: store, minutes: config.claimsRetentionMinutes)
        self.claimsRetention = retention
        let dpop = DPoPProofChecker(baseURL: config.baseURL, lifetimeSeconds: config.dpopProofLifetimeSeconds, store: store, now: now)
        self.dpop = dpop
        resourceAccess = ResourceAccess(store: store, clients: clients, dpop: dpop, now: now)
        let nonces = PresentationNonces(store: store)
        presentationNonces = nonces
        credentialIssuer = openID.map {
            CredentialIssuer(issuer: $0.idTokens.issuer, keys: $0.idTokens.keys, nonces: nonces, retention: retention, store: store,
                             claims: config.grantableScopes, lifetimeDays: config.attestationTTLDays, logger: logger, now: now)
        }
        credentialOffers = credentialIssuer.map { CredentialOffers(issuer: $0.issuer, store: store) }
        var grants: [any GrantHandler] = [
            AuthorizationCodeGrant(store: store, issuers: issuers, defaultLifetimeSeconds: config.accessTokenTTLSeconds,
                                   idTokens: openID?.idTokens, retention: retention, events: events, logger: logger, now: now),
        ]
        // Served once a [scope_NAME] says what a presentation buys; the key binding must name KyCH, so it also needs the
        // issuer identifier.
        if let issuer = config.baseURL, !config.presentationScopes.isEmpty {
            grants.append(VPTokenBearerGrant(scopes: config.presentationScopes, nonces: nonces, verifier: presentationVerifier, issuer: issuer,
                                             store: store, issuers: issuers, defaultLifetimeSeconds: config.accessTokenTTLSeconds,
                                             logger: logger, now: now))
        }
        tokenEndpoint = TokenEndpoint(authenticator: authenticator, handlers: grants, dpop: dpop)
        infoEndpoint = InfoEndpoint(retention: retention, logger: logger, now: now)
        tokenManagement = TokenManagement(authenticator: authenticator, store: store, issuer: config.baseURL, events: events,
                                          dpop: dpop, logger: logger, now: now)
        authorizeChecks = AuthorizeChecks.standard
        admission = SessionAdmission(limits: config.authorizeWithoutSetup)
        bindingKey = SharedKey(name: "browser-binding-v1", store: store)
        codes = AuthorizationCodes(keyEncryptionSecret: config.keyEncryptionSecret, bytes: config.authCodeBytes)
    }

    // MARK: setup

    /// `POST /setup/{client_id}` with `Authorization: Bearer <secret>`: a new session's nonce.
    package func setup(clientID: String, authorization: String?, sourceAddress: String? = nil) async throws -> String {
        let request = ClientAuthenticationRequest(pathClientID: clientID, authorization: authorization, sourceAddress: sourceAddress)
        let client = try await authenticator.authenticate(request, methods: [BearerSecretAuthentication()])
        let session = try await createSession(for: client, withoutSetup: false)
        logger.info("session created", metadata: ["client_id": "\(clientID)"])
        return session.nonce
    }

    func createSession(for client: Client, withoutSetup: Bool) async throws -> VerificationSession {
        let nonce = Secrets.randomToken(bytes: config.nonceBytes)
        let now = now()
        let session = NewSession(clientID: client.clientID, sessionID: UUID().uuidString.lowercased(), nonce: nonce,
                                 createdAt: now, expiresAt: now.addingTimeInterval(TimeInterval(config.sessionTTLMinutes * 60)),
                                 withoutSetup: withoutSetup)
        guard let created = try await store.createSession(session) else {
            throw FlowError.oauth(status: 401, error: "invalid_client", description: "unknown client")
        }
        events.record(.sessionStarted(clientID: client.clientID))
        return created
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

    /// Asks the verifier about a waiting session and applies the answer; returns the session as it then stands (read
    /// again only when another request changed it first).
    @discardableResult
    func refresh(_ session: VerificationSession, client: Client) async throws -> VerificationSession {
        guard session.status == .authorized, let verification = session.verification else { return session }
        let outcome: VerifierOutcome
        let client = client.acceptingAttestations(of: config.acceptedAttestationIssuers)
        do {
            outcome = try await verifier.outcome(of: verification.id, for: client, granted: session.grantedClaims)
                .requiringIssuer(in: client.acceptedIssuerDIDs)
        } catch {
            logger.warning("verifier result unavailable", metadata: ["verification_id": "\(verification.id)", "error": "\(error)"])
            throw FlowError.oauth(status: 503, error: "temporarily_unavailable", description: "the verifier could not be asked; retry later")
        }
        guard let transition = SessionMachine(now: now()).verifierAnswered(outcome, session: session) else { return session }
        guard let changed = try await store.apply(transition, toSession: session.serial) else {
            return try await store.session(serial: session.serial) ?? session
        }
        await wakeups.signal(verificationID: verification.id)
        if let event = FlowEvent.verifierAnswered(transition.to, clientID: client.clientID) { events.record(event) }
        var metadata: Logger.Metadata = ["verification_id": "\(verification.id)", "status": "\(transition.to.rawValue)"]
        if case .failed(let code, _) = outcome { metadata["error_code"] = "\(code ?? "none")" }
        logger.info("session status changed", metadata: metadata)
        return changed
    }

    /// Claims the right to ask the verifier about `session` now (once per poll interval across instances).
    func claimVerifierCheck(_ session: VerificationSession) async throws -> Bool {
        let now = now()
        guard SessionMachine(now: now).verifierCheckDue(session, interval: verifierPollInterval) else { return false }
        return try await store.claimVerifierCheck(session: session.serial, status: .authorized,
                                                  checkedBefore: now.addingTimeInterval(-verifierPollInterval), now: now)
    }

    /// `GET /status/{verification_id}`: the session status, waiting up to `timeout` for a change. A waiting poll
    /// reads its session once, then again only when woken (``wakeups``), when the verifier is due to be asked,
    /// at the session's expiry or after ``wakeupFallback``. Cancellation (the client left, the server shuts down)
    /// ends the wait: the status last read is the answer. Beyond ``longPolls`` the answer comes at once.
    package func status(verificationID: String, state: String?, timeout: Duration) async throws -> SessionStatus {
        let deadline = ContinuousClock.now + min(timeout, maximumLongPoll)
        let admitted = timeout > .zero && longPolls.admit(verificationID)
        if admitted { wakeups.watch(verificationID) }
        defer {
            if admitted {
                wakeups.unwatch(verificationID)
                longPolls.release(verificationID)
            }
        }
        var client: Client?
        var lastRead: SessionStatus?
        do {
            while true {
                // Counted before the read: a change committed after it wakes the wait below even if signalled before.
                let seen = wakeups.signals(verificationID)
                guard let session = try await store.session(verificationID: verificationID) else {
                    throw FlowError.oauth(status: 404, error: "not_found", description: "unknown verification")
                }
                if let state, session.state != nil, state != session.state {
                    throw FlowError.invalidRequest("state does not match this verification")
                }
                let status = session.effectiveStatus(now: now())
                lastRead = status
                guard status == .authorized || status == .pending else { return status }
                if status == .authorized, try await claimVerifierCheck(session) {
                    if client == nil { client = try await clients.client(id: session.clientID) }
                    if let client, let current = try? await refresh(session, client: client).effectiveStatus(now: now()), current != status {
                        return current
                    }
                }
                guard admitted, ContinuousClock.now < deadline else { return status }
                await wakeups.wait(verificationID: verificationID, after: seen, until: min(deadline, nextRead(of: session)))
                if Task.isCancelled { return status }
            }
        } catch {
            // Cancelled during a read (the client left, the server shuts down): the status last read is the answer.
            guard Task.isCancelled, let lastRead else { throw error }
            return lastRead
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
            try checkBinding(session, bindingCookie)
            let code = codes.code(sessionID: session.sessionID)
            let record = NewAuthorizationCode(codeHash: Secrets.sha256(code), redirectURI: redirect, codeChallenge: session.codeChallenge,
                                              createdAt: now,
                                              expiresAt: now.addingTimeInterval(client.authorizationCodeLifetime(
                                                  configuredMinutes: config.authCodeTTLMinutes)))
            guard try await store.apply(SessionMachine(now: now).codeIssued(), toSession: session.serial, issuing: record) else {
                // A concurrent /finalize issued it first.
                return try await repeatedRedirect(session, bindingCookie: bindingCookie, redirectURI: redirect, now: now)
            }
            await wakeups.signal(verificationID: verificationID)
            events.record(.codeIssued(clientID: client.clientID))
            logger.info("authorization code issued", metadata: ["client_id": "\(client.clientID)", "verification_id": "\(verificationID)"])
            return codeRedirect(redirect, code: code, session: session)
        case .failed:
            return failureRedirect(session, client: client, redirectURI: redirect)
        case .expired:
            throw FlowError.page(status: 410, kind: .expired,
                                 message: "This verification has expired. Please start again from the service that sent you here.")
        case .completed:
            return try await repeatedRedirect(session, bindingCookie: bindingCookie, redirectURI: redirect, now: now)
        case .pending, .authorized:
            throw FlowError.page(status: 409, kind: .notVerifiedYet,
                                 message: "The verification is not finished yet. Please complete it in your swiyu wallet.")
        }
    }

    /// The cookie set by /authorize binds the code to the browser that started the verification.
    private func checkBinding(_ session: VerificationSession, _ bindingCookie: String?) throws(FlowError) {
        if let binding = session.browserBindingHash, bindingCookie.map(Secrets.sha256) != binding {
            throw FlowError.page(status: 403, kind: .differentBrowser,
                                 message: "This verification was started in another browser. Please finish it there, or start again.")
        }
    }

    private func codeRedirect(_ redirect: String, code: String, session: VerificationSession) -> String {
        RedirectURI.with(redirect, [("code", code), ("state", session.state), ("iss", config.baseURL)])
    }

    /// `/finalize` again after the code was issued: the same redirect for the browser the session is bound to while
    /// the code is unused and unexpired (two navigations at once must not leave the person on an error page), else
    /// "already completed". A session bound to no browser never repeats its code.
    private func repeatedRedirect(_ session: VerificationSession, bindingCookie: String?, redirectURI: String,
                                  now: Date) async throws -> String {
        let finished = FlowError.page(status: 409, kind: .finished, message: "This verification has already been completed.")
        guard session.browserBindingHash != nil else { throw finished }
        try checkBinding(session, bindingCookie)
        let code = codes.code(sessionID: session.sessionID)
        guard let stored = try await store.authorizationCode(hash: Secrets.sha256(code)), stored.session.serial == session.serial,
              stored.usedAt == nil, stored.expiresAt > now
        else { throw finished }
        return codeRedirect(redirectURI, code: code, session: session)
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
    package func info(_ request: ResourceRequest) async throws -> Info {
        try await infoEndpoint.info(try await resourceAccess.liveToken(request))
    }

    /// `POST /credential` (OpenID4VCI 1.0 §8): the KyCH attestation for the access token's flow.
    package func credential(_ request: ResourceRequest, body: JSON) async throws -> JSON {
        guard let credentialIssuer else {
            throw FlowError.oauth(status: 404, error: "not_found", description: "credential issuance is not enabled (set BASE_URL)")
        }
        return try await credentialIssuer.issue(body, token: try await resourceAccess.liveToken(request))
    }

    /// `GET`/`POST /userinfo`.
    package func userInfo(_ request: ResourceRequest) async throws -> JSON {
        guard let openID else {
            throw FlowError.oauth(status: 404, error: "not_found", description: "OpenID Connect is not enabled (set BASE_URL)")
        }
        return try await openID.userInfo(try await resourceAccess.liveToken(request), clients: clients)
    }

    // MARK: purge

    /// Marks waiting sessions past their expiry `expired`, and so those started without `/setup` that nobody has watched
    /// for `AUTHORIZE_WITHOUT_SETUP_IDLE_MINUTES`: neither a page polling `/status` or reloading (each claims a verifier
    /// check) nor a verifier answer. Erases the claims no client can receive any more (``ClaimsRetention``). Then deletes
    /// what expired more than `retention` ago.
    package func purge(retention: TimeInterval) async throws -> PurgeReport {
        let now = now()
        let machine = SessionMachine(now: now)
        let idleSince = now.addingTimeInterval(-TimeInterval(config.authorizeWithoutSetup.idleMinutes * 60))
        let abandoned = try await store.applyToIdleSessionsWithoutSetup(machine.abandoned(), idleSince: idleSince)
        let expired = try await store.applyToExpiredSessions(machine.timedOut(), expiredBy: now)
        let erased = try await claimsRetention.purge(now: now)
        var report = try await store.deleteExpired(before: now.addingTimeInterval(-retention))
        report.erasedClaims = erased
        report.expiredSessions = expired
        report.abandonedSessions = abandoned
        return report
    }
}
