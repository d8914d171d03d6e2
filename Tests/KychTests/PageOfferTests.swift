import Foundation
@testable import KychGateway
import KychOAuth
import Testing

/// The verification page's attestation offer (`ATTESTATION_OFFER_CLIENTS`), rendered from hand-made flow states: a page
/// without an offer is exactly as before (the script and the no-JavaScript refresh go to `/finalize`); a waiting page
/// with one holds it hidden, for its script to reveal on success instead of leaving; the verified page (a reload) shows
/// only the offer: title and text in the request's language, a QR code that decodes to the offer link, "Add to my
/// wallet" with the link, a link on to `/finalize`, and neither a refresh nor a script that would leave it.
@Suite struct PageOfferTests {
    static let offer = "openid-credential-offer://?credential_offer=%7B%22credential_issuer%22%3A%22https%3A%2F%2Fkych.example.com%22%7D"
    static let finalize = "/finalize/\(PageFixture.verificationID)?state=\(GatewayHarness.state)&amp;lang="

    static func page(status: SessionStatus, offer: String? = nil, lang: String = "en") async throws -> String {
        var authorization = PageFixture.authorization(status: status)
        authorization.attestationOffer = offer
        return try await PageFixture.verificationPage(authorization, uri: "/authorize/\(PageFixture.nonce)?client_id=test-client&lang=\(lang)").text
    }

    @Test func aPageWithoutAnOfferIsUnchanged() async throws {
        let verified = try await Self.page(status: .verified)
        #expect(verified.contains(#"<noscript><meta http-equiv="refresh" content="0; url=\#(Self.finalize)en"></noscript>"#))
        #expect(!verified.contains(#"id="attestation-offer""#) && verified.contains(#"<div class="grid" id="verification">"#))
    }

    @Test func aWaitingPageHoldsTheOfferHiddenForItsScript() async throws {
        let waiting = try await Self.page(status: .authorized, offer: Self.offer, lang: "de")
        #expect(waiting.contains(#"<div class="grid" id="attestation-offer" hidden>"#))
        #expect(waiting.contains(#"<div class="grid" id="verification">"#) && waiting.contains("id=\"open-wallet\""))
        #expect(waiting.contains(#"<noscript><meta http-equiv="refresh" content="10; url="#))
        let script = try #require(waiting.captures(#"<script nonce="[^"]+">(.*?)</script>"#).first)
        #expect(script.contains("offer.hidden = false") && script.contains("window.top.location.assign(d.finalizeUrl)"))
        // The wallet's QR code comes first (what the person scans now).
        let svg = try #require(waiting.captures(#"<figure class="qr">(<svg .*?</svg>)"#).first)
        await #expect(try PageQRDecodeTests.decode(svg) == PageFixture.shortDeeplink)
    }

    @Test(arguments: [("en", "Add a reusable KyCH attestation to your wallet"), ("de", "Wiederverwendbare KyCH-Bestätigung in Ihre Wallet aufnehmen"),
                      ("fr", "Ajouter une attestation KyCH réutilisable à votre wallet"), ("it", "Aggiungi al tuo wallet un’attestazione KyCH riutilizzabile")])
    func theVerifiedPageShowsOnlyTheOffer(lang: String, title: String) async throws {
        let html = try await Self.page(status: .verified, offer: Self.offer, lang: lang)
        #expect(html.contains(#"<div class="grid" id="attestation-offer">"#) && html.contains("<h2>\(title)</h2>"))
        #expect(!html.contains("id=\"verification\"") && !html.contains("open-wallet"))
        let href = try #require(html.captures(#"<a class="button secondary" id="add-to-wallet" href="([^"]*)""#).first)
        #expect(href.htmlUnescaped == Self.offer)
        #expect(html.contains(#"id="continue-to-service" href="\#(Self.finalize)\#(lang)""#))
        #expect(!html.contains("http-equiv=\"refresh\"") && !html.contains("<script"), "the offer page must not move on by itself")
        let svg = try #require(html.captures(#"<figure class="qr">(<svg .*?</svg>)"#).first)
        await #expect(try PageQRDecodeTests.decode(svg) == Self.offer)
    }
}
