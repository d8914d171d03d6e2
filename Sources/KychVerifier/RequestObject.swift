import Foundation
import KychSDJWT
import KychVerifierModel

/// The signed OpenID4VP authorization request (JAR, RFC 9101) of a verification, as the swiyu
/// Generic Verifier 4.x builds it (`swiyu-verifier-api.md` §4.3).
package enum RequestObject {
    /// The JOSE `typ` and the media type of a request object.
    package static let type = OpenID4VP.requestObjectType
    /// The `aud` of request objects (static discovery, OpenID4VP §5.8).
    package static let audience = "https://self-issued.me/v2"
    static let profileVersion = "swiss-profile-verification:1.0.0"
    static let vpFormatsSupported: JSONValue = [
        "dc+sd-jwt": ["sd-jwt_alg_values": ["ES256"], "kb-jwt_alg_values": ["ES256"]],
    ]

    /// The compact JWS for `verification`, issued at `now`.
    static func sign(for verification: Verification, settings: VerifierSettings, now: Date) throws -> String {
        let iat = Int64(now.timeIntervalSince1970.rounded(.down))
        var metadata: [String: JSONValue] = [
            "client_id": .string(settings.clientID),
            "client_name": .string(settings.clientName),
            "vp_formats_supported": vpFormatsSupported,
            "encrypted_response_enc_values_supported": ["A256GCM"],
        ]
        var claims: [String: JSONValue] = [
            "iss": .string(settings.clientID),
            "iat": .integer(iat),
            "exp": .integer(iat + Int64(settings.requestObjectTTL)),
            "client_id": .string(settings.clientID),
            "aud": .string(audience),
            "response_type": "vp_token",
            "response_mode": .string(verification.request.responseMode.rawValue),
            "response_uri": .string(settings.requestObjectURL(id: verification.id) + "/response-data"),
            "nonce": .string(verification.requestNonce),
            "state": .string(verification.state),
            "dcql_query": verification.request.query.json,
        ]
        if let key = verification.encryptionKey {
            metadata["jwks"] = ["keys": [key.jwk]]
            claims["encrypted_response_enc_values_supported"] = ["A256GCM"]
        }
        claims["client_metadata"] = .object(metadata)
        return try CompactJWS.sign(
            claims: claims,
            header: ["typ": .string(type), "kid": .string(settings.keyID), "profile_version": .string(profileVersion)],
            using: settings.signingKey)
    }
}
