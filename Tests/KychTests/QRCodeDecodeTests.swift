import Foundation
import KychQR
import Testing

/// Round trip through real tools: SVG → PNG with `rsvg-convert` (Debian librsvg2-bin),
/// decoded by `zbarimg` (Debian zbar-tools).
/// Fails, rather than skips, when either tool is missing from PATH.
@Suite("QR code decode round trip")
struct QRCodeDecodeTests {
    static let swiyuDeeplink = "swiyu-verify://?client_id=decentralized_identifier%3Adid%3Ajwk%3A"
        + "eyJrdHkiOiJFQyIsImNydiI6IlAtMjU2IiwieCI6IjNxYk1ZQ2VSWlJ6TnpIb0E1cDZ0Z2VOcXJ5S3BzdGY0SmJNRGxxR3F0N1kiLCJ5Ijoi"
        + "VzNqR3lqS2FKZEpIM2tUcE95dFd1c0NnX0lQd3N3V3B2Q2ZQbW5aZ0ZfQSJ9"
        + "&request_uri=https%3A%2F%2Fkych.example.ch%2Foid4vp%2Frequest-object%2F7f3c9a2e-5b1d-4c8e-9f60-2a4b8d1e3c57"

    @Test("Short text decodes exactly")
    func shortText() async throws {
        try await Self.expectRoundTrip("KyCH", errorCorrection: .medium)
    }

    @Test("A swiyu verification deeplink of 300+ characters decodes exactly", arguments: QRErrorCorrection.allCases)
    func swiyuDeeplink(level: QRErrorCorrection) async throws {
        try #require(Self.swiyuDeeplink.utf8.count >= 300)
        try await Self.expectRoundTrip(Self.swiyuDeeplink, errorCorrection: level)
    }

    private static func expectRoundTrip(_ text: String, errorCorrection: QRErrorCorrection) async throws {
        let rsvgConvert = try #require(Run.which("rsvg-convert"),
                                       "rsvg-convert not found in PATH: install it (Debian: apt-get install librsvg2-bin)")
        let zbarimg = try #require(Run.which("zbarimg"),
                                   "zbarimg not found in PATH: install it (Debian: apt-get install zbar-tools)")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("kych-qr-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let svgFile = directory.appendingPathComponent("code.svg")
        let pngFile = directory.appendingPathComponent("code.png")

        let code = try QRCode(text: text, errorCorrection: errorCorrection)
        try code.svg().write(to: svgFile, atomically: true, encoding: .utf8)
        _ = try await run(rsvgConvert, ["--format", "png", "--output", pngFile.path, svgFile.path])
        let decoded = try await run(zbarimg, ["--raw", "-q", pngFile.path])
        #expect(decoded == text + "\n", "zbarimg decoded a version \(code.version) symbol differently")
    }

    /// The PNG KyCH writes itself (`kych-client-management credential-offer --qr`), at two module sizes, decodes exactly.
    @Test("Our own PNG decodes exactly", arguments: [3, 8])
    func ownPNG(moduleSize: Int) async throws {
        let zbarimg = try #require(Run.which("zbarimg"), "zbarimg not found in PATH: install it (Debian: apt-get install zbar-tools)")
        let png = try temporaryFile("", suffix: ".png")
        defer { try? FileManager.default.removeItem(atPath: png) }
        try Data(try QRCode(text: Self.swiyuDeeplink).png(moduleSize: moduleSize)).write(to: URL(fileURLWithPath: png))
        #expect(try await Self.run(zbarimg, ["--raw", "-q", png]) == Self.swiyuDeeplink + "\n")
    }

    /// The terminal text (`--qr-text`) is the symbol, light modules drawn as half blocks, two rows a line, 2-module quiet zone.
    @Test("The terminal text draws every module")
    func terminalText() throws {
        let code = try QRCode(text: "KyCH")
        let lines = code.text().split(separator: "\n").map(Array.init)
        #expect(lines.count == (code.size + 4 + 1) / 2 && lines.allSatisfy { $0.count == code.size + 4 })
        for y in -2..<(code.size + 2) {
            for x in -2..<(code.size + 2) {
                let cell = lines[(y + 2) / 2][x + 2]
                let light = (y + 2) % 2 == 0 ? cell == "█" || cell == "▀" : cell == "█" || cell == "▄"
                #expect(light == !code[x, y], "module \(x), \(y)")
            }
        }
    }

    /// Runs `executable` to completion and returns its standard output; a non-zero exit fails the test.
    private static func run(_ executable: String, _ arguments: [String]) async throws -> String {
        let result = try await Run.program(executable, arguments)
        try #require(result.status == 0, "\(executable) exited with \(result.status): \(result.stderr)")
        return result.stdout
    }
}
