import Crypto
import Foundation
import KychCore
import KychSDJWT

/// An OpenID4VP authorization request as a wallet sees it: its signature checked with the key of the verifier's DID,
/// its parameters checked. Parsing only, so that it is fuzzed without networking; the test wallet fetches it
/// (`PresentationRequest.fetch` in KychWallet).
package struct PresentationRequest: Sendable {
    /// `decentralized_identifier:<DID>`: also the KB-JWT `aud`.
    package var clientID: String
    package var clientName: String?
    package var responseURI: URL
    package var responseMode: ResponseMode
    package var nonce: String
    package var state: String
    package var query: DCQLQuery
    /// The verifier's encryption key for `direct_post.jwt`.
    package var encryptionKey: (keyID: String, key: P256.KeyAgreement.PublicKey)?

    package init(clientID: String, clientName: String?, responseURI: URL, responseMode: ResponseMode, nonce: String,
                state: String, query: DCQLQuery, encryptionKey: (keyID: String, key: P256.KeyAgreement.PublicKey)?) {
        self.clientID = clientID
        self.clientName = clientName
        self.responseURI = responseURI
        self.responseMode = responseMode
        self.nonce = nonce
        self.state = state
        self.query = query
        self.encryptionKey = encryptionKey
    }

    /// The `request_uri` (and expected `client_id`) of a deeplink
    /// (`swiyu-verify://?client_id=…&request_uri=…`, any scheme), or of a bare `https` URL.
    package static func reference(_ text: String) throws(WalletError) -> (requestURI: URL, clientID: String?) {
        let lower = text.lowercased()
        if lower.hasPrefix("https://") || lower.hasPrefix("http://") {
            guard let url = URL(string: text) else { throw WalletError("\(text) is not a URL") }
            return (url, nil)
        }
        guard let items = URLComponents(string: text)?.queryItems else { throw WalletError("not a deeplink with a query") }
        let value = { (name: String) in items.first { $0.name == name }?.value }
        if value("request") != nil { throw WalletError("requests passed by value are not supported; use request_uri") }
        if let method = value("request_uri_method"), method.lowercased() != "get" {
            throw WalletError("request_uri_method \(method) is not supported")
        }
        guard let uri = value("request_uri"), let url = URL(string: uri) else { throw WalletError("the deeplink has no request_uri") }
        return (url, value("client_id"))
    }

    /// Checks a request object: `typ`, ES256 signature by the key its `kid` names, `kid` of the
    /// `client_id`'s DID, `iss`, `exp`, and the OpenID4VP parameters.
    package static func verify(_ jwt: String, expectedClientID: String?, resolver: any DIDResolver,
                              now: Date = Date()) async throws -> PresentationRequest {
        let jws = try CompactJWS(parsing: jwt.trimmingCharacters(in: .whitespacesAndNewlines))
        guard jws.type == OpenID4VP.requestObjectType else { throw WalletError("the request object's typ is not \(OpenID4VP.requestObjectType)") }
        guard let kid = jws.keyID else { throw WalletError("the request object has no kid") }
        let claims = try jws.claims()
        guard let clientID = claims["client_id"]?.stringValue, clientID.hasPrefix(OpenID4VP.clientIDPrefix) else {
            throw WalletError("the client_id is not a decentralized_identifier")
        }
        let did = String(clientID.dropFirst(OpenID4VP.clientIDPrefix.count))
        guard kid.hasPrefix(did + "#") else { throw WalletError("the request object is not signed with a key of \(did)") }
        if let expectedClientID, expectedClientID != clientID {
            throw WalletError("the deeplink's client_id does not match the request object's")
        }
        try jws.verify(using: try await resolver.publicKey(forKeyID: kid))
        guard claims["iss"]?.stringValue == clientID else { throw WalletError("the request object's iss is not its client_id") }
        if let exp = claims["exp"]?.doubleValue, exp < now.timeIntervalSince1970 { throw WalletError("the request object has expired") }
        guard claims["response_type"]?.stringValue == "vp_token" else { throw WalletError("response_type is not vp_token") }
        guard let mode = claims["response_mode"]?.stringValue.flatMap(ResponseMode.init(rawValue:)) else {
            throw WalletError("response_mode is not direct_post or direct_post.jwt")
        }
        guard let uri = claims["response_uri"]?.stringValue, let responseURI = URL(string: uri),
              FetchableURL.allows(responseURI)
        else { throw WalletError("response_uri is not an https URL") }
        guard let nonce = claims["nonce"]?.stringValue, let state = claims["state"]?.stringValue else {
            throw WalletError("the request object lacks nonce or state")
        }
        guard let queryJSON = claims["dcql_query"] else { throw WalletError("the request object has no dcql_query") }
        let metadata = claims["client_metadata"]?.objectValue ?? [:]
        var request = PresentationRequest(
            clientID: clientID, clientName: metadata["client_name"]?.stringValue, responseURI: responseURI,
            responseMode: mode, nonce: nonce, state: state, query: try DCQLQuery(json: queryJSON), encryptionKey: nil)
        if mode == .directPostJWT {
            let encodings = (claims["encrypted_response_enc_values_supported"] ?? metadata["encrypted_response_enc_values_supported"])?
                .arrayValue?.compactMap(\.stringValue) ?? ["A256GCM"]
            guard encodings.contains("A256GCM") else { throw WalletError("the verifier does not accept A256GCM") }
            let keys = metadata["jwks"]?.objectValue?["keys"]?.arrayValue?.compactMap(\.objectValue) ?? []
            guard let jwk = keys.first(where: { ($0["alg"]?.stringValue ?? "ECDH-ES") == "ECDH-ES" && $0["kid"]?.stringValue != nil }),
                  let keyID = jwk["kid"]?.stringValue
            else { throw WalletError("direct_post.jwt without an ECDH-ES key with a kid in client_metadata.jwks") }
            request.encryptionKey = (keyID, try P256PublicJWK(jwk: jwk).keyAgreementKey())
        }
        return request
    }
}

/// Names of OpenID4VP that the verifier (which makes request objects) and wallets (which read them) share.
package enum OpenID4VP {
    /// The `client_id` prefix of a verifier identified by its DID.
    package static let clientIDPrefix = "decentralized_identifier:"
    /// The JOSE `typ` and the media type of a request object.
    package static let requestObjectType = "oauth-authz-req+jwt"
}

/// A wallet operation that cannot be done (a request object it refuses, say); the text says why.
package struct WalletError: Error, Sendable, CustomStringConvertible {
    package let description: String
    package init(_ description: String) { self.description = description }
}
