import Foundation
import KychCore
import KychOAuth
import KychOutboundHTTP
import Logging
import NIOHTTP1

/// Talks to a swiyu Generic Verifier's management API (create a verification, read its result), under the
/// one outbound HTTP policy (no redirects, short timeouts, capped replies).
package struct SwiyuVerifierClient: VerifierPort {
    let builder: VerificationRequestBuilder
    let logger: Logger
    /// A verification's result holds at most the granted claims (a portrait among them).
    static let maxReplyBytes = 4 * 1024 * 1024

    package init(builder: VerificationRequestBuilder, logger: Logger) {
        self.builder = builder
        self.logger = logger
    }

    /// `POST {VERIFIER_URL}{VERIFIER_MANAGEMENT_API_PATH}` for the granted claims.
    package func createVerification(for client: Client, claims: [String]) async throws(VerifierError) -> VerifierVerification {
        let body = builder.body(claims: claims, acceptedIssuerDIDs: client.acceptedIssuerDIDs, query: client.verifierQuery)
        let (status, json) = try await send(.POST, url: client.verificationsEndpoint, body: body, client: client)
        guard status == 200, let json else {
            throw .httpStatus(status, json?["error_description"]?.stringValue ?? json?["detail"]?.stringValue ?? "")
        }
        let verification = try VerifierResponse.verification(from: json)
        logger.info("verification created", metadata: ["client_id": "\(client.clientID)", "verification_id": "\(verification.id)"])
        return verification
    }

    /// `GET .../verifications/{id}`; 404 is ``VerifierOutcome/notFound``.
    package func outcome(of verificationID: String, for client: Client, granted: [String]) async throws(VerifierError) -> VerifierOutcome {
        let id = verificationID.urlEscaped
        let (status, json) = try await send(.GET, url: client.verificationsEndpoint + "/" + id, body: nil, client: client)
        if status == 404 { return .notFound }
        guard status == 200, let json else { throw .httpStatus(status, "") }
        if let returned = json["id"]?.stringValue, returned != verificationID {
            throw .malformedResponse("the result is for another verification")
        }
        return VerifierResponse.outcome(from: json, granted: granted, expectedVCTs: builder.vctValues)
    }

    private func send(_ method: HTTPMethod, url: String, body: JSON?, client: Client) async throws(VerifierError) -> (Int, JSON?) {
        var headers = [("Accept", "application/json")]
        if let token = client.verifierBearerToken { headers.append(("Authorization", "Bearer \(token)")) }
        if body != nil { headers.append(("Content-Type", "application/json")) }
        do {
            let reply = try await VerifierCallMetrics.measure(method, status: \.status) {
                try await OutboundHTTP.send(url: url, method: method, headers: headers, body: body.map { Data($0.serialized().utf8) },
                                            maxBytes: Self.maxReplyBytes)
            }
            return (reply.status, try? JSON.parse(reply.body))
        } catch {
            logger.warning("verifier request failed", metadata: ["url": "\(url)", "error": "\(error)"])
            throw .unreachable("\(error)")
        }
    }
}
