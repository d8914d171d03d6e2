import Foundation
import KychCore

/// How a failed request is answered. The HTTP layer maps each case to a response in one place.
package enum FlowError: Error, Sendable, Equatable {
    /// An OAuth-style JSON error: `{"error", "error_description"}`.
    case oauth(status: Int, error: String, description: String, wwwAuthenticate: String? = nil)
    /// Shown to the person in the browser, never redirected (the redirect URI is not trusted yet).
    /// `message` is the technical detail (English); the page's text comes from `kind`.
    case page(status: Int, kind: PageError, message: String)
    /// Sent back to the client's (validated) redirect URI.
    case redirect(String)
    /// Refused for now: JSON `temporarily_unavailable` with `Retry-After: seconds` (429 after too many failed
    /// client authentications, 503 while the secret-checking threads are full).
    case retryLater(status: Int, description: String, seconds: Int)

    package static func invalidRequest(_ d: String) -> FlowError { .oauth(status: 400, error: "invalid_request", description: d) }
    package static func invalidGrant(_ d: String) -> FlowError { .oauth(status: 400, error: "invalid_grant", description: d) }
    package static func invalidClient(_ d: String, challenge: String? = nil) -> FlowError {
        .oauth(status: 401, error: "invalid_client", description: d, wwwAuthenticate: challenge)
    }
    /// No access token at all: RFC 6750 §3.1 wants the challenge without an error code then (the body keeps one).
    package static let missingToken = FlowError.oauth(status: 401, error: "invalid_token", description: "missing access token",
                                                      wwwAuthenticate: "Bearer realm=\"kych\"")
    package static func invalidToken(_ d: String) -> FlowError {
        .oauth(status: 401, error: "invalid_token", description: d,
               wwwAuthenticate: "Bearer realm=\"kych\", error=\"invalid_token\", error_description=\"\(d)\"")
    }
}

/// The situations the verification pages explain to a person; each has its own localized text.
package enum PageError: String, CaseIterable, Sendable {
    case invalidRequest, unknownLink, unknownClient, invalidRedirect, expired, finished, verifierDown,
         internalError, unknownVerification, differentBrowser, notVerifiedYet

    /// The kind for a status when nothing more specific is known (errors raised outside the flow).
    package init(status: Int) {
        switch status {
        case 410: self = .expired
        case 502, 503, 504: self = .verifierDown
        case 500...: self = .internalError
        case 404: self = .unknownVerification
        default: self = .invalidRequest
        }
    }

    /// Whether sending the same request again may help (the page then offers "Try again").
    package var isTransient: Bool { self == .verifierDown || self == .internalError }
}

/// Builds redirect URIs with OAuth parameters, appending to an existing query with `&`.
package enum RedirectURI {
    package static func with(_ base: String, _ parameters: [(String, String?)]) -> String {
        let query = parameters.compactMap { name, value in
            value.map { "\(name)=\($0.urlEscaped)" }
        }.joined(separator: "&")
        guard !query.isEmpty else { return base }
        return base + (base.contains("?") ? "&" : "?") + query
    }
}
