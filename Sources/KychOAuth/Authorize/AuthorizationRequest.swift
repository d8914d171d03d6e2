import Foundation
import KychCore

/// An authorization request (RFC 6749 §4.1.1) as `/authorize` received it, decoded. Codable: a pushed request
/// (RFC 9126) is stored as its JSON until `/authorize` takes it.
package struct AuthorizationRequest: Sendable, Equatable, Codable {
    /// The `/setup` nonce in the path; nil for a standard, nonce-less request.
    package var nonce: String?
    package var responseType: String?
    package var clientID: String?
    package var redirectURI: String?
    package var state: String?
    package var scope: String?
    package var codeChallenge: String?
    package var codeChallengeMethod: String?
    /// The OpenID Connect `nonce` parameter (not the `/setup` nonce of the path).
    package var oidcNonce: String?
    /// RFC 9449 §10 `dpop_jkt`: the thumbprint of the DPoP key the code will be redeemed with.
    package var dpopJKT: String?
    /// Where the request came from, as the limits on nonce-less requests count it (see ``SessionAdmission``); nil: unknown.
    package var sourceAddress: String?
    /// RFC 9101 `request`: a request object (a JWS signed by the client) whose parameters replace the others.
    package var requestObject: String?
    /// RFC 9126 `request_uri`: the handle of a request pushed to `/par`, whose parameters replace the others.
    package var requestURI: String?
    /// RFC 9396 `authorization_details`, as its JSON text (OpenID4VCI: `type: openid_credential`).
    package var authorizationDetails: String?
    /// OpenID4VCI 1.0 §5.1.3 `issuer_state`: from a credential offer (``CredentialOffers``); it grants the attestation.
    package var issuerState: String?
    /// The parameters were pushed to `/par` by the authenticated client (RFC 9126).
    package var pushed = false
    /// The parameters came from a request object whose signature was checked with the client's key (RFC 9101).
    package var signed = false

    package init(nonce: String? = nil, responseType: String? = nil, clientID: String? = nil, redirectURI: String? = nil,
                 state: String? = nil, scope: String? = nil, codeChallenge: String? = nil, codeChallengeMethod: String? = nil,
                 oidcNonce: String? = nil) {
        self.nonce = nonce
        self.responseType = responseType
        self.clientID = clientID
        self.redirectURI = redirectURI
        self.state = state
        self.scope = scope
        self.codeChallenge = codeChallenge
        self.codeChallengeMethod = codeChallengeMethod
        self.oidcNonce = oidcNonce
    }

    /// The request from its decoded query parameters.
    package init(nonce: String?, parameters: [String: String], sourceAddress: String? = nil) {
        self.init(nonce: nonce, responseType: parameters["response_type"], clientID: parameters["client_id"],
                  redirectURI: parameters["redirect_uri"], state: parameters["state"], scope: parameters["scope"],
                  codeChallenge: parameters["code_challenge"], codeChallengeMethod: parameters["code_challenge_method"],
                  oidcNonce: parameters["nonce"])
        dpopJKT = parameters["dpop_jkt"]
        self.sourceAddress = sourceAddress
        requestObject = parameters["request"]
        requestURI = parameters["request_uri"]
        authorizationDetails = parameters["authorization_details"]
        issuerState = parameters["issuer_state"]
    }
}

/// What the verification page (or its JSON form) shows after a successful `/authorize`.
package struct Authorization: Sendable {
    package var session: VerificationSession
    package var client: Client
    package var verification: VerifierVerification
    /// The browser-binding cookie value to set; nil once the wallet has presented.
    package var bindingCookie: String?
    /// The `openid-credential-offer://` link the page shows once the session is verified, before it goes on to the client;
    /// nil when the client's page offers no attestation (`ATTESTATION_OFFER_CLIENTS`).
    package var attestationOffer: String?

    package init(session: VerificationSession, client: Client, verification: VerifierVerification, bindingCookie: String?) {
        self.session = session
        self.client = client
        self.verification = verification
        self.bindingCookie = bindingCookie
    }
}
