import Crypto
import Foundation
import KychFuzzSupport
import KychSDJWT

/// `CompactJWE`: a wallet's `direct_post.jwt` response. The first byte picks the mode: even, the rest is parsed and
/// decrypted with the fixture response key; odd, the rest is the plaintext of a fresh JWE to that key (its first
/// byte chooses an `apu`), which must decrypt to the same bytes, and must fail to decrypt once its tag or ciphertext
/// is altered.
@main enum JWETarget: FuzzTarget {
    static let name = "jwe"

    static func run(_ input: Data) -> Bool {
        guard let mode = input.first else { return false }
        let rest = input.dropFirst()
        if mode & 1 == 0 {
            guard let jwe = try? CompactJWE(parsing: String(decoding: rest, as: UTF8.self)) else { return false }
            return (try? jwe.decrypt(using: FuzzFixtures.responseKey)) != nil
        }
        let plaintext = Data(rest)
        let header: [String: JSONValue] = rest.first.map { ["apu": .string(Base64URL.encode([$0]))] } ?? [:]
        guard let compact = try? CompactJWE.encrypt(
            plaintext, to: FuzzFixtures.responseKey.publicKey, keyID: FuzzFixtures.responseKeyID, additionalHeader: header)
        else { fatalError("invariant broken: encryption failed") }
        let decrypted = try? CompactJWE(parsing: compact).decrypt(using: FuzzFixtures.responseKey)
        FuzzCheck.require(decrypted == plaintext, "decrypt(encrypt(plaintext)) differs")
        var parts = compact.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        // The first character carries the top six bits of the first byte: changing it always changes the data.
        let part = parts[3].isEmpty ? 4 : 3 + Int(mode >> 1) % 2
        parts[part] = (parts[part].hasPrefix("A") ? "B" : "A") + parts[part].dropFirst()
        let opened = try? CompactJWE(parsing: parts.joined(separator: ".")).decrypt(using: FuzzFixtures.responseKey)
        FuzzCheck.require(opened == nil, "an altered JWE decrypts")
        return true
    }

    static func seeds() throws -> [String: Data] {
        let response = Data(#"{"vp_token":{"betaid":["eyJ...~"]},"state":"fuzz-state"}"#.utf8)
        let compact = try CompactJWE.encrypt(response, to: FuzzFixtures.responseKey.publicKey, keyID: FuzzFixtures.responseKeyID,
                                             additionalHeader: ["apv": .string(Base64URL.encode("fuzz-nonce"))])
        return ["response-jwe": Data([0]) + Data(compact.utf8), "roundtrip": Data([1]) + response]
    }
}
