import Foundation
import KychCore
import KychSDJWT

/// RFC 7523 §2.2 `private_key_jwt` (OpenID Connect Core §9): `client_assertion_type` =
/// `urn:ietf:params:oauth:client-assertion-type:jwt-bearer` and `client_assertion`, a JWT the client signed with
/// one of its keys (``ClientAssertions``). `client_id` in the form is optional; the client is the assertion's `sub`.
package struct PrivateKeyJWT: ClientAuthenticationMethod {
    package static let assertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    package var name: String { "private_key_jwt" }
    package init() {}

    /// Whether the request carries a client assertion (so that it uses no other method).
    static func isUsed(by request: ClientAuthenticationRequest) -> Bool {
        request.form["client_assertion"] != nil || request.form["client_assertion_type"] != nil
    }

    package func credentials(in request: ClientAuthenticationRequest) throws(FlowError) -> PresentedSecret? {
        guard Self.isUsed(by: request) else { return nil }
        guard request.form["client_assertion_type"] == Self.assertionType else {
            throw .invalidRequest("client_assertion_type must be \(Self.assertionType)")
        }
        guard let assertion = request.form["client_assertion"], !assertion.isEmpty else { throw .invalidRequest("client_assertion is missing") }
        // Only to find the client's keys: ClientAssertions checks that the signed iss and sub are this id.
        guard let clientID = request.form["client_id"] ?? Self.unverifiedSubject(assertion) else {
            throw .invalidClient("the client assertion is not a JWT with a sub")
        }
        return PresentedSecret(clientID: clientID, secret: nil, challenge: nil, method: name, assertion: assertion)
    }

    /// The `sub` of a compact JWT, read without checking anything.
    static func unverifiedSubject(_ compact: String) -> String? {
        let parts = compact.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let payload = Base64URL.decode(parts[1]), let claims = try? JSONText.parseObject(payload) else { return nil }
        return claims["sub"]?.stringValue
    }
}

/// Checks `private_key_jwt` client assertions (RFC 7523 §3, RFC 7521 §4.2): signed by one of the client's keys
/// (``ClientKeySource``; a JWKS_URI set is fetched again once when no key matched); `iss` = `sub` = client_id; `aud`
/// the issuer, the token endpoint or the endpoint that received it; `exp` required, not past and at most
/// ``maximumLifetime`` ahead; `nbf` and `iat` not in the future beyond ``clockSkew``; `jti` used once until `exp`,
/// across every instance on the database (``FlowStore/recordOnce(_:expiresAt:now:)``).
package struct ClientAssertions: Sendable {
    let keys: any ClientKeySource
    let store: any FlowStore
    /// `BASE_URL`: without it there is no audience to check, and no assertion is accepted.
    let issuer: String?
    let now: @Sendable () -> Date
    /// Bounds how long a `jti` is remembered (Authlib's assertions live an hour).
    package var maximumLifetime: TimeInterval = 3600
    package var clockSkew: TimeInterval = 60

    package init(keys: any ClientKeySource, store: any FlowStore, issuer: String?, now: @escaping @Sendable () -> Date) {
        self.keys = keys
        self.store = store
        self.issuer = issuer
        self.now = now
    }

    /// Throws ``JWTRefusal`` with the reason `assertion` does not authenticate `client` at `endpoint` (a path).
    package func verify(_ assertion: String, client: Client, endpoint: String?) async throws {
        guard let issuer else { throw JWTRefusal("private_key_jwt needs the gateway's BASE_URL") }
        let jwt = try await signed(assertion, client: client)
        let id = client.clientID
        guard jwt.string("iss") == id, jwt.string("sub") == id else { throw JWTRefusal("iss and sub must be the client_id") }
        let audiences = Set([issuer, issuer + EndpointPath.token] + (endpoint.map { [issuer + $0] } ?? []))
        guard jwt.audiences().contains(where: audiences.contains) else {
            throw JWTRefusal("aud must be the issuer \(issuer) or the endpoint's URL")
        }
        let now = now()
        guard let exp = jwt.integer("exp") else { throw JWTRefusal("exp is missing") }
        let expiry = Date(timeIntervalSince1970: TimeInterval(exp))
        guard expiry > now else { throw JWTRefusal("the assertion has expired") }
        guard expiry.timeIntervalSince(now) <= maximumLifetime else {
            throw JWTRefusal("exp is more than \(Int(maximumLifetime)) s ahead")
        }
        for claim in ["nbf", "iat"] {
            if let time = jwt.integer(claim), TimeInterval(time) > now.timeIntervalSince1970 + clockSkew {
                throw JWTRefusal("\(claim) is in the future")
            }
        }
        guard let jti = jwt.string("jti"), !jti.isEmpty else { throw JWTRefusal("jti is missing") }
        guard try await store.recordOnce(Secrets.sha256("client-assertion\u{0}" + id + "\u{0}" + jti), expiresAt: expiry, now: now) else {
            throw JWTRefusal("this jti was used before")
        }
    }

    /// The assertion verified with the client's keys; a fetched key set is fetched again once when no key's `kid` matched.
    private func signed(_ assertion: String, client: Client) async throws -> VerifiedJWT {
        let keySet = try await keys.keySet(for: client, refresh: false)
        do {
            return try await ClientSignedJWT.verify(assertion, keySet: keySet)
        } catch {
            let kid = (try? ClientSignedJWT.header(of: assertion))?["kid"]
            guard client.security.jwksURI != nil, !Self.holdsKey(named: kid, keySet) else { throw error }
            return try await ClientSignedJWT.verify(assertion, keySet: try await keys.keySet(for: client, refresh: true))
        }
    }

    /// Whether `keySet` has a key with this `kid` (then a failed signature is no reason to fetch the set again).
    static func holdsKey(named kid: JSON?, _ keySet: [String: JSON]) -> Bool {
        guard let kid = kid?.stringValue else { return false }
        return keySet["keys"]?.arrayValue?.contains { $0["kid"]?.stringValue == kid } ?? false
    }
}
