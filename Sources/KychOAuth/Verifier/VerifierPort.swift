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

/// The verified credential, reduced to what KyCH keeps: the granted claims, issuer and type.
package struct VerifiedCredential: Sendable, Equatable {
    package var claims: [String: JSON]
    package var vct: String?
    package var issuer: String?

    package init(claims: [String: JSON], vct: String?, issuer: String?) {
        self.claims = claims
        self.vct = vct
        self.issuer = issuer
    }
}
