import Crypto
import Foundation
import KychCore
import KychSDJWT
import KychVerifierModel

/// The verifier's identity and policies, resolved from its configuration and signing key.
package struct VerifierSettings: Sendable {
    /// The public base URL (no trailing slash).
    package var externalURL: String
    package var verifierDID: String
    /// The `kid` of request objects: a DID URL of `verifierDID`.
    package var keyID: String
    package var signingKey: P256.Signing.PrivateKey
    package var verificationTTL: TimeInterval
    /// Lifetime of a signed request object (`exp` − `iat`), 600 s as in swiyu.
    package var requestObjectTTL: TimeInterval = 600
    package var proofTimeWindow: TimeInterval
    /// How long a process owns a wallet answer it is checking (longer than the checks take, status lists
    /// and DID documents fetched); if the process stops meanwhile, a wallet retry may claim it after this.
    package var claimLease: TimeInterval = 60
    package var deeplinkScheme: String
    package var clientName: String
    /// Whether results produce webhook events (a callback URI is configured).
    package var webhookEnabled: Bool

    /// The prefix of the OpenID4VP client identifier scheme for DIDs (swiyu 4.x).
    package static let clientIDPrefix = OpenID4VP.clientIDPrefix

    /// `decentralized_identifier:<DID>`: the `client_id`, the request object's `iss`, and the KB-JWT `aud`.
    package var clientID: String { Self.clientIDPrefix + verifierDID }

    package init(externalURL: String, verifierDID: String, keyID: String, signingKey: P256.Signing.PrivateKey,
                verificationTTL: TimeInterval = 900, proofTimeWindow: TimeInterval = 120,
                deeplinkScheme: String = "swiyu-verify", clientName: String = "KyCH Verifier", webhookEnabled: Bool) {
        self.externalURL = externalURL
        self.verifierDID = verifierDID
        self.keyID = keyID
        self.signingKey = signingKey
        self.verificationTTL = verificationTTL
        self.proofTimeWindow = proofTimeWindow
        self.deeplinkScheme = deeplinkScheme
        self.clientName = clientName
        self.webhookEnabled = webhookEnabled
    }

    /// Settings from `config` with its signing key. `VERIFIER_DID` defaults to the key's `did:jwk`;
    /// a configured `did:jwk` must be that of the key.
    package init(config: VerifierConfig, signingKey: P256.Signing.PrivateKey) throws(VerifierSettingsError) {
        let ownDID = DIDJWK.did(for: signingKey.publicKey)
        let did = config.verifierDID ?? ownDID
        if did.hasPrefix("did:jwk:") && did != ownDID {
            throw VerifierSettingsError("VERIFIER_DID is a did:jwk of another key than SIGNING_KEY_FILE holds")
        }
        self.init(
            externalURL: config.externalURL, verifierDID: did, keyID: config.verificationMethod ?? did + "#0",
            signingKey: signingKey, verificationTTL: TimeInterval(config.verificationTTLSeconds),
            proofTimeWindow: TimeInterval(config.proofTimeWindowSeconds), deeplinkScheme: config.deeplinkScheme,
            clientName: config.clientName, webhookEnabled: config.webhookCallbackURI != nil)
    }

    /// `{external_url}/oid4vp/api/request-object/{id}`.
    package func requestObjectURL(id: String) -> String {
        externalURL + "/oid4vp/api/request-object/" + id
    }

    /// `{scheme}://?client_id=…&request_uri=…`, both strictly percent-encoded.
    package func deeplink(id: String) -> String {
        "\(deeplinkScheme)://?client_id=\(Self.strictlyEncoded(clientID))&request_uri=\(Self.strictlyEncoded(requestObjectURL(id: id)))"
    }

    static func strictlyEncoded(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .urlUnreserved) ?? ""
    }
}

/// Settings that contradict each other.
package struct VerifierSettingsError: Error, Sendable, CustomStringConvertible {
    package let description: String
    package init(_ description: String) { self.description = description }
}
