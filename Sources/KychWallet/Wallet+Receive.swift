import Crypto
import Foundation
import KychCore
import KychOutboundHTTP
import KychSDJWT
import KychVerifierModel

/// The wallet receiving a credential by OpenID4VCI 1.0 in the authorization code flow, from a KyCH instance (issue 17):
/// issuer metadata → authorization server metadata → authorization request as a public client with PKCE and the
/// configuration's scope → the person's verification (this wallet presenting its Beta-ID; KyCH's `/status` and
/// `/finalize`, which a browser would use, with its browser-binding cookie) → token → `c_nonce` → key proof →
/// credential, stored next to the wallet's other credentials.
extension Wallet {
    /// `typ` of an OpenID4VCI key proof (Appendix F.1).
    static let keyProofType = "openid4vci-proof+jwt"
    static let maxReply = 1 << 20

    /// Receives the credential `configuration` of the credential issuer `issuer` as the public client `clientID` and stores
    /// it as `name`; `credential` is the stored credential presented at the verification step (default: the first of a
    /// requested type). Returns the issued credential (`<issuer-jwt>~<disclosures>~`).
    package func receive(issuer: String, clientID: String, redirectURI: String, configuration: String = "kych_attestation",
                         presenting credential: String? = nil, name: String = Wallet.attestationName) async throws -> String {
        let issuer = issuer.hasSuffix("/") ? String(issuer.dropLast()) : issuer
        let metadata = try await Self.json(.GET, issuer + "/.well-known/openid-credential-issuer")
        guard metadata["credential_issuer"]?.stringValue == issuer,
              let credentialEndpoint = metadata["credential_endpoint"]?.stringValue,
              let nonceEndpoint = metadata["nonce_endpoint"]?.stringValue,
              let offered = metadata["credential_configurations_supported"]?[configuration]?.objectValue else {
            throw WalletError("\(issuer) is not a credential issuer of \(configuration) with a nonce endpoint")
        }
        let server = metadata["authorization_servers"]?.arrayValue?.first?.stringValue ?? issuer
        let serverMetadata = try await Self.json(.GET, server + "/.well-known/oauth-authorization-server")
        guard let authorizationEndpoint = serverMetadata["authorization_endpoint"]?.stringValue,
              let tokenEndpoint = serverMetadata["token_endpoint"]?.stringValue else {
            throw WalletError("the authorization server \(server) publishes no authorization and token endpoints")
        }

        // The authorization request (RFC 6749 §4.1, PKCE S256), answered as JSON by KyCH with its verification.
        let verifier = Base64URL.encode(Data(SymmetricKey(size: .bits256).withUnsafeBytes { Array($0) }))
        let state = UUID().uuidString
        let challenge = Base64URL.encode(Data(SHA256.hash(data: Data(verifier.utf8))))
        let query = FormURLEncoding.encode([
            ("response_type", "code"), ("client_id", clientID), ("redirect_uri", redirectURI), ("state", state),
            ("code_challenge", challenge), ("code_challenge_method", "S256"),
            ("scope", offered["scope"]?.stringValue ?? configuration),
        ])
        let authorization = try await Self.send(.GET, authorizationEndpoint + "?" + query)
        guard authorization.status == 200, let started = (try? JSONText.parse(authorization.body))?.objectValue,
              let verificationID = started["verification_id"]?.stringValue,
              let deeplink = started["verification_deeplink"]?.stringValue else {
            throw WalletError("the authorization request answered HTTP \(authorization.status)")
        }
        let cookie = authorization.values(of: "Set-Cookie").compactMap { $0.split(separator: ";").first.map(String.init) }
            .joined(separator: "; ")

        // The person's part: present, wait for the verification, finalize to get the code.
        let presented = try await present(try await PresentationRequest.fetch(deeplink), credential: credential)
        guard presented.accepted else {
            throw WalletError("the verifier refused the presentation: \(presented.body["error_code"]?.stringValue ?? "HTTP \(presented.status)")")
        }
        let browser = [("Cookie", cookie), ("Accept", "application/json")]
        let ending = FormURLEncoding.encode([("state", state)])
        var status = "pending"
        for _ in 0..<30 where status != "verified" {
            let reply = try await Self.send(.GET, server + "/status/" + verificationID + "?" + ending + "&timeout_ms=2000", headers: browser)
            status = (try? JSONText.parse(reply.body))?["status"]?.stringValue ?? "HTTP \(reply.status)"
            guard ["pending", "authorized", "verified"].contains(status) else { throw WalletError("the verification ended \(status)") }
        }
        guard status == "verified" else { throw WalletError("the verification did not complete in time") }
        let finalized = try await Self.send(.GET, server + "/finalize/" + verificationID + "?" + ending, headers: browser)
        let redirect = finalized.values(of: "Location").first.flatMap { URLComponents(string: $0)?.queryItems } ?? []
        guard let code = redirect.first(where: { $0.name == "code" })?.value else {
            throw WalletError("the authorization ended without a code: \(redirect.first { $0.name == "error" }?.value ?? "HTTP \(finalized.status)")")
        }

        // Token, nonce, key proof, credential (OpenID4VCI 1.0 §6, §7, §8, Appendix F.1).
        let token = try await Self.json(.POST, tokenEndpoint, form: [
            ("grant_type", "authorization_code"), ("code", code), ("redirect_uri", redirectURI), ("code_verifier", verifier),
            ("client_id", clientID),
        ])
        guard let accessToken = token["access_token"]?.stringValue else { throw WalletError("the token response has no access_token") }
        guard let nonce = try await Self.json(.POST, nonceEndpoint)["c_nonce"]?.stringValue else {
            throw WalletError("the nonce endpoint gave no c_nonce")
        }
        let holderKey = try holderKey()
        let proof = try CompactJWS.sign(
            claims: ["aud": .string(issuer), "iat": .integer(Int64(Date().timeIntervalSince1970)), "nonce": .string(nonce),
                     "iss": .string(clientID)],
            header: ["typ": .string(Self.keyProofType), "jwk": .object(P256PublicJWK(holderKey.publicKey).jsonObject)], using: holderKey)
        let request: JSONValue = ["credential_configuration_id": .string(configuration), "proofs": ["jwt": [.string(proof)]]]
        let reply = try await Self.send(.POST, credentialEndpoint, headers: [
            ("Authorization", "Bearer " + accessToken), ("Content-Type", "application/json"), ("Accept", "application/json"),
        ], body: JSONText.serialize(request))
        guard reply.status == 200,
              let issued = (try? JSONText.parse(reply.body))?["credentials"]?.arrayValue?.first?["credential"]?.stringValue else {
            let answer = try? JSONText.parse(reply.body)
            throw WalletError("the credential endpoint answered HTTP \(reply.status) \(answer?["error"]?.stringValue ?? "")")
        }
        try store(issued, name: name)
        return issued
    }

    enum Method { case GET, POST }

    /// A request to `url` under the outbound policy.
    static func send(_ method: Method, _ url: String, headers: [(String, String)] = [("Accept", "application/json")],
                     body: Data? = nil) async throws -> OutboundHTTP.Reply {
        guard let parsed = URL(string: url), OutboundHTTP.isFetchable(parsed) else {
            throw WalletError("\(url) is neither https nor http on a loopback host")
        }
        return try await OutboundHTTP.send(url: url, method: method == .POST ? .POST : .GET, headers: headers, body: body, maxBytes: maxReply)
    }

    /// The JSON object `url` answers with 200 (to a form POST when `form` is given).
    static func json(_ method: Method, _ url: String, form: [(String, String)]? = nil) async throws -> JSONValue {
        let reply = try await send(method, url, headers: form == nil ? [("Accept", "application/json")]
                                       : [("Accept", "application/json"), ("Content-Type", "application/x-www-form-urlencoded")],
                                   body: form.map { Data(FormURLEncoding.encode($0).utf8) })
        guard let json = try? JSONText.parse(reply.body), json.objectValue != nil, reply.status == 200 else {
            let error = (try? JSONText.parse(reply.body))?["error"]?.stringValue
            throw WalletError("\(method) \(url) answered HTTP \(reply.status)\(error.map { " \($0)" } ?? "")")
        }
        return json
    }
}
