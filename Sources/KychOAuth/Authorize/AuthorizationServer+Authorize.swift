import Crypto
import Foundation
import KychCore
import KychSDJWT
import Logging

extension AuthorizationServer {
    /// `GET /authorize/{nonce}` (or `GET /authorize` with no nonce: a standard OAuth authorization request):
    /// runs the authorize checks, then starts (or, on a reload, shows) the session's verification.
    package func authorize(_ outer: AuthorizationRequest) async throws -> Authorization {
        let context = try await checkAuthorizationRequest(outer, pushing: false)
        let request = context.request
        guard let client = context.client else {
            throw FlowError.page(status: 500, kind: .internalError, message: "The client could not be resolved.")
        }
        var session: VerificationSession
        if let existing = context.session {
            session = existing
        } else {
            try await admission.admit(client, source: request.sourceAddress, now: now(), store: store)
            session = try await createSession(for: client, withoutSetup: true)
        }
        if session.verification != nil { return try await reload(session, client: client) }

        let verification: VerifierVerification
        do {
            verification = try await verifier.createVerification(for: client.acceptingAttestations(of: config.acceptedAttestationIssuers),
                                                                claims: context.scope)
        } catch {
            logger.error("verifier unavailable", metadata: ["client_id": "\(client.clientID)", "error": "\(error)"])
            throw FlowError.page(status: 502, kind: .verifierDown,
                                 message: "The identity verification service is not reachable right now. Please try again in a moment.")
        }
        let cookie = try await bindingCookie(nonce: session.nonce)
        let record = AuthorizationRequestRecord(redirectURI: request.redirectURI ?? client.redirectURI, state: request.state,
                                                scope: context.scope + context.credentialConfigurations, browserBindingHash: Secrets.sha256(cookie),
                                                codeChallenge: request.codeChallenge, openid: context.openid,
                                                oidcNonce: request.oidcNonce, dpopJKT: request.dpopJKT)
        // Another request may have started a verification first: then show that one.
        var started = try await store.apply(SessionMachine(now: now()).verificationCreated(record, verification), toSession: session.serial)
        if started == nil { started = try await store.session(nonce: session.nonce) }
        guard let stored = started, let storedVerification = stored.verification else {
            throw FlowError.page(status: 410, kind: .expired,
                                 message: "This verification link has expired. Please start again from the service that sent you here.")
        }
        session = stored
        logger.info("verification started", metadata: ["client_id": "\(client.clientID)", "verification_id": "\(storedVerification.id)"])
        var authorization = Authorization(session: session, client: client, verification: storedVerification,
                                          bindingCookie: try await bindingCookie(for: session))
        authorization.attestationOffer = try await attestationOffer(for: client)
        return authorization
    }

    /// The credential offer `client`'s page shows after a successful verification (the page holds it from the start, so
    /// its script only has to reveal it): for a client in `ATTESTATION_OFFER_CLIENTS` of a gateway that issues the
    /// attestation, an offer any wallet client may take (the person's wallet, whatever client it is registered as).
    func attestationOffer(for client: Client) async throws -> String? {
        guard let credentialOffers, config.attestationOfferClients.contains(client.clientID) else { return nil }
        return CredentialOffers.link(try await credentialOffers.offer(clientID: nil, now: now()))
    }

    /// Runs the authorize checks on `request`: what they established, with the request whose parameters count.
    func checkAuthorizationRequest(_ request: AuthorizationRequest, pushing: Bool) async throws -> AuthorizeContext {
        var context = AuthorizeContext(request: request, now: now(), issuer: config.baseURL, pushing: pushing)
        let environment = AuthorizeEnvironment(clients: clients, store: store, grantableScopes: config.grantableScopes,
                                               openIDEnabled: openID != nil, clientKeys: clientKeys,
                                               requirePushedRequests: config.requirePushedAuthorizationRequests,
                                               credentialScopes: credentialIssuer == nil ? [] : [CredentialIssuer.configurationID],
                                               credentialOffers: credentialOffers)
        for check in authorizeChecks { try await check.check(&context, in: environment) }
        return context
    }

    /// The browser-binding cookie for a browser that opens `session`'s page, checked by `/finalize`: nil once the wallet
    /// has presented (or for a session bound before this scheme, whose hash it does not match).
    ///
    /// Whoever opened the page first used to own the binding, so a chat app's link preview fetching `/authorize/{nonce}`
    /// locked the person's own browser out (issue 12, finding 15). Now the cookie is a keyed hash of the session's nonce:
    /// every browser that opens the page while the session waits for the wallet gets the same cookie, so a preview
    /// fetch takes nothing away, and the binding still keeps out whoever knows only the verification id (it is in the
    /// QR code and the wallet's request, the nonce is not), since without the server's key the cookie cannot be made
    /// from the nonce, and after the presentation no browser is given it any more.
    func bindingCookie(for session: VerificationSession) async throws -> String? {
        guard session.status == .authorized, let hash = session.browserBindingHash else { return nil }
        let cookie = try await bindingCookie(nonce: session.nonce)
        return Secrets.sha256(cookie) == hash ? cookie : nil
    }

    /// HMAC-SHA256 of the session's nonce under the shared binding key, base64url.
    func bindingCookie(nonce: String) async throws -> String {
        let key = try await bindingKey.key(now: now())
        return Base64URL.encode(HMAC<SHA256>.authenticationCode(for: Data(nonce.utf8), using: key))
    }

    /// A reload of the page (its no-JavaScript path): asks the verifier if it is due and sends a failure on to the client.
    private func reload(_ session: VerificationSession, client: Client) async throws -> Authorization {
        var current = session
        if try await claimVerifierCheck(current), let refreshed = try? await refresh(current, client: client) {
            current = refreshed
        }
        if current.status == .failed, let redirect = current.redirectURI {
            throw FlowError.redirect(failureRedirect(current, client: client, redirectURI: redirect))
        }
        guard !current.status.isFinal, let verification = current.verification else {
            throw FlowError.page(status: 410, kind: .finished,
                                 message: "This verification has already finished. Please start again from the service that sent you here.")
        }
        var authorization = Authorization(session: current, client: client, verification: verification,
                                          bindingCookie: try await bindingCookie(for: current))
        authorization.attestationOffer = try await attestationOffer(for: client)
        return authorization
    }
}
