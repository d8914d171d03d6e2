import Foundation
import KychFuzzSupport
import KychSDJWT

/// `StatusList.verify`: a status list token fetched for a credential. The first byte picks the mode: even, the rest
/// is verified as fetched (an accepted token must carry the issuer key's signature); odd, its header and payload are
/// signed again with the issuer key first, so that the fuzzer reaches the claims and the list. Checks on an accepted
/// list: every status fits in `bits`, the index past the end has none, and packing the statuses again gives the
/// same bytes.
@main enum StatusListTarget: FuzzTarget {
    static let name = "statuslist"

    static func run(_ input: Data) -> Bool {
        guard let mode = input.first else { return false }
        var token = String(decoding: input.dropFirst(), as: UTF8.self)
        if mode & 1 == 1, let jws = try? CompactJWS(parsing: token),
           let signed = try? CompactJWS.sign(payload: jws.payload, header: jws.header, using: FuzzFixtures.issuerKey) {
            token = signed
        }
        let result = runBlocking { [token] () -> StatusList? in
            try? await StatusList.verify(jwt: token, uri: FuzzFixtures.statusListURI, credentialIssuerDID: FuzzFixtures.issuerDID,
                                         resolver: DIDJWKResolver(), now: FuzzFixtures.now)
        }
        guard let list = result else { return false }
        let signatureVerifies = (try? CompactJWS(parsing: token).verify(using: FuzzFixtures.issuerKey.publicKey)) != nil
        FuzzCheck.require(signatureVerifies, "accepted a status list token without the issuer key's signature")
        // A list may hold millions of statuses (16 MiB): the checks look at its ends.
        let count = list.bytes.count * 8 / list.bits
        let indices = Array(0..<min(count, 4096)) + Array(max(count - 64, 0)..<count)
        let values = indices.map { list.value(at: $0) }
        FuzzCheck.require(values.allSatisfy { $0.map { (0..<(1 << list.bits)).contains($0) } ?? false }, "a status does not fit")
        FuzzCheck.require(list.value(at: count) == nil && list.value(at: -1) == nil, "a status outside the list")
        if count <= 4096 {
            let repacked = try? StatusList(bits: list.bits, values: values.prefix(count).compactMap { $0 })
            FuzzCheck.require(repacked?.bytes == list.bytes, "repacking differs")
        }
        return true
    }

    /// Status list tokens as the test issuer serves them, for each width.
    static func seeds() throws -> [String: Data] {
        var seeds: [String: Data] = [:]
        for bits in [1, 2, 8] {
            let values = (0..<64).map { $0 % (1 << bits) }
            let token = try StatusList.make(
                bits: bits, values: values, uri: FuzzFixtures.statusListURI, keyID: FuzzFixtures.issuerDID + "#0",
                signingKey: FuzzFixtures.issuerKey, iat: FuzzFixtures.now - 60, exp: FuzzFixtures.now + 3600, ttl: 300)
            seeds["token-\(bits)bit"] = Data([0]) + Data(token.utf8)
            seeds["token-\(bits)bit-resigned"] = Data([1]) + Data(token.utf8)
        }
        return seeds
    }
}
