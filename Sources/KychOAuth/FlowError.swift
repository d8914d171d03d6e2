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
    /// An overload answer (429 or 503) with `Retry-After: seconds`, JSON `temporarily_unavailable`; where `kind` is
    /// set (a browser's route), a page for a browser and JSON for a client that asks for it.
    case retryLater(status: Int, kind: PageError?, seconds: Int, message: String)

    package static func invalidRequest(_ d: String) -> FlowError { .oauth(status: 400, error: "invalid_request", description: d) }
    package static func invalidGrant(_ d: String) -> FlowError { .oauth(status: 400, error: "invalid_grant", description: d) }
    package static func invalidClient(_ d: String, challenge: String? = nil) -> FlowError {
        .oauth(status: 401, error: "invalid_client", description: d, wwwAuthenticate: challenge)
    }
    /// No access token at all: RFC 6750 §3.1 wants the challenge without an error code then (the body keeps one).
    /// `dpopAlgorithms`: where DPoP is available, a second challenge offers it too (RFC 9449 §7.1).
    package static func missingToken(dpopAlgorithms: [String]? = nil) -> FlowError {
        var challenge = "Bearer realm=\"kych\""
        if let dpopAlgorithms { challenge += ", DPoP realm=\"kych\", algs=\"\(dpopAlgorithms.joined(separator: " "))\"" }
        return .oauth(status: 401, error: "invalid_token", description: "missing access token", wwwAuthenticate: challenge)
    }
    package static func invalidToken(_ d: String) -> FlowError {
        .oauth(status: 401, error: "invalid_token", description: d,
               wwwAuthenticate: "Bearer realm=\"kych\", error=\"invalid_token\", error_description=\"\(d)\"")
    }
}

/// The situations the verification pages explain to a person; each has its own localized text.
package enum PageError: String, CaseIterable, Sendable {
    case invalidRequest, unknownLink, unknownClient, invalidRedirect, expired, finished, verifierDown,
         internalError, unknownVerification, differentBrowser, notVerifiedYet, tooManyRequests, busy

    /// The kind for a status when nothing more specific is known (errors raised outside the flow).
    package init(status: Int) {
        switch status {
        case 410: self = .expired
        case 429: self = .tooManyRequests
        case 502, 503, 504: self = .verifierDown
        case 500...: self = .internalError
        case 404: self = .unknownVerification
        default: self = .invalidRequest
        }
    }

    /// Whether sending the same request again may help (the page then offers "Try again").
    package var isTransient: Bool { [.verifierDown, .internalError, .tooManyRequests, .busy].contains(self) }
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
