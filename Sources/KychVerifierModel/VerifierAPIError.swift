import KychSDJWT

/// An answer other than success from one of the verifier's endpoints: an HTTP status and the
/// JSON body the swiyu Generic Verifier sends in that situation (`swiyu-verifier-api.md` §2.6, §4).
package struct VerifierAPIError: Error, Sendable, Equatable, CustomStringConvertible {
    package var status: Int
    package var body: [String: JSONValue]

    package init(status: Int, body: [String: JSONValue]) {
        self.status = status
        self.body = body
    }

    package var description: String {
        "HTTP \(status): " + (body["error_description"]?.stringValue ?? body["detail"]?.stringValue ?? "")
    }

    /// 400 with an `error_description` (validation failures, malformed wallet posts).
    package static func badRequest(_ description: String) -> VerifierAPIError {
        VerifierAPIError(status: 400, body: ["error_description": .string(description)])
    }

    /// 400 `invalid_request` for a wallet post, with an `error_description`.
    package static func invalidRequest(_ description: String) -> VerifierAPIError {
        VerifierAPIError(status: 400, body: ["error": "invalid_request", "error_description": .string(description)])
    }

    /// 404 of the management API: unknown or expired.
    package static func verificationNotFound(_ id: String) -> VerifierAPIError {
        VerifierAPIError(status: 404, body: ["detail": .string("The verification with the identifier '\(id)' was not found")])
    }

    /// 404 of the request-object endpoint: unknown or expired.
    package static func requestObjectNotFound(_ id: String) -> VerifierAPIError {
        VerifierAPIError(status: 404, body: [
            "error": "invalid_request",
            "error_code": .string(VerificationFailure.Code.authorizationRequestObjectNotFound.rawValue),
            "error_description": .string("The verification with the identifier '\(id)' was not found"),
        ])
    }

    /// 410: the verification is no longer waiting for a wallet answer.
    package static let closed = VerifierAPIError(
        status: 410, body: ["error_description": "Verification Process has already been closed."])

    /// 400 telling the wallet that its presentation failed (the verification is now FAILED).
    package static func presentationRejected(_ failure: VerificationFailure) -> VerifierAPIError {
        var body: [String: JSONValue] = [
            "error": "invalid_transaction_data",
            "error_code": .string(failure.errorCode.rawValue),
            "error_description": .string(failure.errorDescription),
        ]
        if failure.errorCode != .credentialInvalid { body["detail"] = .string(failure.errorCode.rawValue) }
        return VerifierAPIError(status: 400, body: body)
    }

    /// 401 for a management call without the configured bearer token.
    package static let unauthorized = VerifierAPIError(
        status: 401, body: ["error": "unauthorized", "error_description": "a valid bearer token is required"])
}
