import Foundation
import KychCore

/// A token request: the form body and the `Authorization` header.
package struct TokenRequest: Sendable {
    package var form: [String: String]
    package var authorization: String?
    /// Where the request came from, for the per-address limit of failed client authentications.
    package var sourceAddress: String?
    /// Its DPoP proof, if it sent one (RFC 9449).
    package var dpop: DPoPPresentation?
    /// The path that received it (``ClientAuthenticationRequest/endpoint``).
    package var endpoint: String?

    package init(form: [String: String], authorization: String?, sourceAddress: String? = nil, dpop: DPoPPresentation? = nil,
                 endpoint: String? = nil) {
        self.form = form
        self.authorization = authorization
        self.sourceAddress = sourceAddress
        self.dpop = dpop
        self.endpoint = endpoint
    }

    /// What the request offers for client authentication.
    package var clientAuthentication: ClientAuthenticationRequest {
        ClientAuthenticationRequest(authorization: authorization, form: form, sourceAddress: sourceAddress, endpoint: endpoint)
    }
}

/// The token response (RFC 6749 §5.1).
package struct TokenResponse: Sendable, Encodable, Equatable {
    package var access_token: String
    package var token_type: String
    package var expires_in: Int
    /// OpenID Connect: present when the authorization request's scope had `openid`.
    package var id_token: String?
    /// OpenID4VCI 1.0 §6.2: the credential configurations the token may be redeemed for at `/credential`.
    package var authorization_details: JSON?
}

/// One grant type at the token endpoint. Adding a grant is one handler and one registration.
package protocol GrantHandler: Sendable {
    /// The `grant_type` value this handler serves.
    var grantType: String { get }
    /// Exchanges the grant for a token on behalf of the authenticated `client`, bound to the key of `proof` if there is one.
    func handle(_ request: TokenRequest, client: Client, proof: DPoPProof?) async throws -> TokenResponse
}

/// `POST /token`: authenticates the client, then dispatches to the handler registered for the grant type.
package struct TokenEndpoint: Sendable {
    package let authenticator: ClientAuthenticator
    package let methods: [any ClientAuthenticationMethod]
    private let handlers: [String: any GrantHandler]
    let dpop: DPoPProofChecker

    package init(authenticator: ClientAuthenticator,
                 methods: [any ClientAuthenticationMethod] = [ClientSecretBasic(), ClientSecretPost(), PrivateKeyJWT(), NoneAuthentication()],
                 handlers: [any GrantHandler], dpop: DPoPProofChecker) {
        self.authenticator = authenticator
        self.dpop = dpop
        self.methods = methods
        self.handlers = Dictionary(handlers.map { ($0.grantType, $0) }, uniquingKeysWith: { first, _ in first })
    }

    /// The grant types served, for metadata.
    package var grantTypes: [String] { handlers.keys.sorted() }

    package func token(_ request: TokenRequest) async throws -> TokenResponse {
        let presented = try authenticator.presented(request.clientAuthentication, methods: methods)
        guard let grantType = request.form["grant_type"] else { throw FlowError.invalidRequest("grant_type is missing") }
        guard let handler = handlers[grantType] else {
            throw FlowError.oauth(status: 400, error: "unsupported_grant_type",
                                  description: "the grant types supported are " + grantTypes.joined(separator: ", "))
        }
        let client = try await authenticator.verify(presented)
        // RFC 6749 §5.2: each client uses the grant types it was registered for (GRANT_TYPES).
        guard client.grantTypes.contains(grantType) else {
            throw FlowError.oauth(status: 400, error: "unauthorized_client", description: "this client may not use grant_type \(grantType)")
        }
        let proof = try await dpop.proof(for: request, client: client)
        // RFC 9449 §5: a client that must use DPoP (REQUIRE_DPOP, PROFILE fapi2) never gets a bearer token.
        if proof == nil && client.requiresDPoP { throw FlowError.invalidRequest("this client must send a DPoP proof (DPoP header)") }
        return try await handler.handle(request, client: client, proof: proof)
    }
}
