import Foundation
import KychCore

/// A request at a resource endpoint (`/info`, `/userinfo`): its `Authorization` header and its DPoP proof.
package struct ResourceRequest: Sendable {
    package var authorization: String?
    package var dpop: DPoPPresentation?

    package init(authorization: String?, dpop: DPoPPresentation? = nil) {
        self.authorization = authorization
        self.dpop = dpop
    }
}

/// Finds the live access token a resource request presents. An unbound token comes as `Bearer`; a DPoP-bound one only
/// as `DPoP`, with a fresh proof by its key that carries the token's hash (RFC 9449 §7); a bound token sent as
/// `Bearer`, or with another key's proof, is refused with a `DPoP` challenge.
package struct ResourceAccess: Sendable {
    let store: any FlowStore
    let clients: any ClientRepository
    let dpop: DPoPProofChecker
    let now: @Sendable () -> Date

    package func liveToken(_ request: ResourceRequest) async throws -> StoredAccessToken {
        let dpopToken = HTTPAuthorization.dpop(request.authorization)
        guard let value = dpopToken ?? HTTPAuthorization.bearer(request.authorization) else {
            throw FlowError.missingToken(dpopAlgorithms: dpop.isAvailable ? ClientSignedJWT.algorithms : nil)
        }
        guard let token = try await store.accessToken(hash: Secrets.sha256(value)), token.revokedAt == nil, token.expiresAt > now() else {
            let reason = "the access token is unknown, expired or revoked"
            throw dpopToken == nil ? FlowError.invalidToken(reason) : DPoPRefusal(error: "invalid_token", reason: reason).atResource
        }
        guard let jkt = token.dpopJKT else {
            guard dpopToken == nil else {
                throw DPoPRefusal(error: "invalid_token", reason: "the access token is not DPoP-bound; send it as Bearer").atResource
            }
            return token
        }
        guard dpopToken != nil else {
            throw DPoPRefusal(error: "invalid_token", reason: "the access token is DPoP-bound; send it as DPoP with a DPoP proof").atResource
        }
        let requireNonce = try await clients.client(id: token.clientID)?.security.requireDPoPNonce ?? false
        let proof: DPoPProof?
        do {
            proof = try await dpop.check(request.dpop, accessToken: value, requireNonce: requireNonce)
        } catch let refusal as DPoPRefusal {
            throw refusal.atResource
        }
        guard let proof else { throw DPoPRefusal.invalid("the DPoP proof is missing (DPoP header)").atResource }
        guard proof.jkt == jkt else {
            throw DPoPRefusal(error: "invalid_token", reason: "the DPoP proof is not signed by the key the access token is bound to").atResource
        }
        return token
    }
}
