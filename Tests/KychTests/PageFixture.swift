import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
@testable import KychCore
@testable import KychGateway
import KychOAuth

/// Renders KyCH's pages for hand-made flow results, without a database: the fixture of the page tests.
enum PageFixture {
    static let verificationID = "7f3c9a2e-5b1d-4c8e-9f60-2a4b8d1e3c57"
    static let nonce = "n0nce-Abc_123"
    static let shortDeeplink = "swiyu-verify://?client_id=did%3Ajwk%3Atest&request_uri=https%3A%2F%2Fv.example%2Fr%2F1"

    static func authorization(clientID: String = "test-client", scope: [String]? = ["given_name", "age_over_18"],
                              state: String? = GatewayHarness.state, deeplink: String = shortDeeplink,
                              status: SessionStatus = .authorized, expiresIn: TimeInterval = 600) -> Authorization {
        let verification = VerifierVerification(id: verificationID, requestNonce: nil,
                                                verificationURL: "https://verifier.example/r/1", deeplink: deeplink)
        let session = VerificationSession(serial: 1, clientID: clientID, sessionID: "session-1", nonce: nonce, status: status,
                                          redirectURI: GatewayHarness.redirect, state: state, scope: scope,
                                          verification: verification, createdAt: Date(), expiresAt: Date().addingTimeInterval(expiresIn))
        let client = Client(clientID: clientID, secretHash: nil, verifierURL: "http://127.0.0.1:9", redirectURI: GatewayHarness.redirect)
        return Authorization(session: session, client: client, verification: verification, bindingCookie: nil)
    }

    /// GETs `uri` from a router whose every path answers with `page(request)`.
    static func get(_ uri: String, headers: HTTPFields = [:],
                    _ page: @escaping @Sendable (Request) -> Response) async throws -> TestResponse {
        let router = Router()
        for path: RouterPath in ["/", "**"] {
            router.get(path) { request, _ in page(request) }
        }
        return try await Application(router: router).test(.router) { client in
            try await client.execute(uri: uri, method: .get, headers: headers)
        }
    }

    /// The verification page for `authorization`, as a browser asking for `uri` would get it.
    static func verificationPage(_ authorization: Authorization = authorization(),
                                 uri: String = "/authorize/\(nonce)?response_type=code&client_id=test-client",
                                 acceptLanguage: String? = nil) async throws -> TestResponse {
        var headers = HTTPFields()
        if let acceptLanguage { headers[.acceptLanguage] = acceptLanguage }
        return try await get(uri, headers: headers) { Pages.verification(authorization, request: $0) }
    }
}

extension TestResponse {
    /// The nonce of the CSP's `script-src`.
    var cspNonce: String? {
        guard let csp = headers[.contentSecurityPolicy], let range = csp.range(of: "script-src 'nonce-") else { return nil }
        return String(csp[range.upperBound...].prefix { $0 != "'" })
    }
}

extension String {
    /// The substrings matching `pattern`'s first capture group.
    func captures(_ pattern: String) -> [String] {
        guard let regex = try? NSRegularExpression(pattern: pattern, options: [.dotMatchesLineSeparators]) else { return [] }
        return regex.matches(in: self, range: NSRange(startIndex..., in: self)).compactMap { match in
            Range(match.range(at: 1), in: self).map { String(self[$0]) }
        }
    }

    /// Undoes the HTML escaping of an attribute value or text.
    var htmlUnescaped: String {
        replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">")
            .replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&#39;", with: "'")
            .replacingOccurrences(of: "&amp;", with: "&")
    }
}
