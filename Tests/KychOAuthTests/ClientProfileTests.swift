import Foundation
import KychCore
import KychOAuth
import Testing

/// What a client's settings make mandatory (issue 15): the FAPI 2.0 profile switches on PAR, PKCE, DPoP and
/// private_key_jwt, and caps code lifetimes; each switch also works alone; the authentication methods follow
/// TOKEN_ENDPOINT_AUTH_METHOD, the profile and the credentials.
@Suite struct ClientProfileTests {
    static let keys = ClientSecurity(jwks: #"{"keys":[]}"#)

    static func client(secret: Bool, _ security: ClientSecurity = ClientSecurity()) -> Client {
        var client = Client(clientID: "c", secretHash: secret ? "$2b$04$hash" : nil, verifierURL: "https://v.example",
                            redirectURI: "https://c.example/cb")
        client.security = security
        return client
    }

    @Test func fapi2SwitchesOnEveryMechanism() {
        var security = Self.keys
        security.profile = .fapi2
        let fapi = Self.client(secret: true, security)
        #expect(fapi.requiresPKCE && fapi.requiresDPoP && fapi.requiresPushedAuthorizationRequests && !fapi.isPublic)
        #expect(fapi.authenticationMethods == ["private_key_jwt"], "a secret does not open another method under FAPI 2.0")
        #expect(fapi.authorizationCodeLifetime(configuredMinutes: 10) == 60)
        let standard = Self.client(secret: true, Self.keys)
        #expect(!standard.requiresPKCE && !standard.requiresDPoP && !standard.requiresPushedAuthorizationRequests)
        #expect(standard.authorizationCodeLifetime(configuredMinutes: 10) == 600)
    }

    @Test func eachSwitchWorksAlone() {
        #expect(Self.client(secret: true, ClientSecurity(requireDPoP: true)).requiresDPoP)
        #expect(Self.client(secret: true, ClientSecurity(requirePushedAuthorizationRequests: true)).requiresPushedAuthorizationRequests)
        #expect(!Self.client(secret: true, ClientSecurity(requireSignedRequestObject: true)).requiresDPoP)
    }

    @Test func authenticationMethodsFollowTheCredentials() {
        #expect(Self.client(secret: false).authenticationMethods == ["none"])
        #expect(Self.client(secret: false).isPublic)
        #expect(Self.client(secret: true).authenticationMethods == ["client_secret_basic", "client_secret_post"])
        #expect(Self.client(secret: true, Self.keys).authenticationMethods == ["client_secret_basic", "client_secret_post", "private_key_jwt"])
        #expect(Self.client(secret: false, Self.keys).authenticationMethods == ["private_key_jwt"])
        #expect(!Self.client(secret: false, Self.keys).isPublic, "a client with keys is confidential")
        var restricted = Self.keys
        restricted.tokenEndpointAuthMethod = "client_secret_post"
        #expect(Self.client(secret: true, restricted).authenticationMethods == ["client_secret_post"])
    }
}
