import Crypto
import Foundation
import KychSDJWT
import Testing

@Suite("DEFLATE and token status lists")
struct SDJWTStatusListTests {
    /// Inputs with stored, fixed-Huffman and dynamic-Huffman blocks once compressed by zlib.
    static let samples: [(name: String, data: Data)] = {
        var generator = SystemRandomNumberGenerator()
        let random = Data((0..<70_000).map { _ in UInt8.random(in: 0...255, using: &generator) })
        let text = Data(String(repeating: "The quick brown fox jumps over the lazy dog. ", count: 400).utf8)
        let sparse = Data((0..<100_000).map { $0 % 997 == 0 ? UInt8(1) : 0 })
        return [("empty", Data()), ("short", Data("a".utf8)), ("random", random), ("text", text), ("sparse", sparse)]
    }()

    @Test func inflatesWhatPythonZlibCompresses() async throws {
        for sample in Self.samples {
            for level in [0, 1, 6, 9] {
                for wbits in [15, -15] {
                    let compressed = try await #require(Base64URL.decode(try PythonHelper.run(
                        "zlib_crosscheck.py", "compress",
                        ["data": .string(Base64URL.encode(sample.data)), "level": .integer(Int64(level)),
                         "wbits": .integer(Int64(wbits))])))
                    let inflated = wbits > 0 ? try Deflate.inflateZlib(compressed) : try Deflate.inflate(compressed)
                    #expect(inflated == sample.data, "\(sample.name) at level \(level), wbits \(wbits)")
                }
            }
        }
    }

    @Test func pythonZlibInflatesWhatWeDeflate() async throws {
        for sample in Self.samples {
            for (wbits, compressed) in [(15, Deflate.deflateZlib(sample.data)), (-15, Deflate.deflate(sample.data))] {
                let output = try await PythonHelper.run(
                    "zlib_crosscheck.py", "decompress",
                    ["data": .string(Base64URL.encode(compressed)), "wbits": .integer(Int64(wbits))])
                #expect(Base64URL.decode(output) == sample.data, "\(sample.name), wbits \(wbits)")
                #expect(try Deflate.inflate(Deflate.deflate(sample.data)) == sample.data)
            }
        }
    }

    @Test func rejectsCorruptOrOversizedData() throws {
        let compressed = Deflate.deflateZlib(Data(repeating: 7, count: 1000))
        var badChecksum = compressed
        badChecksum[badChecksum.count - 1] ^= 1
        #expect(throws: Deflate.DataError.self) { try Deflate.inflateZlib(badChecksum) }
        #expect(throws: Deflate.DataError.self) { try Deflate.inflateZlib(compressed.dropLast(5)) }
        #expect(throws: Deflate.DataError.self) { try Deflate.inflateZlib(Data([0x78, 0x02]) + compressed.dropFirst(2)) }
        #expect(throws: Deflate.DataError.self) { try Deflate.inflateZlib(compressed, maxOutputSize: 999) }
        #expect(throws: Deflate.DataError.self) { try Deflate.inflate(Data([0x07])) }  // block type 3
    }

    // MARK: - Status list

    @Test func readsTheIETFExampleLists() throws {
        // draft-ietf-oauth-status-list, the 1-bit and 2-bit examples.
        let oneBit = try StatusList(bits: 1, compressedList: "eNrbuRgAAhcBXQ")
        #expect((0..<16).map { oneBit.value(at: $0) } == [1, 0, 0, 1, 1, 1, 0, 1, 1, 1, 0, 0, 0, 1, 0, 1])
        #expect(oneBit.value(at: 16) == nil)
        #expect(oneBit.value(at: Int.max) == nil)
        #expect(oneBit.value(at: -1) == nil)

        let twoBits = try StatusList(bits: 2, compressedList: "eNo76fITAAPfAgc")
        #expect((0..<12).map { twoBits.value(at: $0) } == [1, 2, 0, 3, 0, 1, 0, 1, 1, 2, 3, 3])
        #expect(try StatusList(bits: 2, values: [1, 2, 0, 3, 0, 1, 0, 1, 1, 2, 3, 3]).bytes == Data([0xC9, 0x44, 0xF9]))
    }

    @Test func packsAndReadsEveryWidth() throws {
        for bits in [1, 2, 4, 8] {
            let values = (0..<37).map { $0 * 7 % (1 << bits) }
            let list = try StatusList(bits: bits, values: values)
            let decoded = try StatusList(bits: bits, compressedList: list.compressedList)
            #expect(decoded == list)
            #expect((0..<37).map { decoded.value(at: $0) } == values)
        }
        #expect(throws: StatusListError.self) { try StatusList(bits: 3, values: [0]) }
        #expect(throws: StatusListError.self) { try StatusList(bits: 1, values: [2]) }
    }

    @Test func verifiesASignedStatusListToken() async throws {
        let issuerKey = P256.Signing.PrivateKey()
        let did = DIDJWK.did(for: issuerKey.publicKey)
        let uri = "https://status.example.ch/list/1.jwt"
        let now = Date()
        let token = try StatusList.make(
            bits: 1, values: [0, 1, 0], uri: uri, keyID: did + "#0", signingKey: issuerKey, iat: now,
            exp: now.addingTimeInterval(600), ttl: 60)
        let jws = try CompactJWS(parsing: token)
        #expect(jws.type == "statuslist+jwt")
        #expect(try jws.claims()["ttl"] == 60)

        let list = try await StatusList.verify(
            jwt: token, uri: uri, credentialIssuerDID: did, resolver: DIDJWKResolver(), now: now)
        #expect(list.value(at: 1) == 1)

        await #expect(throws: StatusListError.self) {
            try await StatusList.verify(jwt: token, uri: uri + "x", credentialIssuerDID: did, resolver: DIDJWKResolver())
        }
        await #expect(throws: StatusListError.self) {
            try await StatusList.verify(
                jwt: token, uri: uri, credentialIssuerDID: did, resolver: DIDJWKResolver(), now: now.addingTimeInterval(601))
        }
        let otherIssuer = DIDJWK.did(for: P256.Signing.PrivateKey().publicKey)
        await #expect(throws: StatusListError.self) {
            try await StatusList.verify(jwt: token, uri: uri, credentialIssuerDID: otherIssuer, resolver: DIDJWKResolver())
        }
        // An issuer DID that is only a prefix of the signer's (as did:web:issuer.example is of did:web:issuer.example.evil.org).
        await #expect(throws: StatusListError.self) {
            try await StatusList.verify(jwt: token, uri: uri, credentialIssuerDID: String(did.dropLast(3)), resolver: DIDJWKResolver(), now: now)
        }
        let retyped = replacingHeader(of: token, with: ["alg": "ES256", "typ": "JWT", "kid": .string(did + "#0")])
        await #expect(throws: StatusListError.self) {
            try await StatusList.verify(jwt: retyped, uri: uri, credentialIssuerDID: did, resolver: DIDJWKResolver())
        }
    }

    @Test func tokenCheckerOnlyFetchesAcceptedHTTPSLocationsOfLimitedSize() async throws {
        let issuerKey = P256.Signing.PrivateKey()
        let did = DIDJWK.did(for: issuerKey.publicKey)
        let uri = "https://Status.Example.CH/list/1.jwt"
        let token = try StatusList.make(
            bits: 8, values: [0, 42], uri: uri, keyID: did + "#0", signingKey: issuerKey, iat: Date(),
            exp: Date().addingTimeInterval(600))
        let checker = TokenStatusListChecker(resolver: DIDJWKResolver(), acceptedHosts: ["status.example.ch"]) { _ in token }
        #expect(try await checker.status(uri: uri, index: 1, issuerDID: did, now: Date()) == 42)
        await #expect(throws: StatusListError.self) {
            try await checker.status(uri: "http://status.example.ch/list/1.jwt", index: 1, issuerDID: did, now: Date())
        }
        let small = TokenStatusListChecker(resolver: DIDJWKResolver(), acceptedHosts: ["status.example.ch"], maxTokenSize: 100) { _ in token }
        await #expect(throws: StatusListError.self) { try await small.status(uri: uri, index: 1, issuerDID: did, now: Date()) }
    }
}
