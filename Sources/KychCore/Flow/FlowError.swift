import Foundation

/// How a failed request is answered. The HTTP layer maps each case to a response in one place.
public enum FlowError: Error, Sendable, Equatable {
    /// An OAuth-style JSON error: `{"error", "error_description"}`.
    case oauth(status: Int, error: String, description: String, wwwAuthenticate: String? = nil)
    /// Shown to the person in the browser, never redirected (the redirect URI is not trusted yet).
    case page(status: Int, title: String, message: String)
    /// Sent back to the client's (validated) redirect URI.
    case redirect(String)

    public static func invalidRequest(_ d: String) -> FlowError { .oauth(status: 400, error: "invalid_request", description: d) }
    static func invalidGrant(_ d: String) -> FlowError { .oauth(status: 400, error: "invalid_grant", description: d) }
    static func invalidClient(_ d: String, basic: Bool = false) -> FlowError {
        .oauth(status: 401, error: "invalid_client", description: d, wwwAuthenticate: basic ? "Basic realm=\"kych\"" : nil)
    }
    static func invalidToken(_ d: String) -> FlowError {
        .oauth(status: 401, error: "invalid_token", description: d,
               wwwAuthenticate: "Bearer realm=\"kych\", error=\"invalid_token\", error_description=\"\(d)\"")
    }
}

/// Builds redirect URIs with OAuth parameters, appending to an existing query with `&`.
public enum RedirectURI {
    public static func with(_ base: String, _ parameters: [(String, String?)]) -> String {
        let query = parameters.compactMap { name, value in
            value.map { "\(name)=\($0.urlEscaped)" }
        }.joined(separator: "&")
        guard !query.isEmpty else { return base }
        return base + (base.contains("?") ? "&" : "?") + query
    }
}
