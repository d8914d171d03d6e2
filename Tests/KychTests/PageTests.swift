import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
@testable import KychCore
@testable import KychGateway
import KychOAuth
import Testing

/// The pages a person sees: language negotiation, content, escaping, security headers, the no-JavaScript fallback,
/// and the localized error and "complete" pages through the real flow.
@Suite struct PageTests {
    // MARK: languages

    @Test(arguments: [
        (nil, nil, Language.en),
        (nil, "de-CH,de;q=0.9,en;q=0.8", .de),
        (nil, "fr-CH, fr;q=0.9, en;q=0.8, de;q=0.7, *;q=0.5", .fr),
        (nil, "en;q=0.5, it;q=0.8", .it),
        (nil, "IT-ch", .it),
        (nil, "es, pt;q=0.9", .en),
        (nil, "de;q=0, fr;q=0.1", .fr),
        (nil, "de;q=2, en;q=0.1", .en),
        (nil, "de;q=abc", .en),
        (nil, "*", .en),
        (nil, ";;;,,,q=,-,\u{0}", .en),
        ("de", "fr", .de),
        ("FR", nil, .fr),
        ("xx", "it", .it),
        ("", nil, .en),
    ] as [(String?, String?, Language)])
    func languageNegotiation(explicit: String?, acceptLanguage: String?, expected: Language) {
        #expect(Language.negotiate(explicit: explicit, acceptLanguage: acceptLanguage) == expected)
    }

    @Test func languageLinksKeepTheOtherQueryParameters() {
        #expect(Pages.link("/authorize/n", query: "a=1&lang=fr&b=%20x&lang", language: .de) == "/authorize/n?a=1&b=%20x&lang=de")
        #expect(Pages.link("/", query: nil, language: .it) == "/?lang=it")
        #expect(Pages.link("/x", query: "lang=de", language: nil) == "/x")
        #expect(Pages.link("/x", query: "&&language=de&", language: nil) == "/x?language=de")
        #expect(Pages.link("//evil.example/x", query: nil, language: nil) == "/evil.example/x")
        #expect(Pages.link("/\\evil.example", query: "a=1", language: .en) == "/evil.example?a=1&lang=en")
    }

    @Test func everyLanguageHasEveryText() throws {
        for language in Language.allCases {
            let text = language.text
            for claim in GatewayConfig.betaIDClaims {
                #expect(text.claims[claim]?.isEmpty == false, "\(language): no label for \(claim)")
            }
            for kind in PageError.allCases {
                let error = try #require(text.errors[kind], "\(language): no text for \(kind)")
                #expect(!error.title.isEmpty && !error.happened.isEmpty && !error.next.isEmpty)
            }
            for child in Mirror(reflecting: text).children {
                if let value = child.value as? String { #expect(!value.isEmpty, "\(language): \(child.label ?? "") is empty") }
            }
        }
        #expect(Set(Language.allCases.map(\.text.verifyTitle)).count == Language.allCases.count)
    }

    // MARK: the verification page

    @Test func verificationPageShowsEverythingTheIssueAsksFor() async throws {
        let page = try await PageFixture.verificationPage()
        let html = page.text
        #expect(page.status == .ok)
        #expect(html.contains("<html lang=\"en\">") && html.contains("<h1>Verify your identity</h1>"))
        #expect(html.contains("<strong class=\"client\">test-client</strong>"))
        #expect(html.captures(#"<li>([^<]*)</li>"#) == ["Given names", "Aged 18 or over"])
        #expect(html.contains("<svg") && html.contains("aria-label=\"QR code for the swiyu wallet\""))
        let button = try #require(html.captures(#"<a class="button" id="open-wallet" href="([^"]*)">Open in swiyu wallet</a>"#).first)
        #expect(button.htmlUnescaped == PageFixture.shortDeeplink)
        // The session expires in 10 minutes; the text and the script's countdown start agree.
        let timeLeft = try #require(html.captures(#"<strong id="time-left">(\d+:\d\d)</strong>"#).first).split(separator: ":")
        let seconds = Int(timeLeft[0])! * 60 + Int(timeLeft[1])!
        #expect((1...600).contains(seconds) && html.contains("data-seconds-left=\"\(seconds)\""))
        #expect(html.contains("Waiting for your confirmation in the swiyu wallet…"))
        let id = PageFixture.verificationID, state = GatewayHarness.state
        #expect(html.contains("data-status-url=\"/status/\(id)?state=\(state)&amp;timeout_ms=25000\""))
        #expect(html.contains("data-finalize-url=\"/finalize/\(id)?state=\(state)&amp;lang=en\""))
        // The script navigates the top-level window, and only to KyCH's own /finalize.
        let script = try #require(html.captures(#"<script nonce="[^"]+">(.*?)</script>"#).first)
        #expect(script.contains("window.top.location.assign(d.finalizeUrl)") && !script.contains("postMessage"))
        // Same-origin links only, except the wallet deeplink.
        for target in html.captures(#"(?:href|src)="([^"]*)""#) where target != button {
            #expect(target.hasPrefix("/"), "external link \(target)")
        }
    }

    @Test func withoutJavaScriptThePageReloadsItselfAndOffersAContinueLink() async throws {
        let id = PageFixture.verificationID, state = GatewayHarness.state
        let waiting = try await PageFixture.verificationPage(uri: "/authorize?response_type=code&client_id=test-client&lang=de").text
        // The reload goes to the session's own nonce, so a nonce-less request does not start a new session each time.
        #expect(waiting.contains(#"<noscript><meta http-equiv="refresh" content="10; url=/authorize/\#(PageFixture.nonce)?response_type=code&amp;client_id=test-client"></noscript>"#))
        #expect(waiting.contains(#"<noscript><p><a class="button secondary" id="continue" href="/finalize/\#(id)?state=\#(state)&amp;lang=de">In der Wallet bestätigt? Weiter</a>"#))

        let verified = try await PageFixture.verificationPage(PageFixture.authorization(status: .verified)).text
        #expect(verified.contains(#"<noscript><meta http-equiv="refresh" content="0; url=/finalize/\#(id)?state=\#(state)&amp;lang=en"></noscript>"#))
        #expect(verified.contains("Confirmed. Taking you back to the service…"))
    }

    @Test func securityHeadersOnEveryPage() async throws {
        let pages = [
            try await PageFixture.verificationPage(),
            try await PageFixture.verificationPage(),
            try await PageFixture.get("/") { Pages.done(request: $0) },
            try await PageFixture.get("/finalize/x") {
                Pages.error(status: .conflict, kind: .notVerifiedYet, message: "not yet", request: $0)
            },
        ]
        for page in pages {
            #expect(page.headers[.contentType] == "text/html; charset=utf-8")
            #expect(page.headers[.cacheControl] == "no-store")
            #expect(page.headers[.xFrameOptions] == "DENY")
            #expect(page.headers[.referrerPolicy] == "no-referrer")
            #expect(page.headers[.xContentTypeOptions] == "nosniff")
            let csp = try #require(page.headers[.contentSecurityPolicy])
            let nonce = try #require(page.cspNonce)
            #expect(nonce.count >= 16)
            #expect(csp == "default-src 'none'; script-src 'nonce-\(nonce)'; style-src 'nonce-\(nonce)'; connect-src 'self'; "
                + "frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
            // Every style and script element carries the nonce; there are no inline handlers or style attributes.
            let html = page.text
            let elements = html.captures(#"<(?:script|style)([^>]*)>"#)
            #expect(!elements.isEmpty && elements.allSatisfy { $0 == " nonce=\"\(nonce)\"" })
            #expect(html.captures(#"\s(on[a-z]+|style)="#).isEmpty)
        }
        #expect(pages[0].cspNonce != pages[1].cspNonce)
    }

    @Test func hostileClientIDClaimsStateAndQueryAreEscaped() async throws {
        let hostile = #""><script>alert('x')</script><img src=x onerror=alert(1)>&amp;"#
        let authorization = PageFixture.authorization(clientID: "client" + hostile, scope: ["given_name", "claim" + hostile],
                                                      state: "state" + hostile, deeplink: "swiyu-verify://?q=" + hostile)
        let uri = "/authorize/n?x=%22%3E%3Cscript%3E&y=\"><script>alert(2)</script>"
        let html = try await PageFixture.verificationPage(authorization, uri: uri).text
        #expect(html.components(separatedBy: "<script").count == 2, "exactly one script element: ours")
        #expect(!html.contains("<img") && !html.contains("alert(1)>") && !html.contains("'x')</script>"))
        #expect(html.contains("client&quot;&gt;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;&amp;amp;"))
        #expect(html.contains("<li>claim&quot;&gt;&lt;script&gt;"))
        // The state reaches URLs percent-encoded, so it can neither end the attribute nor add parameters.
        let encodedState = ("state" + hostile).addingPercentEncoding(withAllowedCharacters: .urlUnreserved)!
        #expect(html.contains("data-finalize-url=\"/finalize/\(PageFixture.verificationID)?state=\(encodedState)&amp;lang=en\""))
        #expect(html.contains("y=&quot;&gt;&lt;script&gt;alert(2)&lt;/script&gt;&amp;lang=de"))

        // The error page escapes the flow's message, which may quote request data.
        let error = try await PageFixture.get("/authorize") {
            Pages.error(status: .badRequest, kind: .unknownClient, message: "The client \(hostile) is not registered.", request: $0)
        }.text
        #expect(!error.contains("<script>alert") && !error.contains("<img"))
        #expect(error.contains("The client &quot;&gt;&lt;script&gt;"))
    }

    @Test func theWalletButtonOnlyLinksToWalletSchemes() async throws {
        for deeplink in ["javascript:alert(1)", "JavaScript:alert(1)", "data:text/html,x", "no-scheme"] {
            let html = try await PageFixture.verificationPage(PageFixture.authorization(deeplink: deeplink)).text
            #expect(!html.contains("id=\"open-wallet\""), "button for \(deeplink)")
            #expect(html.contains("<svg"))
        }
        let html = try await PageFixture.verificationPage(PageFixture.authorization(deeplink: "openid4vp://?request_uri=x")).text
        #expect(html.contains("id=\"open-wallet\" href=\"openid4vp://?request_uri=x\""))
    }

    @Test func languageFromAcceptLanguageAndFromTheSwitch() async throws {
        let german = try await PageFixture.verificationPage(acceptLanguage: "de-CH, en;q=0.5")
        #expect(german.headers[.contentLanguage] == "de")
        #expect(german.text.contains("<html lang=\"de\">") && german.text.contains("<h1>Identität bestätigen</h1>"))
        #expect(german.text.captures(#"<li>([^<]*)</li>"#) == ["Vornamen", "Mindestens 18 Jahre alt"])
        #expect(german.text.contains(">In swiyu-Wallet öffnen</a>"))

        let uri = "/authorize/\(PageFixture.nonce)?response_type=code&lang=de&state=s"
        let french = try await PageFixture.verificationPage(uri: uri.replacingOccurrences(of: "lang=de", with: "lang=fr"),
                                                            acceptLanguage: "de").text
        #expect(french.contains("<h1>Vérifier votre identité</h1>") && french.contains("<li>Prénoms</li>"))
        let links = french.captures(#"<a href="([^"]*)" lang="[a-z]+""#)
        #expect(links == Language.allCases.map { "/authorize/\(PageFixture.nonce)?response_type=code&amp;state=s&amp;lang=\($0.rawValue)" })
        #expect(french.contains(#"hreflang="fr" title="Français" aria-label="Français" aria-current="true">FR</a>"#))
        #expect(french.captures(#"aria-current="true">([A-Z]+)<"#) == ["FR"])

        let italian = try await PageFixture.verificationPage(uri: "/authorize/x?lang=it").text
        #expect(italian.contains("<h1>Verifica dell’identità</h1>") && italian.contains("Apri nel wallet swiyu"))
    }

    // MARK: error pages and GET / through the gateway

    @Test func errorPagesAreLocalizedAndSayWhatToDoNext() async throws {
        let harness = try await GatewayHarness.make(verifier: .faultInjecting())   // stand-in: setDown/succeed/createdIDs
        try await harness.run { flow in
            let unknown = try await flow.request(flow.authorizeURI(nil, clientID: "nobody"), headers: [.acceptLanguage: "de-CH"])
            #expect(unknown.status == .badRequest && unknown.headers[.location] == nil)
            #expect(unknown.headers[.contentType] == "text/html; charset=utf-8" && unknown.headers[.xFrameOptions] == "DENY")
            #expect(unknown.text.contains("<h1>Unbekannter Dienst</h1>") && unknown.text.contains("Bitte wenden Sie sich an diesen Dienst."))
            #expect(unknown.text.contains("<summary>Technische Details</summary><p>HTTP 400 – The client nobody is not registered.</p>"))

            let badRedirect = try await flow.request(flow.authorizeURI(try await flow.nonce(), redirect: "https://evil.example/") + "&lang=fr")
            #expect(badRedirect.status == .badRequest && badRedirect.text.contains("<h1>Adresse de retour invalide</h1>"))

            harness.standIn.setDown(true)
            let down = try await flow.request(flow.authorizeURI(try await flow.nonce()), headers: [.acceptLanguage: "it"])
            #expect(down.status == .badGateway && down.text.contains("<h1>Servizio di verifica non disponibile</h1>"))
            #expect(down.text.contains(">Riprova</a>"))
            harness.standIn.setDown(false)

            // Finishing in another browser (no binding cookie), with the language the page passed on to /finalize.
            let started = try await flow.start()
            harness.standIn.succeed(started.verificationID, claims: GatewayHarness.claims)
            _ = try await flow.notify(started.verificationID)
            let other = try await flow.request("/finalize/\(started.verificationID)?state=\(GatewayHarness.state)&lang=it")
            #expect(other.status == .forbidden && other.text.contains("<h1>Browser diverso</h1>"))
            #expect(other.text.contains("La concluda nel browser in cui l’ha avviata"))

            // Clients asking for JSON still get JSON.
            let json = try await flow.request(flow.authorizeURI(nil, clientID: "nobody"), headers: [.accept: "application/json"])
            json.expectOAuthError("invalid_request", status: .badRequest)
        }
    }

    @Test func aNonceLessRequestReloadsTheSameSession() async throws {
        let harness = try await GatewayHarness.make(verifier: .faultInjecting())   // stand-in: createdIDs
        try await harness.run { flow in
            let page = try await flow.request(flow.authorizeURI(nil))
            #expect(page.status == .ok)
            let reload = try #require(page.text.captures(#"content="10; url=([^"]+)""#).first?.htmlUnescaped)
            #expect(reload.hasPrefix("/authorize/"))
            let again = try await flow.request(reload)
            // The same binding cookie again (every browser that opens the page gets it until the wallet has presented).
            func binding(_ response: TestResponse) -> String? { response.headers[.setCookie]?.split(separator: ";").first.map(String.init) }
            #expect(again.status == .ok && binding(again) != nil && binding(again) == binding(page))
            #expect(harness.standIn.createdIDs.count == 1)
        }
    }

    @Test func theCompletePageAtTheRoot() async throws {
        let harness = try await GatewayHarness.make()
        try await harness.run { flow in
            let english = try await flow.request("/")
            #expect(english.status == .ok && english.headers[.cacheControl] == "no-store")
            #expect(english.text.contains("<h1>Verification complete</h1>") && english.text.contains("You can close this window."))
            let french = try await flow.request("/", headers: [.acceptLanguage: "fr-CH,fr;q=0.9"])
            #expect(french.text.contains("<h1>Vérification terminée</h1>") && french.text.contains("Vous pouvez fermer cette fenêtre."))
            let german = try await flow.request("/?lang=de")
            #expect(german.text.contains("Sie können dieses Fenster schliessen."))
        }
    }
}
