import Foundation
@testable import KychGateway
import KychOAuth
import Testing

/// The verification page's attestation offer (`ATTESTATION_OFFER_CLIENTS`), rendered from hand-made flow states: a page
/// that does not offer stays exactly as before (the script and the no-JavaScript refresh go to `/finalize`); one that
/// offers sends its script back to the page on success; the verified page that carries the offer shows it (title and
/// text in the request's language, a QR code that decodes to the offer link, "Add to my wallet" with the link) with a
/// link on to `/finalize`, and neither refreshes nor runs a script that would leave it.
@Suite struct PageOfferTests {
    static let offer = "openid-credential-offer://?credential_offer=%7B%22credential_issuer%22%3A%22https%3A%2F%2Fkych.example.com%22%7D"
    static let finalize = "/finalize/\(PageFixture.verificationID)?state=\(GatewayHarness.state)&amp;lang="

    static func page(offers: Bool, status: SessionStatus, offer: String? = nil, lang: String = "en") async throws -> String {
        var authorization = PageFixture.authorization(status: status)
        authorization.offersAttestation = offers
        authorization.attestationOffer = offer
        return try await PageFixture.verificationPage(authorization, uri: "/authorize/\(PageFixture.nonce)?client_id=test-client&lang=\(lang)").text
    }

    @Test func aPageThatDoesNotOfferIsUnchanged() async throws {
        let verified = try await Self.page(offers: false, status: .verified)
        #expect(verified.contains(#"<noscript><meta http-equiv="refresh" content="0; url=\#(Self.finalize)en"></noscript>"#))
        #expect(!verified.contains("data-offer-url") && !verified.contains("attestation-offer"))
    }

    @Test func anOfferingPageReturnsToItselfOnSuccess() async throws {
        let waiting = try await Self.page(offers: true, status: .authorized, lang: "de")
        #expect(waiting.contains(#"data-offer-url="/authorize/\#(PageFixture.nonce)?client_id=test-client&amp;lang=de""#))
        #expect(waiting.contains(#"<figure class="qr">"#) && !waiting.contains("attestation-offer"))
    }

    @Test(arguments: [("en", "Add a reusable KyCH attestation to your wallet"), ("de", "Wiederverwendbare KyCH-Bestätigung in Ihre Wallet aufnehmen"),
                      ("fr", "Ajouter une attestation KyCH réutilisable à votre wallet"), ("it", "Aggiungi al tuo wallet un’attestazione KyCH riutilizzabile")])
    func theVerifiedPageShowsTheOffer(lang: String, title: String) async throws {
        let html = try await Self.page(offers: true, status: .verified, offer: Self.offer, lang: lang)
        #expect(html.contains(#"<section class="scan" id="attestation-offer">"#) && html.contains("<h2>\(title)</h2>"))
        let href = try #require(html.captures(#"<a class="button secondary" id="add-to-wallet" href="([^"]*)""#).first)
        #expect(href.htmlUnescaped == Self.offer)
        #expect(html.contains(#"id="continue-to-service" href="\#(Self.finalize)\#(lang)""#))
        #expect(!html.contains("http-equiv=\"refresh\"") && !html.contains("<script"), "the offer page must not move on by itself")
        let svg = try #require(html.captures(#"<figure class="qr">(<svg .*?</svg>)"#).first)
        #expect(try PageQRDecodeTests.decode(svg) == Self.offer)
    }
}
