import Foundation
import KychCore
import Testing

/// `IniFile.parse` on the inputs the fuzzer (`kych-fuzz-ini`) found it mishandling; their reproducers are in
/// `Tests/Fuzz/regressions/ini/`.
@Suite struct IniFileTests {
    /// A file saved with CRLF line endings parses line by line (it was one line: "\r\n" is a single Character).
    @Test func crlfLineEndingsSeparateLines() throws {
        let ini = try IniFile.parse("# comment\r\n[kych]\r\nDATABASE = postgres:///kych\r\nPORT = 9090\r\n", path: "k.conf", environment: [:])
        let section = try #require(ini.section("kych"))
        #expect(section.line == 2)
        #expect(section.entry("DATABASE")?.value == "postgres:///kych")
        #expect(section.entry("PORT")?.value == "9090" && section.entry("PORT")?.line == 4)
    }

    /// `[ ]` names no section: it is malformed, as `[]` is, and not a section called "".
    @Test func aHeaderWithoutANameIsMalformed() {
        #expect(throws: ConfigError(file: "k.conf", line: 1, section: nil, key: nil, message: "malformed section header [ ]")) {
            try IniFile.parse("[ ]\nA = b\n", path: "k.conf", environment: [:])
        }
    }

    /// A value that starts with a combining mark reads back the same once quoted: the quote and the mark fused into
    /// one Character, so the quotes were not seen as quotes (found by `kych-fuzz-ini` in CI).
    @Test func quotesAroundAValueStartingWithACombiningMarkAreStripped() throws {
        let plain = try IniFile.parse("[kych]\nK = \u{301}abc\n", path: "k.conf", environment: [:])
        let quoted = try IniFile.parse("[kych]\nK = \"\u{301}abc\"\n", path: "k.conf", environment: [:])
        #expect(plain.section("kych")?.entry("K")?.value.unicodeScalars.elementsEqual("\u{301}abc".unicodeScalars) == true)
        #expect(quoted.section("kych")?.entry("K")?.value.unicodeScalars.elementsEqual("\u{301}abc".unicodeScalars) == true)
    }

    /// A section name that starts with a combining mark is still a section header when written without the space.
    @Test func aSectionNameStartingWithACombiningMarkIsAHeader() throws {
        let ini = try IniFile.parse("[\u{301}x]\nA = b\n", path: "k.conf", environment: [:])
        #expect(ini.sections.count == 1 && ini.sections[0].entry("A")?.value == "b")
    }
}
