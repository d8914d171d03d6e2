import Foundation

/// A client's security profile (`PROFILE`).
package enum ClientProfile: String, Sendable, CaseIterable {
    case standard
    /// FAPI 2.0 Security Profile: pushed authorization requests, PKCE, DPoP-bound tokens and `private_key_jwt`.
    case fapi2
}

/// A client's keys and what it must use (issue 15): its JWK Set for `private_key_jwt` and signed request objects,
/// and the switches that make DPoP, PAR, request objects or one authentication method mandatory.
package struct ClientSecurity: Sendable, Equatable {
    /// `JWKS`: the client's public keys as JWK Set JSON text.
    package var jwks: String?
    /// `JWKS_URI`: where the gateway fetches the client's JWK Set.
    package var jwksURI: String?
    /// `TOKEN_ENDPOINT_AUTH_METHOD`: the one client-authentication method the client may use; nil: any it can.
    package var tokenEndpointAuthMethod: String?
    /// `REQUIRE_DPOP`: tokens only with a DPoP proof, so every token is bound to the client's key.
    package var requireDPoP = false
    /// `REQUIRE_DPOP_NONCE`: DPoP proofs must carry a nonce the server handed out (RFC 9449 §8).
    package var requireDPoPNonce = false
    /// `REQUIRE_SIGNED_REQUEST_OBJECT`: authorization requests only as a signed request object (RFC 9101 §10.5).
    package var requireSignedRequestObject = false
    /// `REQUIRE_PUSHED_AUTHORIZATION_REQUESTS`: authorization requests only through `/par` (RFC 9126 §6).
    package var requirePushedAuthorizationRequests = false
    /// `PROFILE`.
    package var profile = ClientProfile.standard

    package init(jwks: String? = nil, jwksURI: String? = nil, tokenEndpointAuthMethod: String? = nil, requireDPoP: Bool = false,
                 requireDPoPNonce: Bool = false, requireSignedRequestObject: Bool = false,
                 requirePushedAuthorizationRequests: Bool = false, profile: ClientProfile = .standard) {
        self.jwks = jwks
        self.jwksURI = jwksURI
        self.tokenEndpointAuthMethod = tokenEndpointAuthMethod
        self.requireDPoP = requireDPoP
        self.requireDPoPNonce = requireDPoPNonce
        self.requireSignedRequestObject = requireSignedRequestObject
        self.requirePushedAuthorizationRequests = requirePushedAuthorizationRequests
        self.profile = profile
    }

    /// Whether the client registered keys (inline or by URL).
    package var hasKeys: Bool { jwks != nil || jwksURI != nil }

    /// The client-authentication methods a client may name in `TOKEN_ENDPOINT_AUTH_METHOD`.
    package static let authenticationMethods = ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"]

    /// What is inconsistent in these settings for a client with or without a secret (`hasSecret`), or that is public;
    /// each problem names the setting it is about.
    package func problems(hasSecret: Bool, isPublic: Bool) -> [(key: String, problem: String)] {
        var found: [(key: String, problem: String)] = []
        if jwks != nil && jwksURI != nil { found.append(("JWKS_URI", "set JWKS or JWKS_URI, not both")) }
        if let jwks, let problem = JWKSetRules.problem(jsonText: jwks) { found.append(("JWKS", problem)) }
        if let jwksURI, let problem = ClientRules.keySetURLProblem(jwksURI) { found.append(("JWKS_URI", problem)) }
        if isPublic && hasKeys { found.append((jwks != nil ? "JWKS" : "JWKS_URI", "a public client has no keys (CLIENT_TYPE = public)")) }
        if let method = tokenEndpointAuthMethod {
            switch method {
            case "client_secret_basic", "client_secret_post":
                if !hasSecret { found.append(("TOKEN_ENDPOINT_AUTH_METHOD", "\(method) needs a CLIENT_SECRET")) }
            case "private_key_jwt":
                if !hasKeys { found.append(("TOKEN_ENDPOINT_AUTH_METHOD", "private_key_jwt needs JWKS or JWKS_URI")) }
            case "none":
                if !isPublic { found.append(("TOKEN_ENDPOINT_AUTH_METHOD", "none is for public clients (CLIENT_TYPE = public)")) }
            default:
                found.append(("TOKEN_ENDPOINT_AUTH_METHOD", "\"\(method)\" is not one of \(Self.authenticationMethods.joined(separator: ", "))"))
            }
        }
        if profile == .fapi2 {
            if !hasKeys { found.append(("PROFILE", "fapi2 clients authenticate with private_key_jwt: set JWKS or JWKS_URI")) }
            if let method = tokenEndpointAuthMethod, method != "private_key_jwt" {
                found.append(("TOKEN_ENDPOINT_AUTH_METHOD", "a fapi2 client uses private_key_jwt"))
            }
        }
        return found
    }
}

/// Checks of JWK Sets that clients register (`JWKS`) or serve (`JWKS_URI`): public keys of the types KyCH verifies.
package enum JWKSetRules {
    /// JWK members that hold private key material (RFC 7518 §6.2.2, §6.3.2, §6.4; RFC 8037 §2).
    package static let privateMembers: Set<String> = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"]
    /// The members RFC 7638 §3.2 hashes for each key type, which a usable public key must have.
    package static let requiredMembers = ["EC": ["crv", "kty", "x", "y"], "RSA": ["e", "kty", "n"], "OKP": ["crv", "kty", "x"]]

    /// Whether a JWK carries private key material.
    package static func hasPrivateMembers(_ jwk: [String: JSON]) -> Bool {
        jwk.keys.contains(where: privateMembers.contains)
    }

    /// What is wrong with JWK Set JSON text; nil when usable.
    package static func problem(jsonText: String) -> String? {
        guard let parsed = try? JSON.parse(Data(jsonText.utf8)), let object = parsed.objectValue else {
            return "must be a JSON object with a \"keys\" array (a JWK Set)"
        }
        return problem(object)
    }

    /// What is wrong with a JWK Set; nil when usable.
    package static func problem(_ keySet: [String: JSON]) -> String? {
        guard let keys = keySet["keys"]?.arrayValue else { return "must be a JSON object with a \"keys\" array (a JWK Set)" }
        guard !keys.isEmpty else { return "has no keys" }
        for value in keys {
            guard let key = value.objectValue else { return "has a key that is not a JSON object" }
            if hasPrivateMembers(key) { return "holds a private key: register the public keys only" }
            guard let required = requiredMembers[key["kty"]?.stringValue ?? ""] else { return "has a key whose kty is not EC, RSA or OKP" }
            if let missing = required.first(where: { key[$0]?.stringValue == nil }) { return "has a key without its \(missing) member" }
        }
        return nil
    }
}
