import Foundation
import KychCore
import KychSDJWT
import Testing

/// Random tokens (codes, access tokens, nonces, session and request ids): as many random bytes as asked for, drawn
/// eight at a time from the system's generator.
@Suite struct SecretsTests {
    @Test func aTokenHasTheBytesAskedForAndNeverRepeats() throws {
        for count in [1, 7, 8, 9, 12, 16, 31, 32, 33, 64] {
            let tokens = (0..<50).map { _ in Secrets.randomToken(bytes: count) }
            for token in tokens { #expect(try #require(Base64URL.decode(token)).count == count, "\(count)") }
            if count >= 8 { #expect(Set(tokens).count == tokens.count, "\(count)") }
        }
        // Every byte value turns up (a byte-wise bias or a constant tail would not).
        let bytes = try (0..<200).flatMap { _ in try #require(Base64URL.decode(Secrets.randomToken(bytes: 33))) }
        #expect(Set(bytes).count == 256)
    }
}
