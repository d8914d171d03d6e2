import Foundation
import HTTPTypes
import Hummingbird
import KychCore
import KychOAuth
import KychQR

/// The HTML pages a person sees, rendered from ``Templates`` in the request's ``Language``. Every response carries a
/// strict CSP (a fresh nonce for the one style sheet and script), `X-Frame-Options: DENY`, `Referrer-Policy:
/// no-referrer` and `Cache-Control: no-store`.
enum Pages {
    /// Seconds between the reloads of the verification page when JavaScript is off.
    static let noScriptRefreshSeconds = 10
    /// How long one `/status` long poll of the page's script may wait, in milliseconds.
    static let statusTimeoutMS = 25_000
    /// URL schemes the "Open in swiyu wallet" button may link to.
    static let deeplinkSchemes: Set<String> = ["swiyu-verify", "swiyu", "openid4vp", "haip", "https"]

    /// The page of `GET /authorize/{nonce}`: QR code, wallet button, requesting client, claims, time left, live status.
    /// With `demoWallet`, also the "Use the demo wallet" link (`DEMO_WALLET`).
    static func verification(_ a: Authorization, request: Request, demoWallet: Bool = false) -> Response {
        let language = Language(request)
        let t = language.text
        let id = a.verification.id.urlEscaped
        let stateItem = a.session.state.map { "state=\($0.urlEscaped)&" } ?? ""
        let finalizeURL = Self.finalizeURL(verificationID: a.verification.id, state: a.session.state, language: language)
        // The canonical address of this session's page: a nonce-less /authorize would start a new session on reload.
        let pagePath = "/authorize/\(a.session.nonce.urlEscaped)"
        let ready = a.session.status == .verified || a.session.status == .failed
        // The attestation offer is shown once the person is verified (the script reveals it then); while it is shown the
        // page stays, and the person continues with its link.
        let offer = a.attestationOffer.map { link in
            OfferModel(qr: try? QRCode(text: link).svg(moduleSize: 4, label: t.offerQRLabel),
                       link: link.hasPrefix(CredentialOffers.scheme) ? link : nil, finalizeURL: finalizeURL,
                       shown: a.session.status == .verified)
        }
        let offerShown = offer?.shown == true
        let reload = offerShown ? nil : ready ? "0; url=\(finalizeURL)"
            : "\(noScriptRefreshSeconds); url=\(link(pagePath, query: request.uri.query, language: nil))"
        let secondsLeft = max(0, Int(a.session.expiresAt.timeIntervalSinceNow.rounded(.down)))
        let deeplink = a.verification.deeplink
        let model = VerificationModel(
            page: frame(language, title: t.verifyTitle, path: pagePath, query: request.uri.query, noscriptRefresh: reload),
            t: t,
            client: a.client.clientName ?? a.client.clientID,
            claims: (a.session.scope ?? []).map { t.claims[$0] ?? $0 },
            qr: try? QRCode(text: deeplink).svg(moduleSize: 5, label: t.qrLabel),
            deeplink: deeplinkSchemes.contains(scheme(of: deeplink)) ? deeplink : nil,
            timeLeft: String(format: "%d:%02d", secondsLeft / 60, secondsLeft % 60),
            secondsLeft: secondsLeft,
            statusURL: "/status/\(id)?\(stateItem)timeout_ms=\(statusTimeoutMS)",
            finalizeURL: finalizeURL,
            demoWalletURL: demoWallet ? "\(DemoWalletLink.path)/\(id)?\(stateItem)lang=\(language.rawValue)" : nil,
            statusText: a.session.status == .verified ? t.verified : a.session.status == .failed ? t.failed : t.waiting,
            ready: ready,
            offer: offer,
            offerShown: offerShown)
        return html(.verification, model, status: .ok)
    }

    /// Where the page sends the browser once the verification has a result.
    static func finalizeURL(verificationID: String, state: String?, language: Language) -> String {
        let stateItem = state.map { "state=\($0.urlEscaped)&" } ?? ""
        return "/finalize/\(verificationID.urlEscaped)?\(stateItem)lang=\(language.rawValue)"
    }

    /// The page for a `FlowError.page`: what happened and what to do next, in the request's language; the flow's own
    /// (English) message stays available under "technical details".
    static func error(status: HTTPResponse.Status, kind: PageError, message: String, request: Request) -> Response {
        let language = Language(request)
        let text = language.text.errors[kind] ?? ErrorText(title: kind.rawValue, happened: message, next: "")
        let model = MessageModel(
            page: frame(language, title: text.title, path: request.uri.path, query: request.uri.query),
            t: language.text, title: text.title, paragraphs: [text.happened, text.next].filter { !$0.isEmpty },
            success: false,
            retry: kind.isTransient ? link(request.uri.path, query: request.uri.query, language: nil) : nil,
            detail: "HTTP \(status.code) – \(message)")
        return html(.message, model, status: status)
    }

    /// `GET /`: where a client sends the person after a successful check.
    static func done(request: Request) -> Response {
        let language = Language(request)
        let t = language.text
        let model = MessageModel(
            page: frame(language, title: t.doneTitle, path: request.uri.path, query: request.uri.query),
            t: t, title: t.doneTitle, paragraphs: [t.doneMessage], success: true, retry: nil, detail: nil)
        return html(.message, model, status: .ok)
    }

    // MARK: rendering

    struct Frame {
        var lang: String
        var title: String
        var tagline: String
        var languageLabel: String
        var languages: [LanguageLink]
        var noscriptRefresh: String?
        var nonce = Secrets.randomToken(bytes: 16)
    }

    struct LanguageLink {
        var code: String
        var label: String
        var name: String
        var href: String
        var current: Bool
    }

    /// What every page model has: the layout's values.
    protocol Model {
        var page: Frame { get }
    }

    struct VerificationModel: Model {
        var page: Frame
        var t: PageText
        var client: String
        var claims: [String]
        var qr: String?
        var deeplink: String?
        var timeLeft: String
        var secondsLeft: Int
        var statusURL: String
        var finalizeURL: String
        var demoWalletURL: String?
        var statusText: String
        var ready: Bool
        /// The attestation offer, shown instead of the wallet's QR code once the verification succeeded.
        var offer: OfferModel?
        /// The offer is shown: the page has nothing else (no wallet QR code, no script, no refresh).
        var offerShown: Bool
    }

    struct OfferModel {
        var qr: String?
        /// The "Add to my wallet" button's target: the offer link (same-device wallets).
        var link: String?
        var finalizeURL: String
        /// Shown now (a reload after the verification); else hidden until the script learns of the success.
        var shown: Bool
    }

    struct MessageModel: Model {
        var page: Frame
        var t: PageText
        var title: String
        var paragraphs: [String]
        var success: Bool
        var retry: String?
        var detail: String?
    }

    private static func frame(_ language: Language, title: String, path: String, query: String?,
                              noscriptRefresh: String? = nil) -> Frame {
        Frame(lang: language.rawValue, title: title, tagline: language.text.tagline, languageLabel: language.text.languageLabel,
              languages: Language.allCases.map {
                  LanguageLink(code: $0.rawValue, label: $0.rawValue.uppercased(), name: $0.name,
                               href: link(path, query: query, language: $0), current: $0 == language)
              },
              noscriptRefresh: noscriptRefresh)
    }

    /// `path` with `query` (raw, as received), its `lang` parameters replaced by `language` (or just dropped). The path
    /// keeps one leading slash, so a request path like `//host` or `/\host` cannot turn into a link to another site.
    static func link(_ path: String, query: String?, language: Language?) -> String {
        let path = "/" + path.drop { $0 == "/" || $0 == "\\" }
        var items = (query ?? "").split(separator: "&").filter { !$0.isEmpty && $0.prefix { $0 != "=" } != "lang" }.map(String.init)
        if let language { items.append("lang=\(language.rawValue)") }
        return items.isEmpty ? path : path + "?" + items.joined(separator: "&")
    }

    private static func scheme(of url: String) -> String {
        url.firstIndex(of: ":").map { url[..<$0].lowercased() } ?? ""
    }

    private static func html(_ template: Templates.Name, _ model: some Model, status: HTTPResponse.Status) -> Response {
        Response(status: status, headers: securityHeaders(nonce: model.page.nonce, language: model.page.lang),
                 body: .init(byteBuffer: ByteBuffer(string: Templates.render(template, model))))
    }

    /// The headers of every HTML response.
    static func securityHeaders(nonce: String, language: String) -> HTTPFields {
        let csp = "default-src 'none'; script-src 'nonce-\(nonce)'; style-src 'nonce-\(nonce)'; connect-src 'self'; "
            + "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
        return [
            .contentType: "text/html; charset=utf-8", .contentLanguage: language, .cacheControl: "no-store",
            .contentSecurityPolicy: csp, .xFrameOptions: "DENY", .referrerPolicy: "no-referrer",
            .xContentTypeOptions: "nosniff",
        ]
    }
}

extension Language {
    /// The language of a page for `request`: `?lang=`, else `Accept-Language`, else English.
    init(_ request: Request) {
        self = .negotiate(explicit: request.uri.queryParameters["lang"].map(String.init),
                          acceptLanguage: request.headers[.acceptLanguage])
    }
}

extension HTTPField.Name {
    static let xFrameOptions = Self("X-Frame-Options")!
    static let referrerPolicy = Self("Referrer-Policy")!
}

/// The verification page's "Use the demo wallet" link (`buildApplication(offersDemoWallet:)`). kych-demo serves
/// its target; the gateway only renders the link, so production executables need not link the test wallet.
package enum DemoWalletLink {
    /// The link is `{path}/{verification_id}?state=…&lang=…`.
    package static let path = "/demo-wallet"

    /// Where the demo wallet sends the browser once it has presented: the verification's `/finalize`, in the
    /// request's language.
    package static func finalizeURL(verificationID: String, state: String?, request: Request) -> String {
        Pages.finalizeURL(verificationID: verificationID, state: state, language: Language(request))
    }
}
