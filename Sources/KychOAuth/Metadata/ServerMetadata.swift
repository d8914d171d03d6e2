import Foundation
import KychCore

/// The endpoints' paths, in one place for the routes and the metadata.
package enum EndpointPath {
    package static let authorize = "/authorize"
    package static let token = "/token"
    package static let pushedAuthorizationRequest = "/par"
    /// Nonces for the key binding of `vp_token-bearer` presentations.
    package static let nonce = "/nonce"
    package static let revoke = "/revoke"
    package static let introspect = "/introspect"
    package static let setup = "/setup"
    package static let userInfo = "/userinfo"
    package static let jwks = "/jwks"
    package static let authorizationServerMetadata = "/.well-known/oauth-authorization-server"
    package static let openIDConfiguration = "/.well-known/openid-configuration"
    /// OpenID4VCI: the KyCH attestation, and the metadata of its issuer (OpenID4VCI 1.0 §12.2.2, SD-JWT VC §5).
    package static let credential = "/credential"
    package static let credentialIssuerMetadata = "/.well-known/openid-credential-issuer"
    package static let jwtVCIssuerMetadata = "/.well-known/jwt-vc-issuer"
    /// The attestation's `vct` under `BASE_URL`, where its SD-JWT VC type metadata is served.
    package static let attestationType = "/credentials/kyc-attestation"
    /// Where a credential offer by reference is served: `{credentialOffers}/{issuer_state}` (``CredentialOffers``).
    package static let credentialOffers = "/credential-offers"
    /// The token status list of the attestations KyCH issued.
    package static let attestationStatusList = "/status-lists/kych-attestations"
}

extension AuthorizationServer {
    /// RFC 8414 authorization server metadata, built from what is configured and registered (the grant
    /// handlers, the client-authentication methods, the grantable claims), so it names only what works.
    /// nil without `BASE_URL`: the issuer identifier must be the public URL, which only the operator knows.
    package func metadata() -> JSON? {
        guard let issuer = config.baseURL else { return nil }
        func names(_ methods: [any ClientAuthenticationMethod]) -> JSON { .array(methods.map { .string($0.name) }) }
        var metadata: [String: JSON] = [
            "issuer": .string(issuer),
            "authorization_endpoint": .string(issuer + EndpointPath.authorize),
            "token_endpoint": .string(issuer + EndpointPath.token),
            "revocation_endpoint": .string(issuer + EndpointPath.revoke),
            "introspection_endpoint": .string(issuer + EndpointPath.introspect),
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": .array(tokenEndpoint.grantTypes.map(JSON.string)),
            "token_endpoint_auth_methods_supported": names(tokenEndpoint.methods),
            "revocation_endpoint_auth_methods_supported": names(TokenManagement.revocationMethods),
            "introspection_endpoint_auth_methods_supported": names(TokenManagement.introspectionMethods),
            "code_challenge_methods_supported": ["S256"],
            "scopes_supported": .array(config.grantableScopes.map(JSON.string)),
            "authorization_response_iss_parameter_supported": true,
            // RFC 9449 §5.1: DPoP at /token, /info, /userinfo, /revoke and /introspect.
            "dpop_signing_alg_values_supported": .array(ClientSignedJWT.algorithms.map(JSON.string)),
            // RFC 9126 §5 and RFC 9101 §10.5: pushed requests and request objects by value; request_uri only from /par
            // (no request object is fetched from a client's URL).
            "pushed_authorization_request_endpoint": .string(issuer + EndpointPath.pushedAuthorizationRequest),
            "require_pushed_authorization_requests": .bool(config.requirePushedAuthorizationRequests),
            "request_parameter_supported": true,
            "request_uri_parameter_supported": false,
            "request_object_signing_alg_values_supported": .array(ClientSignedJWT.algorithms.map(JSON.string)),
        ]
        // RFC 8414 §2: the algorithms of private_key_jwt assertions, per endpoint that accepts them.
        for (endpoint, methods) in [("token", tokenEndpoint.methods), ("revocation", TokenManagement.revocationMethods),
                                    ("introspection", TokenManagement.introspectionMethods)]
            where methods.contains(where: { $0 is PrivateKeyJWT }) {
            metadata["\(endpoint)_endpoint_auth_signing_alg_values_supported"] = .array(ClientSignedJWT.algorithms.map(JSON.string))
        }
        if tokenEndpoint.grantTypes.contains(GrantType.vpTokenBearer) { metadata["nonce_endpoint"] = .string(issuer + EndpointPath.nonce) }
        if openID != nil {
            // OpenID Connect Discovery 1.0 §3; RS256 is listed because relying parties must be able to rely on it.
            let credentials = credentialIssuer == nil ? [] : [CredentialIssuer.configurationID]
            metadata["scopes_supported"] = .array((["openid"] + config.grantableScopes + credentials).map(JSON.string))
            // RFC 9396 §10: OpenID4VCI's authorization_details.
            if !credentials.isEmpty { metadata["authorization_details_types_supported"] = [.string(AuthorizationDetails.type)] }
            metadata["jwks_uri"] = .string(issuer + EndpointPath.jwks)
            metadata["userinfo_endpoint"] = .string(issuer + EndpointPath.userInfo)
            metadata["subject_types_supported"] = ["pairwise"]
            metadata["id_token_signing_alg_values_supported"] = .array(SigningAlgorithm.allCases.map { .string($0.rawValue) })
            metadata["claims_supported"] = .array((["sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "at_hash"]
                + config.grantableScopes).map(JSON.string))
            metadata["claims_parameter_supported"] = false
        }
        return .object(metadata)
    }

    /// `/.well-known/openid-configuration`: the same document, when OpenID Connect is on.
    package func openIDConfiguration() -> JSON? {
        openID == nil ? nil : metadata()
    }
}
