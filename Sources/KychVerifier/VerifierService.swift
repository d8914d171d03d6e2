import Crypto
import Foundation
import KychCore
import KychSDJWT
import KychVerifierModel
import Logging

/// The built-in verifier without HTTP: the swiyu Generic Verifier 4.x management API and wallet
/// endpoints (`swiyu-verifier-api.md` §2, §4), each method taking request values and returning the
/// JSON to answer, or throwing a ``VerifierAPIError`` that says how to answer.
package struct VerifierService: Sendable {
    package let settings: VerifierSettings
    package let store: any VerificationStore
    package let logger: Logger
    /// Wakes this process's webhook delivery once an event is committed (other processes learn of it from the store).
    package let outbox: OutboxSignal

    package init(settings: VerifierSettings, store: any VerificationStore, logger: Logger, outbox: OutboxSignal = OutboxSignal()) {
        self.settings = settings
        self.store = store
        self.logger = logger
        self.outbox = outbox
    }

    // MARK: management API

    /// `POST /management/api/verifications`: validates the body and creates a pending verification.
    package func createVerification(body: Data, now: Date = Date()) async throws -> JSONValue {
        let json: JSONValue
        do {
            json = try JSONText.parse(body)
        } catch {
            throw VerifierAPIError.badRequest("the body is not valid JSON")
        }
        let verification = Verification.new(try VerificationRequest(json: json), now: now, ttl: settings.verificationTTL)
        try await store.create(verification)
        logger.info("verification created", metadata: [
            "verification_id": "\(verification.id)", "response_mode": "\(verification.request.responseMode.rawValue)",
        ])
        return managementJSON(verification)
    }

    /// `GET /management/api/verifications/{id}`: 404 for unknown and expired verifications (which
    /// this call deletes).
    package func verificationResult(id: String, now: Date = Date()) async throws -> JSONValue {
        guard let verification = try await store.verification(id: id) else { throw VerifierAPIError.verificationNotFound(id) }
        if verification.isExpired(at: now) {
            _ = try await store.deleteIfExpired(id: id, now: now)
            throw VerifierAPIError.verificationNotFound(id)
        }
        return managementJSON(verification)
    }

    /// The management API's view of a verification; `wallet_response` only once it is final.
    func managementJSON(_ verification: Verification) -> JSONValue {
        var object: [String: JSONValue] = [
            "id": .string(verification.id),
            "request_nonce": .string(verification.requestNonce),
            "state": .string(verification.status.managementState),
            "verification_url": .string(settings.requestObjectURL(id: verification.id)),
            "verification_deeplink": .string(settings.deeplink(id: verification.id)),
        ]
        if verification.status.isFinal, let outcome = verification.outcome { object["wallet_response"] = outcome.json }
        return .object(object)
    }

    // MARK: wallet endpoints

    /// `GET /oid4vp/api/openid-client-metadata.json`.
    package var clientMetadata: JSONValue {
        .object([
            "client_id": .string(settings.clientID),
            "client_name": .string(settings.clientName),
            "vp_formats_supported": RequestObject.vpFormatsSupported,
            "encrypted_response_enc_values_supported": ["A256GCM"],
        ])
    }

    /// `GET /oid4vp/api/request-object/{id}`: the request object, signed anew on every call.
    package func requestObject(id: String, now: Date = Date()) async throws -> String {
        guard let verification = try await store.verification(id: id), !verification.isExpired(at: now) else {
            throw VerifierAPIError.requestObjectNotFound(id)
        }
        guard verification.awaitsAnswer(at: now) else { throw VerifierAPIError.closed }
        return try RequestObject.sign(for: verification, settings: settings, now: now)
    }

    /// `POST /oid4vp/api/request-object/{id}/response-data`: a wallet's presentation or refusal.
    /// Returns the 200 body (`{}`); a failed presentation is recorded as FAILED and thrown as a 400.
    package func receiveWalletResponse(id: String, body: String, apiVersion: String?, now: Date = Date()) async throws -> JSONValue {
        if let apiVersion, apiVersion.trimmingCharacters(in: .whitespaces) != "2" {
            throw VerifierAPIError.badRequest("SWIYU-API-Version \(apiVersion) is not supported; use 2")
        }
        guard let verification = try await store.verification(id: id) else {
            throw VerifierAPIError.invalidRequest("Management entity not found: \(id)")
        }
        guard verification.awaitsAnswer(at: now) else {
            if settings.webhookEnabled {
                try await store.enqueueEvent(verificationID: id)
                outbox.signal()
            }
            logger.notice("late wallet response", metadata: ["verification_id": "\(id)"])
            throw VerifierAPIError.closed
        }
        guard let form = FormURLEncoding.decode(body) else { throw VerifierAPIError.badRequest("the form body is malformed") }
        let answer = try WalletAnswer(form: form, verification: verification)
        guard let claim = try await store.claim(verification, leaseUntil: now.addingTimeInterval(settings.claimLease)) else {
            throw VerifierAPIError.closed
        }
        if verification.status == .inProgress {
            logger.notice("wallet response after a lapsed claim", metadata: ["verification_id": "\(id)"])
        }

        let (status, outcome, failure) = await evaluate(answer, for: verification, now: now)
        let finished = try await store.finish(id: id, claim: claim, status: status, outcome: outcome,
                                              eventLease: settings.webhookEnabled ? WebhookEvent.deliveryLease : nil)
        guard finished.recorded else { throw VerifierAPIError.closed }
        if let event = finished.event { outbox.hand(event) }
        var metadata: Logger.Metadata = ["verification_id": "\(id)", "state": "\(status.managementState)"]
        if let code = outcome.errorCode { metadata["error_code"] = "\(code)" }
        logger.info("wallet response processed", metadata: metadata)
        if let failure { throw VerifierAPIError.presentationRejected(failure) }
        return [:]
    }

    /// The result of a wallet answer, and the failure to report to the wallet if there is one.
    private func evaluate(_ answer: WalletAnswer, for verification: Verification,
                          now: Date) async -> (VerificationStatus, VerificationOutcome, VerificationFailure?) {
        switch answer {
        case .refusal(let error, let description):
            return (.failed, VerificationOutcome(errorCode: error, errorDescription: description), nil)
        case .presentation(let vpToken):
            do throws(VerificationFailure) {
                let (data, issuers) = try await verify(vpToken, for: verification, now: now)
                return (.success, VerificationOutcome(credentialSubjectData: data, credentialIssuerDIDs: issuers), nil)
            } catch {
                return (.failed, VerificationOutcome(errorCode: error.errorCode.rawValue, errorDescription: error.errorDescription), error)
            }
        }
    }

    /// The submission structure checks, then `SDJWTVerifier` for each requested credential
    /// (`swiyu-verifier-api.md` §5). Returns `credential_subject_data`, `{credential id: [claims]}`, and
    /// `credential_issuer_dids`, `{credential id: [the DID whose key verified it]}`.
    func verify(_ vpToken: [String: JSONValue], for verification: Verification,
                now: Date) async throws(VerificationFailure) -> (data: JSONValue, issuers: JSONValue) {
        guard let answered = verification.request.query.answered(by: Set(vpToken.keys)) else {
            throw VerificationFailure(.invalidPresentationSubmission,
                                      "vp_token must present every requested credential, or one option of each required credential set")
        }
        var presentations: [(DCQLQuery.CredentialQuery, String)] = []
        for query in answered {
            guard let list = vpToken[query.id]?.arrayValue, list.count == 1, let token = list[0].stringValue else {
                throw VerificationFailure(.invalidPresentationSubmission,
                                          "vp_token needs exactly one presentation for the credential id \(query.id)")
            }
            presentations.append((query, token))
        }
        // Issuer keys: did:jwk, or did:web of an accepted issuer; status lists of accepted issuers.
        let presentationVerifier = SDJWTVerifier(
            resolver: VerifierDIDResolver(fetchableDIDs: Set(verification.request.acceptedIssuerDIDs)),
            statusListChecker: RemoteStatusListChecker(resolver: VerifierDIDResolver()),
            proofTimeWindow: settings.proofTimeWindow)
        var data: [String: JSONValue] = [:]
        var issuers: [String: JSONValue] = [:]
        for (query, token) in presentations {
            let requirements = PresentationRequirements(
                vctValues: query.vctValues, acceptedIssuerDIDs: verification.request.acceptedIssuerDIDs,
                audience: settings.clientID, nonce: verification.requestNonce,
                requireHolderBinding: query.requireCryptographicHolderBinding, claims: query.claims ?? [], format: query.format)
            let verified = try await presentationVerifier.verify(token, requirements: requirements, now: now)
            data[query.id] = [.object(verified.claims)]
            issuers[query.id] = [.string(verified.issuerDID)]
        }
        return (.object(data), .object(issuers))
    }
}
