import Crypto
import Foundation
import KychCore
import KychSDJWT

/// Credential offers (OpenID4VCI 1.0 §4.1) of the KyCH attestation for the authorization code flow: an
/// `openid-credential-offer://` link a wallet opens, whose `issuer_state` comes back at `/authorize` (or `/par`). The
/// state is stateless, like ``PresentationNonces``: its expiry, the wallet client it is for (if any) and random bytes under
/// an HMAC over the issuer identifier with a key every instance shares, so making an offer writes nothing, any instance
/// accepts it, and a state of another issuer, a changed one or an expired one is refused.
package struct CredentialOffers: Sendable {
    /// The offer link's scheme (OpenID4VCI 1.0 §4.1).
    package static let scheme = "openid-credential-offer://"
    /// How long an offer made with no lifetime of its own (the verification page's) may be started.
    package static let defaultLifetime: TimeInterval = 86_400
    /// The longest lifetime an offer may have.
    package static let maximumLifetime: TimeInterval = 30 * 86_400

    /// `BASE_URL`: the credential issuer the offer names and the state is bound to.
    package let issuer: String
    let key: SharedKey

    package init(issuer: String, store: any FlowStore) {
        self.issuer = issuer
        key = SharedKey(name: "credential-offer-v1", store: store)
    }

    /// An offer's `issuer_state` checked at the authorization request.
    package enum Check: Sendable, Equatable {
        /// Good: the flow grants the attestation.
        case accepted
        /// Not made by this issuer (forged, changed, another issuer's or another KyCH database's).
        case unknown
        case expired
        /// Made for another wallet client (`--client-id`).
        case otherClient
    }

    /// The offer object for `clientID` (nil: any wallet client), valid for `lifetime` from `now`.
    package func offer(clientID: String?, lifetime: TimeInterval = Self.defaultLifetime, now: Date) async throws -> JSON {
        let expiry = Int64(now.addingTimeInterval(min(lifetime, Self.maximumLifetime)).timeIntervalSince1970)
        let body = String(expiry) + "." + Base64URL.encode(Data((clientID ?? "").utf8)) + "." + Secrets.randomToken(bytes: 16)
        return offer(issuerState: body + "." + Base64URL.encode(try await mac(body, now: now)))
    }

    /// The offer object of `state`.
    func offer(issuerState state: String) -> JSON {
        [
            "credential_issuer": .string(issuer),
            "credential_configuration_ids": [.string(CredentialIssuer.configurationID)],
            "grants": ["authorization_code": ["issuer_state": .string(state)]],
        ]
    }

    /// What `credential_offer_uri` answers: the offer whose `issuer_state` is `state`, rebuilt from it; nil unless `state`
    /// is an unexpired state of this issuer.
    package func offer(issuerState state: String, now: Date) async throws -> JSON? {
        // Not a ternary with nil: JSON is ExpressibleByNilLiteral, so that nil would be JSON.null, not "no offer".
        guard try await check(state, clientID: nil, now: now) == .accepted else { return nil }
        return offer(issuerState: state)
    }

    /// The offer by value: `openid-credential-offer://?credential_offer=<the offer's JSON, percent-encoded>`.
    package static func link(_ offer: JSON) -> String {
        scheme + "?" + FormURLEncoding.encode([("credential_offer", offer.serialized())])
    }

    /// The offer by reference, a shorter link: `openid-credential-offer://?credential_offer_uri=<BASE_URL/credential-offers/<issuer_state>>`.
    package func linkByReference(_ offer: JSON) -> String {
        let state = offer["grants"]?["authorization_code"]?["issuer_state"]?.stringValue ?? ""
        return Self.scheme + "?" + FormURLEncoding.encode([("credential_offer_uri", issuer + EndpointPath.credentialOffers + "/" + state)])
    }

    /// Whether `state` is an `issuer_state` of this issuer's offers, unexpired, for `clientID` (nil: for any client).
    package func check(_ state: String, clientID: String?, now: Date) async throws -> Check {
        let parts = state.split(separator: ".", omittingEmptySubsequences: false)
        guard state.utf8.count <= 1024, parts.count == 4, let seconds = Int64(parts[0]),
              let client = Base64URL.decode(parts[1]) else { return .unknown }
        let expected = Base64URL.encode(try await mac(parts[0...2].joined(separator: "."), now: now))
        guard Secrets.constantTimeEqual(String(parts[3]), expected) else { return .unknown }
        guard Date(timeIntervalSince1970: TimeInterval(seconds)) > now else { return .expired }
        guard client.isEmpty || clientID == nil || String(decoding: client, as: UTF8.self) == clientID else { return .otherClient }
        return .accepted
    }

    /// HMAC-SHA256 of the issuer identifier and `body`.
    private func mac(_ body: String, now: Date) async throws -> Data {
        Data(HMAC<SHA256>.authenticationCode(for: Data((issuer + "\u{0}" + body).utf8), using: try await key.key(now: now)))
    }
}
