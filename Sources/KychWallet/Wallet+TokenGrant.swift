import Foundation
import KychCore
import KychOutboundHTTP
import KychSDJWT
import KychVerifierModel

/// An organisation's wallet at a KyCH gateway's token endpoint: `grant_type=vp_token-bearer` (issue 16).
extension Wallet {
    /// The gateway's answer to a token request.
    package struct TokenReply: Sendable {
        package var status: Int
        package var body: JSONValue
    }

    /// Gets a nonce from `POST /nonce`, presents the stored credential `name` with every disclosure and a key binding for
    /// the gateway's token endpoint, and asks `/token` for a token for `scope` (client authentication: `client_secret_post`).
    package func requestToken(gateway: String, clientID: String, clientSecret: String, scope: String,
                              credential name: String) async throws -> TokenReply {
        guard let credential = try credentials().first(where: { $0.name == name }) else {
            throw WalletError("the wallet holds no credential named \(name)")
        }
        let base = gateway.hasSuffix("/") ? String(gateway.dropLast()) : gateway
        let nonceReply = try await OutboundHTTP.send(url: base + "/nonce", method: .POST, headers: [("Accept", "application/json")],
                                                     body: nil, maxBytes: 1 << 16)
        guard nonceReply.status == 200, let nonce = (try? JSONText.parse(nonceReply.body))?.objectValue?["c_nonce"]?.stringValue else {
            throw WalletError("POST \(base)/nonce answered HTTP \(nonceReply.status) without a c_nonce")
        }
        let names = Set(try SDJWT(parsing: credential.sdJWT).disclosures.compactMap { try Disclosure(parsing: $0).name })
        let presentation = try SDJWTPresentation.make(sdJWT: credential.sdJWT, disclosing: names, holderKey: try holderKey(),
                                                      audience: base + "/token", nonce: nonce)
        let reply = try await OutboundHTTP.send(
            url: base + "/token", method: .POST,
            headers: [("Content-Type", "application/x-www-form-urlencoded"), ("Accept", "application/json")],
            body: Data(FormURLEncoding.encode([("grant_type", "vp_token-bearer"), ("scope", scope), ("assertion", presentation),
                                               ("client_id", clientID), ("client_secret", clientSecret)]).utf8),
            maxBytes: 1 << 20)
        return TokenReply(status: reply.status, body: (try? JSONText.parse(reply.body)) ?? .null)
    }
}
