import Foundation

extension AuthorizationServer {
    /// The embedded verifier's webhook event, handed over in process instead of by `POST /notification`: no API key
    /// to check (nothing crossed a network) and no throttle (its outbox gives one event per result). Returns `false`
    /// when no session of this gateway has that verification (the event goes to the verifier's callback as usual);
    /// throws when the result could not be applied now (the outbox retries it).
    package func verifierFinished(verificationID: String) async throws -> Bool {
        guard let session = try await store.session(verificationID: verificationID) else { return false }
        guard session.status == .authorized else { return true }
        guard let client = try await clients.client(id: session.clientID) else { return false }
        logger.info("verifier result received in process", metadata: ["verification_id": "\(verificationID)"])
        try await refresh(session, client: client)
        return true
    }
}
