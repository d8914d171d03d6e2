import Foundation
import KychCore

/// RFC 9101 (JAR): `request` is a request object, a JWS the client signed with one of its keys (`JWKS`, `JWKS_URI`);
/// only its parameters count. Asymmetric algorithms only (``ClientSignedJWT/algorithms``: never `none`, never HS*, also
/// for public clients); its `client_id` must be the request's, `iss` (if present) the client, `aud` (if present) must
/// name the issuer, `exp` (if present) must not have passed, and it may carry neither `request` nor `request_uri`.
struct RequestObjectResolved: AuthorizeCheck {
    /// The `typ` values accepted (RFC 9101 §4; a media type may come with its `application/` prefix), besides none.
    static let types: Set<String> = ["jwt", "oauth-authz-req+jwt"]

    func check(_ context: inout AuthorizeContext, in environment: AuthorizeEnvironment) async throws {
        guard let compact = context.request.requestObject, let client = context.client else { return }
        func refused(_ reason: String) -> FlowError {
            context.refusal("The request object was refused: \(reason).", error: "invalid_request_object")
        }
        let object: VerifiedJWT
        do {
            object = try await Self.verified(compact, client: client, keys: environment.clientKeys)
        } catch let refusal as JWTRefusal {
            throw refused(refusal.reason)
        }
        if let type = object.header["typ"] {
            let name = (type.stringValue ?? "").lowercased()
            guard Self.types.contains(name.hasPrefix("application/") ? String(name.dropFirst("application/".count)) : name) else {
                throw refused("typ must be oauth-authz-req+jwt or JWT")
            }
        }
        guard object.string("client_id") == client.clientID else { throw refused("its client_id is not the request's client_id") }
        if object.claims["iss"] != nil, object.string("iss") != client.clientID { throw refused("its iss is not the client_id") }
        let issuer = context.issuer
        if object.claims["aud"] != nil, !object.audiences().contains(where: { $0 == issuer }) {
            throw refused("its aud does not name this server (\(issuer ?? "no BASE_URL is set"))")
        }
        if object.claims["exp"] != nil {
            guard let exp = object.integer("exp"), TimeInterval(exp) > context.now.timeIntervalSince1970 else {
                throw refused("it has expired (exp)")
            }
        }
        if object.claims["request"] != nil || object.claims["request_uri"] != nil {
            throw refused("it may not contain request or request_uri")
        }
        var request = AuthorizationRequest(nonce: context.request.nonce, parameters: object.claims.compactMapValues(\.stringValue),
                                           sourceAddress: context.request.sourceAddress)
        // RFC 9396 §3: in a request object authorization_details is a JSON array, not its text.
        if let details = object.claims["authorization_details"], details.stringValue == nil {
            request.authorizationDetails = details.serialized()
        }
        request.pushed = context.request.pushed
        request.signed = true
        context.request = request
    }

    /// The request object checked with the client's key set, fetched again once when no key of the set matched (the
    /// client may have rotated its keys since the set was cached).
    static func verified(_ compact: String, client: Client, keys: any ClientKeySource) async throws -> VerifiedJWT {
        let header = try ClientSignedJWT.header(of: compact)
        let keySet = try await keys.keySet(for: client, refresh: false)
        do {
            return try await ClientSignedJWT.verify(compact, keySet: keySet)
        } catch {
            // Fetching again helps only a token in an accepted algorithm whose key the set lacks: not `alg: none`, not a
            // key the set holds whose signature failed (anyone may send /authorize, so no fetch for nothing).
            let kid = header["kid"]?.stringValue
            let known = keySet["keys"]?.arrayValue?.contains { kid != nil && $0["kid"]?.stringValue == kid } ?? false
            guard let alg = header["alg"]?.stringValue, ClientSignedJWT.algorithms.contains(alg), !known else { throw error }
            return try await ClientSignedJWT.verify(compact, keySet: try await keys.keySet(for: client, refresh: true))
        }
    }
}

/// `REQUIRE_SIGNED_REQUEST_OBJECT`: the client's parameters must come in a request object it signed, directly or pushed.
struct SignedRequestRequired: AuthorizeCheck {
    func check(_ context: inout AuthorizeContext, in environment: AuthorizeEnvironment) async throws {
        if context.client?.security.requireSignedRequestObject == true, !context.request.signed {
            throw context.refusal("This client must send its authorization request as a signed request object (request, RFC 9101).")
        }
    }
}
