import Foundation
import Testing

/// The QR code embedded in the verification page, cut out of the HTML, rendered to PNG by `rsvg-convert` and read
/// by `zbarimg`, is exactly the verification deeplink. Fails, rather than skips, when either tool is missing.
@Suite struct PageQRDecodeTests {
    @Test(arguments: [PageFixture.shortDeeplink, QRCodeDecodeTests.swiyuDeeplink + "&state=" + String(repeating: "x", count: 64)])
    func thePagesQRCodeDecodesToTheDeeplink(deeplink: String) async throws {
        if deeplink != PageFixture.shortDeeplink { try #require(deeplink.utf8.count >= 300) }
        let html = try await PageFixture.verificationPage(PageFixture.authorization(deeplink: deeplink)).text
        let svg = try #require(html.captures(#"<figure class="qr">(<svg .*?</svg>)"#).first)
        await #expect(try Self.decode(svg) == deeplink)
    }

    /// SVG → PNG → text.
    static func decode(_ svg: String) async throws -> String {
        let rsvg = try #require(Run.which("rsvg-convert"), "rsvg-convert not found in PATH: install it (Debian: apt-get install librsvg2-bin)")
        let zbarimg = try #require(Run.which("zbarimg"), "zbarimg not found in PATH: install it (Debian: apt-get install zbar-tools)")
        let svgFile = try temporaryFile(svg, suffix: ".svg"), pngFile = svgFile + ".png"
        defer { try? FileManager.default.removeItem(atPath: svgFile); try? FileManager.default.removeItem(atPath: pngFile) }
        let converted = try await Run.program(rsvg, ["--format", "png", "--output", pngFile, svgFile])
        try #require(converted.status == 0, "rsvg-convert failed: \(converted.stderr)")
        let decoded = try await Run.program(zbarimg, ["--raw", "-q", pngFile])
        try #require(decoded.status == 0, "zbarimg found no code (exit \(decoded.status)): \(decoded.stderr)")
        return decoded.stdout.hasSuffix("\n") ? String(decoded.stdout.dropLast()) : decoded.stdout
    }
}
