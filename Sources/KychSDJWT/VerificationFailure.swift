/// A failed presentation check: an `error_code` of the swiyu Generic Verifier and a description
/// that is safe to show (it never contains claim values or keys).
package struct VerificationFailure: Error, Sendable, Equatable, CustomStringConvertible {
    /// The swiyu verifier's `error_code` values (`VerificationErrorResponseCode`); raw values are
    /// the lower-case wire form.
    package enum Code: String, Sendable, CaseIterable, Codable {
        case credentialInvalid = "credential_invalid"
        case jwtExpired = "jwt_expired"
        case jwtPremature = "jwt_premature"
        case invalidFormat = "invalid_format"
        case credentialExpired = "credential_expired"
        case missingNonce = "missing_nonce"
        case unsupportedFormat = "unsupported_format"
        case credentialRevoked = "credential_revoked"
        case credentialSuspended = "credential_suspended"
        case holderBindingMismatch = "holder_binding_mismatch"
        case credentialMissingData = "credential_missing_data"
        case unresolvableStatusList = "unresolvable_status_list"
        case publicKeyOfIssuerUnresolvable = "public_key_of_issuer_unresolvable"
        case clientRejected = "client_rejected"
        case issuerNotAccepted = "issuer_not_accepted"
        case authorizationRequestObjectNotFound = "authorization_request_object_not_found"
        case authorizationRequestMissingErrorParam = "authorization_request_missing_error_param"
        case invalidPresentationDefinition = "invalid_presentation_definition"
        case malformedCredential = "malformed_credential"
        case invalidPresentationSubmission = "invalid_presentation_submission"
        case presentationSubmissionConstraintViolated = "presentation_submission_constraint_violated"
        case invalidScope = "invalid_scope"
        case invalidRequest = "invalid_request"
        case invalidClient = "invalid_client"
        case vpFormatsNotSupported = "vp_formats_not_supported"
        case invalidPresentationDefinitionURI = "invalid_presentation_definition_uri"
        case invalidPresentationDefinitionReference = "invalid_presentation_definition_reference"
        case accessDenied = "access_denied"
        case invalidTokenStatusList = "invalid_token_status_list"
    }

    package let errorCode: Code
    package let errorDescription: String

    package init(_ errorCode: Code, _ errorDescription: String) {
        self.errorCode = errorCode
        self.errorDescription = errorDescription
    }

    package var description: String { "\(errorCode.rawValue): \(errorDescription)" }
}
