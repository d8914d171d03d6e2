import Foundation
import KychCore
import KychSDJWT
import Logging

/// KyCH as an OpenID4VCI 1.0 credential issuer of one credential: the KyCH attestation, an SD-JWT VC of the claims a
/// person disclosed from their Beta-ID in a KyCH flow, bound to a key of their wallet, so that later flows may accept
/// it instead of the Beta-ID. KyCH is its own authorization server: the wallet (a public client) asks for the scope
/// ``configurationID`` in an authorization code flow, and the access token it gets is redeemed once at `/credential`.
/// The attestation is signed with the gateway's ES256 signing key and its `iss` is `BASE_URL`, whose keys
/// `/.well-known/jwt-vc-issuer` publishes (SD-JWT VC §5).
package struct CredentialIssuer: Sendable {
    /// The one credential configuration, also the scope that grants it.
    package static let configurationID = "kych_attestation"
    /// `typ` of a key proof (OpenID4VCI 1.0 Appendix F.1).
    static let proofType = "openid4vci-proof+jwt"
    /// A key proof's `iat` may be this much in the future (clock skew) or this old plus the nonce's lifetime.
    static let proofClockSkew: TimeInterval = 60

    /// `BASE_URL`: the credential issuer identifier, the authorization server and the attestation's `iss`.
    package let issuer: String
    let keys: SigningKeys
    let nonces: PresentationNonces
    let retention: ClaimsRetention
    let store: any FlowStore
    /// The claims an attestation may carry: the gateway's grantable claims.
    let claims: [String]
    /// `ATTESTATION_TTL_DAYS`.
    let lifetimeDays: Int
    let logger: Logger
    let now: @Sendable () -> Date

    /// The attestation's `vct` (SD-JWT VC §3.2.2.2), a URL under the issuer.
    package var vct: String { Self.vct(ofIssuer: issuer) }

    /// The attestation `vct` of the KyCH instance whose `BASE_URL` is `issuer`.
    package static func vct(ofIssuer issuer: String) -> String { issuer + EndpointPath.attestationType }

    // MARK: metadata

    /// `/.well-known/openid-credential-issuer` (OpenID4VCI 1.0 §12.2).
    package func metadata() -> JSON {
        let configuration: [String: JSON] = [
            "format": "dc+sd-jwt",
            "scope": .string(Self.configurationID),
            "vct": .string(vct),
            "cryptographic_binding_methods_supported": ["jwk"],
            "credential_signing_alg_values_supported": ["ES256"],
            "proof_types_supported": ["jwt": ["proof_signing_alg_values_supported": ["ES256"]]],
            "credential_metadata": [
                "display": AttestationClaimNames.display(AttestationClaimNames.credential, as: "name"),
                "claims": .array(claims.map(AttestationClaimNames.entry)),
            ],
        ]
        return [
            "credential_issuer": .string(issuer),
            "authorization_servers": [.string(issuer)],
            "credential_endpoint": .string(issuer + EndpointPath.credential),
            "nonce_endpoint": .string(issuer + EndpointPath.nonce),
            "display": [["name": "KyCH", "locale": "en"]],
            "credential_configurations_supported": [Self.configurationID: .object(configuration)],
        ]
    }

    /// `GET` of the ``vct`` URL: the SD-JWT VC type metadata (draft-ietf-oauth-sd-jwt-vc "SD-JWT VC Type Metadata"), what a
    /// wallet or verifier shows for the attestation and each claim, in en, de, fr and it; every claim `sd: always`.
    package func typeMetadata() -> JSON {
        let names = AttestationClaimNames.self
        return [
            "vct": .string(vct), "name": .string(names.credential[0]), "description": .string(names.credentialDescription[0]),
            "display": .array(zip(names.locales.indices, names.locales).map { index, locale in
                ["locale": .string(locale), "name": .string(names.credential[index]),
                 "description": .string(names.credentialDescription[index])]
            }),
            "claims": .array(claims.map(names.typeMetadataEntry)),
        ]
    }

    /// `/.well-known/jwt-vc-issuer` (SD-JWT VC §5): the keys an attestation's signature is checked with.
    package func jwtVCIssuerMetadata() async throws -> JSON {
        ["issuer": .string(issuer), "jwks": .object(try await keys.jwks())]
    }

    // MARK: status list

    /// Where the attestations' status list is served: the `status.status_list.uri` of each.
    package var statusListURI: String { issuer + EndpointPath.attestationStatusList }
    /// How long a fetched status list may be cached (its `ttl`): a revocation shows this long after at the latest.
    static let statusListTTL = 300

    /// The attestations' token status list (draft-ietf-oauth-status-list): one bit per index, 1 = revoked, as a JWT
    /// (`typ: statuslist+jwt`) signed by the key that signs attestations.
    package func statusListToken() async throws -> String {
        let statuses = try await store.attestationStatuses()
        let values = (0...statuses.highestIndex).map { statuses.revoked.contains($0) ? 1 : 0 }
        let list = try StatusList(bits: 1, values: values)
        let now = now()
        let claims: [String: JSON] = [
            "iss": .string(issuer), "sub": .string(statusListURI), "iat": .integer(Int64(now.timeIntervalSince1970)),
            "exp": .integer(Int64(now.timeIntervalSince1970) + 86_400), "ttl": .integer(Int64(Self.statusListTTL)),
            "status_list": ["bits": 1, "lst": .string(list.compressedList)],
        ]
        return try await keys.sign(payload: Data(JSON.object(claims).serialized().utf8), algorithm: .es256, type: "statuslist+jwt")
    }

    // MARK: issuance

    /// `POST /credential` for the live `token`: checks the request and its key proof, spends the proof's nonce and answers
    /// `{"credentials": [{"credential": "<sd-jwt>~<disclosures>~"}]}` (OpenID4VCI 1.0 §8.3).
    package func issue(_ body: JSON, token: StoredAccessToken) async throws -> JSON {
        guard let request = body.objectValue else { throw Self.invalidRequest("the body must be a JSON object") }
        // §8.2: credential_identifier (from the token response's authorization_details) or credential_configuration_id.
        let identifier = request["credential_identifier"], configurationID = request["credential_configuration_id"]
        guard (identifier == nil) != (configurationID == nil), let configuration = (identifier ?? configurationID)?.stringValue else {
            throw Self.invalidRequest("send one of credential_identifier and credential_configuration_id, a string")
        }
        if identifier != nil, configuration != Self.configurationID {
            throw FlowError.oauth(status: 400, error: "unknown_credential_identifier",
                                  description: "the only credential identifier is \(Self.configurationID)")
        }
        guard configuration == Self.configurationID else {
            throw FlowError.oauth(status: 400, error: "unknown_credential_configuration",
                                  description: "the only credential configuration is \(Self.configurationID)")
        }
        guard token.scope.contains(Self.configurationID) else {
            throw FlowError.oauth(status: 403, error: "insufficient_scope",
                                  description: "the access token was not granted the credential configuration \(Self.configurationID)",
                                  wwwAuthenticate: "Bearer realm=\"kych\", error=\"insufficient_scope\", scope=\"\(Self.configurationID)\"")
        }
        guard request["proof"] == nil else { throw Self.invalidProof("send the key proof in proofs (OpenID4VCI 1.0), not proof") }
        guard let proofs = request["proofs"]?.objectValue, proofs.count == 1, let jwts = proofs["jwt"]?.arrayValue,
              jwts.count == 1, let proof = jwts[0].stringValue else {
            throw Self.invalidProof("proofs must hold one key proof of type jwt: {\"jwt\": [\"…\"]}")
        }
        let holderKey = try await checkProof(proof, clientID: token.clientID)
        guard let claims = try await retention.deliver(token, now: now()) else { throw ClaimsRetention.gone }
        let attestation = try await sign(claims.filter { !SDJWTIssuer.registeredClaims.contains($0.key) }, holderKey: holderKey,
                                         token: token)
        return ["credentials": [["credential": .string(attestation)]]]
    }

    /// OpenID4VCI 1.0 §6.2: the token response's `authorization_details` for a session granted the attestation, its one
    /// credential dataset identified like its configuration; nil for any other session.
    static func authorizationDetails(grantedIn session: VerificationSession) -> JSON? {
        guard session.scope?.contains(configurationID) == true else { return nil }
        return [["type": .string(AuthorizationDetails.type), "credential_configuration_id": .string(configurationID),
                 "credential_identifiers": [.string(configurationID)]]]
    }

    /// Checks a key proof (OpenID4VCI 1.0 Appendix F.1) and spends its nonce; returns the holder's public key.
    func checkProof(_ proof: String, clientID: String) async throws -> [String: JSON] {
        let header: [String: JSON]
        do { header = try ClientSignedJWT.header(of: proof) } catch { throw Self.invalidProof(Self.reason(error)) }
        guard header["typ"]?.stringValue == Self.proofType else { throw Self.invalidProof("the key proof's typ must be \(Self.proofType)") }
        guard header["kid"] == nil, header["x5c"] == nil, let jwk = header["jwk"]?.objectValue else {
            throw Self.invalidProof("the key proof must carry the holder's key in jwk (the one binding method supported)")
        }
        let verified: VerifiedJWT
        do {
            verified = try await ClientSignedJWT.verify(proof, key: jwk, algorithms: ["ES256"])
        } catch {
            throw Self.invalidProof(Self.reason(error))
        }
        let holderKey: [String: JSON]
        do { holderKey = try P256PublicJWK(jwk: jwk).jsonObject } catch { throw Self.invalidProof("the jwk is not a P-256 public key") }
        guard verified.audiences() == [issuer] else { throw Self.invalidProof("the key proof's aud must be the credential issuer \(issuer)") }
        if let iss = verified.claims["iss"], iss.stringValue != clientID {
            throw Self.invalidProof("the key proof's iss is not the client the access token was issued to")
        }
        let now = now()
        guard let iat = verified.integer("iat") else { throw Self.invalidProof("the key proof has no iat") }
        let issued = Date(timeIntervalSince1970: TimeInterval(iat))
        guard issued <= now.addingTimeInterval(Self.proofClockSkew),
              issued >= now.addingTimeInterval(-(PresentationNonces.lifetime + Self.proofClockSkew)) else {
            throw Self.invalidProof("the key proof's iat is too far from now")
        }
        guard let nonce = verified.string("nonce") else { throw Self.invalidNonce("the key proof has no nonce: get a c_nonce at the nonce endpoint") }
        guard let expiry = try await nonces.expiry(of: nonce, now: now) else {
            throw Self.invalidNonce("the key proof's nonce is unknown or expired: get a new c_nonce")
        }
        guard try await nonces.spend(nonce, until: expiry, now: now) else {
            throw Self.invalidNonce("the key proof's nonce was used before: get a new c_nonce")
        }
        return holderKey
    }

    /// The attestation: every claim selectively disclosable, bound to `holderKey`, with its entry in the status list
    /// (recorded first, logged with its id for `kych-client-management revoke-attestation`), signed by the current ES256 key.
    func sign(_ claims: [String: JSON], holderKey: [String: JSON], token: StoredAccessToken) async throws -> String {
        let now = now()
        let expiry = now.addingTimeInterval(TimeInterval(lifetimeDays) * 86_400)
        let id = UUID().uuidString.lowercased()
        let index = try await store.recordAttestation(NewAttestation(id: id, sessionID: token.sessionID, clientID: token.clientID,
                                                                     issuedAt: now, expiresAt: expiry))
        logger.info("attestation issued", metadata: ["client_id": "\(token.clientID)", "attestation_id": "\(id)",
                                                     "session_id": "\(token.sessionID)", "status_index": "\(index)"])
        let unsigned = try SDJWTIssuer.payload(claims: claims, selectivelyDisclosable: claims.keys.sorted().map { ClaimPath([.key($0)]) },
                                               vct: vct, issuer: issuer, holderJWK: holderKey,
                                               status: StatusReference(uri: statusListURI, index: Int(index)), iat: now, exp: expiry)
        let jwt = try await keys.sign(payload: Data(JSON.object(unsigned.payload).serialized().utf8), algorithm: .es256, type: "dc+sd-jwt")
        return SDJWT(issuerSignedJWT: jwt, disclosures: unsigned.disclosures).withoutKeyBinding
    }

    /// A refused JWT's reason, for `error_description`.
    static func reason(_ error: any Error) -> String { (error as? JWTRefusal)?.reason ?? "the key proof is malformed" }

    static func invalidRequest(_ description: String) -> FlowError {
        .oauth(status: 400, error: "invalid_credential_request", description: description)
    }

    static func invalidProof(_ description: String) -> FlowError { .oauth(status: 400, error: "invalid_proof", description: description) }

    static func invalidNonce(_ description: String) -> FlowError { .oauth(status: 400, error: "invalid_nonce", description: description) }
}

extension VerificationSession {
    /// The claims of the session's scope, without the credential configurations it was granted: what the verifier must
    /// have found in the presented credential.
    var grantedClaims: [String] { (scope ?? []).filter { $0 != CredentialIssuer.configurationID } }
}
