import Foundation
import KychCore
import Logging

/// `grant_type=authorization_code` (RFC 6749 §4.1.3): a code from `/finalize` for an access token.
/// The code's rules live here; the store only consumes it atomically.
package struct AuthorizationCodeGrant: GrantHandler {
    package var grantType: String { "authorization_code" }
    let store: any FlowStore
    /// The access token strategies by format; a client's `ACCESS_TOKEN_FORMAT` picks one.
    let issuers: [AccessTokenFormat: any AccessTokenIssuer]
    /// `ACCESS_TOKEN_TTL_SECONDS`, unless a client sets its own.
    let defaultLifetimeSeconds: Int
    /// Issues ID tokens for OpenID Connect requests; nil when OpenID Connect is off (no `BASE_URL`).
    let idTokens: IDTokenIssuer?
    /// An ID token carrying the claims delivers them.
    let retention: ClaimsRetention
    let events: any FlowEvents
    let logger: Logger
    let now: @Sendable () -> Date

    package init(store: any FlowStore, issuers: [AccessTokenFormat: any AccessTokenIssuer], defaultLifetimeSeconds: Int,
                 idTokens: IDTokenIssuer?, retention: ClaimsRetention, events: any FlowEvents = NoFlowEvents(), logger: Logger,
                 now: @escaping @Sendable () -> Date) {
        self.retention = retention
        self.store = store
        self.issuers = issuers
        self.defaultLifetimeSeconds = defaultLifetimeSeconds
        self.idTokens = idTokens
        self.events = events
        self.logger = logger
        self.now = now
    }

    package func handle(_ request: TokenRequest, client: Client, proof: DPoPProof?) async throws -> TokenResponse {
        guard let code = request.form["code"], !code.isEmpty else { throw FlowError.invalidRequest("code is missing") }
        guard let redirectURI = request.form["redirect_uri"] else { throw FlowError.invalidRequest("redirect_uri is missing") }
        let now = now()
        guard let stored = try await store.authorizationCode(hash: Secrets.sha256(code)) else {
            throw FlowError.invalidGrant("the authorization code is unknown")
        }
        if stored.usedAt != nil { throw try await replayed(stored, client: client, now: now) }
        if stored.expiresAt <= now { throw FlowError.invalidGrant("the authorization code has expired") }
        if stored.clientID != client.clientID { throw FlowError.invalidGrant("the authorization code was issued to another client") }
        if stored.redirectURI != redirectURI { throw FlowError.invalidGrant("redirect_uri does not match the authorization request") }
        switch (stored.codeChallenge, request.form["code_verifier"]) {
        case (nil, nil): break
        case (nil, .some): throw FlowError.invalidGrant("code_verifier sent, but the authorization request had no code_challenge")
        case (.some, nil): throw FlowError.invalidGrant("code_verifier is missing (the authorization request used PKCE)")
        case (.some(let challenge), .some(let verifier)):
            guard PKCE.verifies(verifier, challenge: challenge) else { throw FlowError.invalidGrant("code_verifier does not match the code_challenge") }
        }
        let session = stored.session
        // RFC 9449 §10: the authorization request's dpop_jkt names the key that must prove possession here.
        if let jkt = session.dpopJKT, proof?.jkt != jkt {
            throw DPoPRefusal.invalid("the DPoP proof is not signed by the key the authorization request named (dpop_jkt)").atAuthorizationServer
        }
        guard let issuer = issuers[client.accessTokenFormat] else {
            throw FlowError.oauth(status: 500, error: "server_error", description: "no \(client.accessTokenFormat.rawValue) access tokens can be issued")
        }
        let token = try await issuer.issue(for: client, session: session, lifetimeSeconds: client.accessTokenTTLSeconds ?? defaultLifetimeSeconds,
                                           dpopJKT: proof?.jkt, embeddedClaims: nil, now: now)
        // Losing the race to a concurrent redemption of the same code is a replay too.
        guard try await store.redeemCode(serial: stored.serial, usedAt: now, issuing: token.record) else {
            throw try await replayed(stored, client: client, now: now)
        }
        events.record(.codeRedeemed(clientID: client.clientID))
        logger.info("access token issued", metadata: ["client_id": "\(client.clientID)"])
        var response = token.response
        response.authorization_details = CredentialIssuer.authorizationDetails(grantedIn: session)
        if let idTokens, session.openid {
            let stored = StoredAccessToken(session: session, record: token.record)
            let subject = try await idTokens.subjects.subject(for: stored, client: client, now: now)
            let claims = client.idTokenClaims ? try await retention.deliver(stored, now: now, keepingSubject: subject) : nil
            response.id_token = try await idTokens.idToken(for: stored, subject: subject, credentialClaims: claims ?? [:],
                                                           accessToken: token.value, client: client, now: now)
        }
        return response
    }

    /// RFC 6749 §4.1.2: a code used twice revokes every token issued from it.
    private func replayed(_ code: StoredAuthorizationCode, client: Client, now: Date) async throws -> FlowError {
        try await store.revokeTokens(issuedFromCode: code.serial, at: now)
        events.record(.codeReplayed(clientID: client.clientID))
        logger.warning("authorization code replayed; tokens revoked", metadata: ["client_id": "\(client.clientID)"])
        return FlowError.invalidGrant("the authorization code was already used; tokens issued from it are revoked")
    }
}
