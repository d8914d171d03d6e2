import Foundation
import KychCore
import KychOAuth
import KychSDJWT
import KychVerifier
import KychVerifierModel
import KychWallet
import Testing

/// One bad presentation per check of the built-in verifier (`swiyu-verifier-api.md` §5): the
/// verifier records the documented error code, and the gateway turns it into a failed flow that
/// ends at the client with `error=access_denied` and the code in `error_description` — or, for the
/// codes that mean a registry could not be reached, `server_error` (the gateway's classification).
@Suite struct VerifierFailureTests {
    enum Failure: String, CaseIterable, Sendable {
        case brokenSyntax, wrongType, badSignature, expiredCredential, unresolvableIssuer, untrustedIssuer
        case noKeyBinding, wrongAudience, staleProof, wrongNonce
        case revoked, suspended, unreachableStatusList
        case tamperedDisclosure, otherCredentialType, missingClaim, declined

        var expectedCode: VerificationFailure.Code {
            switch self {
            case .brokenSyntax, .badSignature, .expiredCredential, .tamperedDisclosure: .malformedCredential
            case .wrongType: .invalidFormat
            case .unresolvableIssuer: .publicKeyOfIssuerUnresolvable
            case .untrustedIssuer: .issuerNotAccepted
            case .noKeyBinding, .wrongAudience, .staleProof: .holderBindingMismatch
            case .wrongNonce: .missingNonce
            case .revoked: .credentialRevoked
            case .suspended: .credentialSuspended
            case .unreachableStatusList: .unresolvableStatusList
            case .otherCredentialType: .invalidPresentationSubmission
            case .missingClaim: .credentialMissingData
            case .declined: .accessDenied
            }
        }

        /// An accepted issuer whose DID document cannot be fetched (nothing listens on port 1).
        static let unreachableDID = "did:web:127.0.0.1%3A1"

        var faults: PresentationFaults {
            switch self {
            case .brokenSyntax: .brokenSyntax
            case .badSignature: .badSignature
            case .noKeyBinding: .noKeyBinding
            case .wrongAudience: .wrongAudience
            case .staleProof: .staleProof
            case .wrongNonce: .wrongNonce
            case .tamperedDisclosure: .tamperedDisclosure
            default: []
            }
        }

        /// The credential to present, issued into `wallet`; `statusServer` serves status lists.
        func issue(into wallet: Wallet, statusServer: LoopbackServer) throws {
            var issuance = Wallet.Issuance()
            let statusURI = statusServer.baseURL + "/status/1.jwt"
            switch self {
            case .wrongType: issuance.type = "jwt"
            case .expiredCredential: issuance.validity = -3600
            case .unresolvableIssuer: issuance.issuerDID = Failure.unreachableDID
            case .revoked: issuance.status = StatusReference(uri: statusURI, index: 1)
            case .suspended: issuance.status = StatusReference(uri: statusURI, index: 2)
            case .unreachableStatusList: issuance.status = StatusReference(uri: statusServer.baseURL + "/status/missing.jwt", index: 1)
            case .otherCredentialType: issuance.vct = "urn:vct:example:library-card"
            case .missingClaim: issuance.claims.removeValue(forKey: "birth_date")
            default: break
            }
            statusServer.serve("/status/1.jwt", try wallet.statusListToken(uri: statusURI, revoked: [1], suspended: [2]))
            try wallet.issue(issuance)
        }
    }

    @Test(arguments: Failure.allCases)
    func badPresentationFailsTheVerificationAndTheFlow(_ failure: Failure) async throws {
        let stack = try await VerifierStack.start { wallet in
            switch failure {
            case .untrustedIssuer: ["did:web:trusted.example"]
            case .unresolvableIssuer: [try wallet.issuerDID(), Failure.unreachableDID]
            default: [try wallet.issuerDID()]
            }
        }
        let statusServer = try await LoopbackServer()
        defer { statusServer.stop() }
        try failure.issue(into: stack.wallet, statusServer: statusServer)

        let started = try await stack.browser.start()
        let request = try await PresentationRequest.fetch(started.deeplink)
        let reply = failure == .declined
            ? try await Wallet.decline(request)
            : try await stack.wallet.present(request, credential: "betaid", faults: failure.faults)

        // The wallet hears why (a refusal is simply acknowledged) ...
        if failure == .declined {
            #expect(reply.status == 200)
        } else {
            #expect(reply.status == 400)
            #expect(reply.body.objectValue?["error"] == "invalid_transaction_data")
            #expect(reply.body.objectValue?["error_code"]?.stringValue == failure.expectedCode.rawValue, "\(reply.body)")
        }
        // ... the verifier records the code ...
        let result = try await stack.verification(started.verificationID)
        #expect(result.json["state"] == "FAILED")
        #expect(result.json["wallet_response"]?["error_code"]?.stringValue == failure.expectedCode.rawValue)
        #expect(result.json["wallet_response"]?["credential_subject_data"] == .null)
        // ... and its webhook makes the gateway fail the flow, which ends at the client with the code.
        #expect(try await stack.browser.status(started) == "failed")
        let redirect = try await stack.browser.finalize(started)
        #expect(redirect["code"] == nil && redirect["state"] == GatewayBrowser.state)
        if FailureKind(errorCode: failure.expectedCode.rawValue) == .server {
            #expect(redirect["error"] == "server_error" && redirect["error_description"]?.contains("technical fault") == true)
        } else {
            #expect(redirect["error"] == "access_denied", "\(redirect)")
            #expect(redirect["error_description"]?.contains(failure.expectedCode.rawValue) == true, "\(redirect)")
        }
        #expect(try await stack.db.strings("SELECT failure_code FROM oauth2gw.verification_sessions") == [failure.expectedCode.rawValue])
        await stack.stop()
    }
}
