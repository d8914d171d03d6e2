import Foundation
import KychCore
import KychOAuth
import KychOutboundHTTP
import Logging
import NIOHTTP1

/// Talks to a swiyu Generic Verifier's management API (create a verification, read its result), under the
/// one outbound HTTP policy (no redirects, short timeouts, capped replies), or in process to the verifier the
/// gateway embeds, for the clients whose management API it is.
package struct SwiyuVerifierClient: VerifierPort {
    let builder: VerificationRequestBuilder
    let logger: Logger
    let inProcess: InProcessVerifier?
    /// A verification's result holds at most the granted claims (a portrait among them).
    static let maxReplyBytes = 4 * 1024 * 1024

    package init(builder: VerificationRequestBuilder, logger: Logger, inProcess: InProcessVerifier? = nil) {
        self.builder = builder
        self.logger = logger
        self.inProcess = inProcess
    }

    /// `POST {VERIFIER_URL}{VERIFIER_MANAGEMENT_API_PATH}` for the granted claims.
    package func createVerification(for client: Client, claims: [String]) async throws(VerifierError) -> VerifierVerification {
        let body = builder.body(claims: claims, acceptedIssuerDIDs: client.acceptedIssuerDIDs, query: client.verifierQuery)
        let (status, json) = if let inProcess = inProcessVerifier(for: client) {
            try await call(client) { try await inProcess.create(Data(body.serialized().utf8)) }
        } else {
            try await send(.POST, url: client.verificationsEndpoint, body: body, client: client)
        }
        guard status == 200, let json else {
            throw .httpStatus(status, json?["error_description"]?.stringValue ?? json?["detail"]?.stringValue ?? "")
        }
        let verification = try VerifierResponse.verification(from: json)
        logger.info("verification created", metadata: ["client_id": "\(client.clientID)", "verification_id": "\(verification.id)"])
        return verification
    }

    /// `GET .../verifications/{id}`; 404 is ``VerifierOutcome/notFound``.
    package func outcome(of verificationID: String, for client: Client, granted: [String]) async throws(VerifierError) -> VerifierOutcome {
        let (status, json) = if let inProcess = inProcessVerifier(for: client) {
            try await call(client) { try await inProcess.result(verificationID) }
        } else {
            try await send(.GET, url: client.verificationsEndpoint + "/" + verificationID.urlEscaped, body: nil, client: client)
        }
        if status == 404 { return .notFound }
        guard status == 200, let json else { throw .httpStatus(status, "") }
        if let returned = json["id"]?.stringValue, returned != verificationID {
            throw .malformedResponse("the result is for another verification")
        }
        return VerifierResponse.outcome(from: json, granted: granted, expectedVCTs: builder.expectedVCTs(acceptedIssuerDIDs: client.acceptedIssuerDIDs))
    }

    /// The embedded verifier when `client`'s management API is its (``InProcessVerifier/verificationsEndpoint``).
    private func inProcessVerifier(for client: Client) -> InProcessVerifier? {
        inProcess.flatMap { $0.verificationsEndpoint == client.verificationsEndpoint ? $0 : nil }
    }

    /// A call to the embedded verifier; what stops it (its database unavailable) is what stops an unreachable verifier.
    private func call(_ client: Client, _ body: () async throws -> (Int, JSON)) async throws(VerifierError) -> (Int, JSON?) {
        do {
            let (status, json) = try await body()
            return (status, json)
        } catch {
            logger.warning("embedded verifier failed", metadata: ["client_id": "\(client.clientID)", "error": "\(String(reflecting: type(of: error)))"])
            throw .unreachable("the embedded verifier failed")
        }
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

/// The verifier this gateway embeds, called without HTTP: each call answers with the status and JSON body its management
/// route would send, so the client reads both alike. The management API's bearer token is not needed in process.
package struct InProcessVerifier: Sendable {
    /// `EXTERNAL_URL` and the management path: a client whose `VERIFIER_URL` and `VERIFIER_MANAGEMENT_API_PATH` make
    /// this URL is served in process.
    package var verificationsEndpoint: String
    /// `POST …/verifications` with this body.
    package var create: @Sendable (Data) async throws -> (Int, JSON)
    /// `GET …/verifications/{id}`.
    package var result: @Sendable (String) async throws -> (Int, JSON)

    package init(verificationsEndpoint: String, create: @escaping @Sendable (Data) async throws -> (Int, JSON),
                 result: @escaping @Sendable (String) async throws -> (Int, JSON)) {
        self.verificationsEndpoint = verificationsEndpoint
        self.create = create
        self.result = result
    }
}
