import AsyncHTTPClient
import Foundation
import KychCore
import KychOAuth
import Logging
import NIOCore
import NIOHTTP1
import NIOFoundationCompat

/// Talks to a swiyu Generic Verifier's management API (create a verification, read its result).
package struct SwiyuVerifierClient: VerifierPort {
    let http: HTTPClient
    let builder: VerificationRequestBuilder
    let logger: Logger
    let timeout: TimeAmount

    package init(http: HTTPClient = .shared, builder: VerificationRequestBuilder, logger: Logger, timeout: TimeAmount = .seconds(10)) {
        self.http = http
        self.builder = builder
        self.logger = logger
        self.timeout = timeout
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
        var request = HTTPClientRequest(url: url)
        request.method = method
        request.headers.add(name: "Accept", value: "application/json")
        if let token = client.verifierBearerToken { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: body.serialized()))
        }
        do {
            let response = try await http.execute(request, timeout: timeout, logger: logger)
            let bytes = try await response.body.collect(upTo: 4 * 1024 * 1024)
            let json = try? JSON.parse(Data(bytes.readableBytesView))
            return (Int(response.status.code), json)
        } catch {
            logger.warning("verifier request failed", metadata: ["url": "\(url)", "error": "\(String(describing: error))"])
            throw .unreachable("\(error)")
        }
    }
}
