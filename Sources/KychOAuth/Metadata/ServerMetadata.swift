import Foundation
import KychCore

/// The endpoints' paths, in one place for the routes and the metadata.
package enum EndpointPath {
    package static let authorize = "/authorize"
    package static let token = "/token"
    package static let revoke = "/revoke"
    package static let introspect = "/introspect"
    package static let setup = "/setup"
    package static let authorizationServerMetadata = "/.well-known/oauth-authorization-server"
}

extension AuthorizationServer {
    /// RFC 8414 authorization server metadata, built from what is configured and registered (the grant
    /// handlers, the client-authentication methods, the grantable claims), so it names only what works.
    /// nil without `BASE_URL`: the issuer identifier must be the public URL, which only the operator knows.
    package func metadata() -> JSON? {
        guard let issuer = config.baseURL else { return nil }
        func names(_ methods: [any ClientAuthenticationMethod]) -> JSON { .array(methods.map { .string($0.name) }) }
        return .object([
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
        ])
    }
}
