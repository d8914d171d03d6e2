import Foundation
import KychCore

/// What the authorization server needs from a swiyu Verifier: create a verification for a client's
/// requested claims, and read its outcome. The swiyu management API client is one adapter; tests
/// script their own.
package protocol VerifierPort: Sendable {
    func createVerification(for client: Client, claims: [String]) async throws -> VerifierVerification
    /// The outcome of `verificationID`, keeping only the `granted` claims.
    func outcome(of verificationID: String, for client: Client, granted: [String]) async throws -> VerifierOutcome
}

/// A verification created at the swiyu verifier for a session.
package struct VerifierVerification: Sendable, Equatable, Codable {
    package var id: String
    package var requestNonce: String?
    package var verificationURL: String
    package var deeplink: String

    package init(id: String, requestNonce: String?, verificationURL: String, deeplink: String) {
        self.id = id
        self.requestNonce = requestNonce
        self.verificationURL = verificationURL
        self.deeplink = deeplink
    }
}

/// What a verifier says about a verification.
package enum VerifierOutcome: Sendable, Equatable {
    case pending
    case success(VerifiedCredential)
    case failed(code: String?, description: String?)
    /// 404: unknown or expired at the verifier.
    case notFound
}

extension VerifierOutcome {
    /// A success whose issuer is not one of the client's `accepted` issuer DIDs (or is unknown) turned into
    /// the failure `issuer_not_accepted`: a verifier checks signatures, but whose credentials a client
    /// takes is the client's setting, checked here whatever the verifier did.
    package func requiringIssuer(in accepted: [String]) -> VerifierOutcome {
        guard case .success(let credential) = self else { return self }
        guard let issuer = credential.issuer, accepted.contains(issuer) else {
            return .failed(code: "issuer_not_accepted", description: "the credential's issuer is not accepted for this client")
        }
        return self
    }
}

/// The verified credential, reduced to what KyCH keeps: the granted claims, issuer and type.
package struct VerifiedCredential: Sendable, Equatable {
    package var claims: [String: JSON]
    package var vct: String?
    /// The DID whose key signed the credential (not its unverified `iss` claim, where the verifier says which).
    package var issuer: String?

    package init(claims: [String: JSON], vct: String?, issuer: String?) {
        self.claims = claims
        self.vct = vct
        self.issuer = issuer
    }
}
