import Foundation
import KychCore
import KychSDJWT

/// What the authorize checks have established so far about one request.
package struct AuthorizeContext: Sendable {
    /// The request; replaced by the pushed request or the request object once they are resolved (then only their
    /// parameters count: RFC 9126 §4, RFC 9101 §5).
    package var request: AuthorizationRequest
    package let now: Date
    /// The registered client, once resolved.
    package var client: Client?
    /// The `/setup` session the nonce names, once resolved (nil for a nonce-less request).
    package var session: VerificationSession?
    /// The claims granted, once the scope is checked.
    package var scope: [String] = []
    /// The credential configurations granted (OpenID4VCI scopes, e.g. `kych_attestation`), once the scope is checked.
    package var credentialConfigurations: [String] = []
    /// The credential configurations of the credential offer whose `issuer_state` the request carries, once checked.
    package var offeredCredentials: [String] = []
    /// The scope asked for OpenID Connect (`openid`): an ID token comes with the access token.
    package var openid = false
    /// RFC 9207: the issuer identifier every authorization response carries (nil without `BASE_URL`).
    package let issuer: String?
    /// The request is being pushed to `/par` (RFC 9126): every refusal is JSON for the client, never a page or a redirect.
    package let pushing: Bool

    package init(request: AuthorizationRequest, now: Date, issuer: String?, pushing: Bool = false) {
        self.request = request
        self.now = now
        self.issuer = issuer
        self.pushing = pushing
    }

    /// A refusal before the redirect URI is verified: a page for the person (the technical `message` under the text of
    /// `kind`), or at `/par` a 400 with `error` and the message.
    func refusal(status: Int = 400, kind: PageError = .invalidRequest, _ message: String, error: String = "invalid_request") -> FlowError {
        pushing ? .oauth(status: 400, error: error, description: message) : .page(status: status, kind: kind, message: message)
    }

    /// An error sent back to the (already verified) redirect URI; at `/par`, JSON for the client.
    func redirectError(_ error: String, _ description: String) -> FlowError {
        if pushing { return .oauth(status: 400, error: error, description: description) }
        return .redirect(RedirectURI.with(request.redirectURI ?? "", [("error", error), ("error_description", description), ("state", request.state),
                                                               ("iss", issuer)]))
    }
}

/// What the checks may read.
package struct AuthorizeEnvironment: Sendable {
    package var clients: any ClientRepository
    package var store: any FlowStore
    package var grantableScopes: [String]
    /// Whether `openid` may be requested (the gateway has a `BASE_URL` and signing keys).
    package var openIDEnabled: Bool
    /// Where request objects' keys come from (``ClientKeySource``).
    package var clientKeys: any ClientKeySource
    /// `REQUIRE_PUSHED_AUTHORIZATION_REQUESTS` of the gateway: every client must use `/par`.
    package var requirePushedRequests: Bool
    /// The scopes of the credential configurations KyCH issues (OpenID4VCI); empty when it issues none.
    package var credentialScopes: [String] = []
    /// The credential offers whose `issuer_state` may start a flow; nil when KyCH issues no credential.
    package var credentialOffers: CredentialOffers?
}

/// One step of authorization-request validation. The steps run in order; each throws the error the
/// request gets. Errors before the redirect URI is verified are pages, never redirects.
package protocol AuthorizeCheck: Sendable {
    func check(_ context: inout AuthorizeContext, in environment: AuthorizeEnvironment) async throws
}

package enum AuthorizeChecks {
    /// The checks of `/authorize` and `/par`, in order. The pushed request or request object replaces the request before
    /// anything but its client is checked.
    package static let standard: [any AuthorizeCheck] = [
        ClientIDPresent(), ClientResolved(), PushedRequestResolved(), RequestObjectResolved(), PushedRequestRequired(),
        SignedRequestRequired(), StateLength(), RedirectURIRegistered(), SessionUnexpired(), WithoutSetupAllowed(),
        ResponseTypeCode(), PKCEChallenge(), DPoPKeyThumbprint(), IssuerStateOffered(), ScopeGrantable(),
    ]
}

/// `client_id` is required, also with a nonce.
struct ClientIDPresent: AuthorizeCheck {
    func check(_ context: inout AuthorizeContext, in environment: AuthorizeEnvironment) async throws {
        guard let id = context.request.clientID, !id.isEmpty else {
            throw context.refusal("The request does not name a client (client_id).")
        }
    }
}

/// `state` and the OpenID Connect `nonce` are returned verbatim; a bound keeps URLs, rows and tokens small.
struct StateLength: AuthorizeCheck {
    static let maximum = 512
    func check(_ context: inout AuthorizeContext, in environment: AuthorizeEnvironment) async throws {
        if let state = context.request.state, state.utf8.count > Self.maximum {
            throw context.refusal("The state parameter is too long.")
        }
        if let nonce = context.request.oidcNonce, nonce.utf8.count > Self.maximum {
            throw context.refusal("The nonce parameter is too long.")
        }
    }
}

/// The client is registered and, with a nonce, the nonce's session belongs to it.
struct ClientResolved: AuthorizeCheck {
    func check(_ context: inout AuthorizeContext, in environment: AuthorizeEnvironment) async throws {
        let clientID = context.request.clientID ?? ""
        let client = try await environment.clients.client(id: clientID)
        if let nonce = context.request.nonce {
            guard let session = try await environment.store.session(nonce: nonce), session.clientID == clientID, client != nil else {
                throw context.refusal(status: 404, kind: .unknownLink,
                                      "This verification link is unknown. Please start again from the service that sent you here.")
            }
            context.session = session
        } else if client == nil {
            throw context.refusal(kind: .unknownClient, "The client \(clientID) is not registered.")
        }
        context.client = client
    }
}

/// The redirect URI is one of the registered ones (RFC 9700 §4.1.3); only then may errors be redirected.
struct RedirectURIRegistered: AuthorizeCheck {
    func check(_ context: inout AuthorizeContext, in environment: AuthorizeEnvironment) async throws {
        guard let client = context.client, let uri = context.request.redirectURI,
              client.redirectURIs.contains(where: { RedirectURIMatch.matches(registered: $0, requested: uri, publicClient: client.isPublic) })
        else {
            throw context.refusal(kind: .invalidRedirect, "The redirect_uri of this request is not the one registered for the client.")
        }
    }
}

/// A `/setup` session past its lifetime can no longer start a verification.
struct SessionUnexpired: AuthorizeCheck {
    func check(_ context: inout AuthorizeContext, in environment: AuthorizeEnvironment) async throws {
        if let session = context.session, session.effectiveStatus(now: context.now) == .expired {
            throw context.refusal(status: 410, kind: .expired,
                                  "This verification link has expired. Please start again from the service that sent you here.")
        }
    }
}

/// A nonce-less request starts a session only for a client that allows it (`ALLOW_AUTHORIZE_WITHOUT_SETUP`); RFC 6749
/// §4.1.2.1's `unauthorized_client` tells the client it must use `/setup` instead. A pushed request is not checked until
/// `/authorize`: only there is it known whether it comes with a `/setup` nonce.
struct WithoutSetupAllowed: AuthorizeCheck {
    func check(_ context: inout AuthorizeContext, in environment: AuthorizeEnvironment) async throws {
        if !context.pushing, context.session == nil, context.client?.allowsAuthorizeWithoutSetup == false {
            throw context.redirectError("unauthorized_client", "this client must start each verification with /setup")
        }
    }
}

/// Only the authorization code flow.
struct ResponseTypeCode: AuthorizeCheck {
    func check(_ context: inout AuthorizeContext, in environment: AuthorizeEnvironment) async throws {
        guard context.request.responseType == "code" else {
            throw context.redirectError("unsupported_response_type", "response_type must be code")
        }
    }
}

/// PKCE (RFC 7636): S256 only (`plain` would put the verifier in the front channel); required for public
/// clients and for clients registered with `REQUIRE_PKCE`.
struct PKCEChallenge: AuthorizeCheck {
    func check(_ context: inout AuthorizeContext, in environment: AuthorizeEnvironment) async throws {
        let request = context.request
        if let method = request.codeChallengeMethod, method != "S256" {
            throw context.redirectError("invalid_request", "code_challenge_method must be S256")
        }
        guard let challenge = request.codeChallenge else {
            if request.codeChallengeMethod != nil {
                throw context.redirectError("invalid_request", "code_challenge_method without code_challenge")
            }
            if context.client?.requiresPKCE == true {
                throw context.redirectError("invalid_request", "this client must use PKCE: send code_challenge with code_challenge_method=S256")
            }
            return
        }
        guard PKCE.isWellFormed(challenge) else {
            throw context.redirectError("invalid_request", "code_challenge must be 43 to 128 characters of A-Z a-z 0-9 - . _ ~")
        }
        // RFC 7636 §4.3: a challenge without a method means plain, which is refused.
        guard request.codeChallengeMethod != nil else {
            throw context.redirectError("invalid_request", "code_challenge_method=S256 is required (plain is not supported)")
        }
    }
}

/// `dpop_jkt` (RFC 9449 §10) is a JWK SHA-256 thumbprint: 43 base64url characters.
struct DPoPKeyThumbprint: AuthorizeCheck {
    func check(_ context: inout AuthorizeContext, in environment: AuthorizeEnvironment) async throws {
        if let jkt = context.request.dpopJKT, jkt.utf8.count != 43 || Base64URL.decode(jkt)?.count != 32 {
            throw context.redirectError("invalid_request", "dpop_jkt must be a JWK SHA-256 thumbprint (43 base64url characters)")
        }
    }
}

/// Redirect URI comparison: exact (RFC 9700 §4.1.3), except that a public client's loopback redirect URI
/// may come with any port (RFC 8252 §7.3: a native app listens on a port the system gives it).
package enum RedirectURIMatch {
    package static func matches(registered: String, requested: String, publicClient: Bool) -> Bool {
        if registered == requested { return true }
        guard publicClient, var r = URLComponents(string: registered), var q = URLComponents(string: requested),
              r.scheme?.lowercased() == "http", q.scheme?.lowercased() == "http",
              let host = r.host, host == q.host, host != "localhost", LoopbackHost.contains(host) else { return false }
        r.port = nil
        q.port = nil
        return r.string == q.string
    }
}

/// OpenID4VCI 1.0 §5.1.3: an `issuer_state` is one of KyCH's own credential offers (``CredentialOffers``), unexpired and
/// for this client; the flow then grants the offered attestation, as if the request asked for it.
struct IssuerStateOffered: AuthorizeCheck {
    func check(_ context: inout AuthorizeContext, in environment: AuthorizeEnvironment) async throws {
        guard let state = context.request.issuerState else { return }
        guard let offers = environment.credentialOffers else {
            throw context.redirectError("invalid_request", "issuer_state: this server issues no credentials (it needs BASE_URL)")
        }
        switch try await offers.check(state, clientID: context.request.clientID ?? "", now: context.now) {
        case .accepted: context.offeredCredentials = [CredentialIssuer.configurationID]
        case .unknown: throw context.redirectError("invalid_request", "issuer_state is not from a credential offer of \(offers.issuer)")
        case .expired: throw context.redirectError("invalid_request", "issuer_state: the credential offer has expired, ask for a new one")
        case .otherClient: throw context.redirectError("invalid_request", "issuer_state: the credential offer is for another client")
        }
    }
}

/// Every requested claim may be granted; no claim in the scope means the client's default scope. `openid` is
/// OpenID Connect's protocol scope, not a claim. A credential configuration's scope (OpenID4VCI) grants it, with every
/// claim it may carry unless the request names claims too.
struct ScopeGrantable: AuthorizeCheck {
    static let openid = "openid"

    func check(_ context: inout AuthorizeContext, in environment: AuthorizeEnvironment) async throws {
        let grantable = environment.grantableScopes
        let words = (context.request.scope ?? "").split(separator: " ").map(String.init)
        context.openid = words.contains(Self.openid)
        if context.openid && !environment.openIDEnabled {
            throw context.redirectError("invalid_scope", "OpenID Connect is not enabled on this server (it needs BASE_URL)")
        }
        let detailed = try AuthorizationDetails.credentialConfigurations(context.request.authorizationDetails, offered: environment.credentialScopes,
                                                                         issuer: context.issuer, context: context)
        let credentials = environment.credentialScopes.filter {
            words.contains($0) || detailed.contains($0) || context.offeredCredentials.contains($0)
        }
        let requested = words.filter { $0 != Self.openid && !credentials.contains($0) }
        let scope = !requested.isEmpty ? requested : !credentials.isEmpty ? grantable : context.client?.defaultScope ?? grantable
        if let bad = scope.first(where: { !grantable.contains($0) }) {
            // Quoted short: the request's words go into the Location header.
            let shown = bad.count > 64 ? bad.prefix(64) + "…" : Substring(bad)
            throw context.redirectError("invalid_scope", "the scope \(shown) may not be requested")
        }
        var seen = Set<String>()
        context.scope = scope.filter { seen.insert($0).inserted }
        context.credentialConfigurations = credentials
    }
}

/// RFC 9396 `authorization_details` as OpenID4VCI 1.0 §5.1.1 uses them: entries of type `openid_credential` naming a
/// `credential_configuration_id` the issuer offers (and, in `locations`, this issuer if any).
enum AuthorizationDetails {
    static let type = "openid_credential"

    /// The credential configurations `text` asks for; none without it. An entry of another type, another
    /// configuration or another issuer is refused with RFC 9396 §5's `invalid_authorization_details`.
    static func credentialConfigurations(_ text: String?, offered: [String], issuer: String?,
                                         context: AuthorizeContext) throws -> [String] {
        guard let text else { return [] }
        func refused(_ description: String) -> FlowError { context.redirectError("invalid_authorization_details", description) }
        guard text.utf8.count <= 8 * 1024, let entries = (try? JSON.parse(Data(text.utf8)))?.arrayValue, !entries.isEmpty else {
            throw refused("authorization_details must be a non-empty JSON array")
        }
        return try entries.map { entry in
            guard entry["type"]?.stringValue == type else { throw refused("authorization_details entries must have type \(type)") }
            guard let id = entry["credential_configuration_id"]?.stringValue, offered.contains(id) else {
                throw refused("authorization_details name no credential configuration this issuer offers")
            }
            if let locations = entry["locations"] {
                guard let issuer, locations.arrayValue?.contains(.string(issuer)) == true else {
                    throw refused("authorization_details locations name another credential issuer")
                }
            }
            return id
        }
    }
}
