import Crypto
import Foundation

/// Why a status list could not be used.
package struct StatusListError: Error, Sendable, CustomStringConvertible {
    package let description: String
    package init(_ description: String) { self.description = description }
}

/// A Token Status List (IETF draft-ietf-oauth-status-list): one `bits`-wide status per token,
/// packed least-significant bit first. In a status list token it travels as
/// `status_list: {bits, lst}` with `lst = base64url(zlib(bytes))`.
package struct StatusList: Sendable, Equatable {
    /// Bits per status: 1, 2, 4 or 8.
    package let bits: Int
    /// The packed statuses.
    package let bytes: Data

    static let allowedBits: Set<Int> = [1, 2, 4, 8]

    /// Packs `values`; each must fit in `bits`.
    package init(bits: Int, values: [Int]) throws(StatusListError) {
        guard Self.allowedBits.contains(bits) else { throw StatusListError("bits must be 1, 2, 4 or 8") }
        guard values.allSatisfy({ (0..<(1 << bits)).contains($0) }) else {
            throw StatusListError("a status value does not fit in \(bits) bits")
        }
        var bytes = [UInt8](repeating: 0, count: (values.count * bits + 7) / 8)
        for (index, value) in values.enumerated() {
            bytes[index * bits / 8] |= UInt8(value << (index * bits % 8))
        }
        self.bits = bits
        self.bytes = Data(bytes)
    }

    /// Decodes the `lst` member of a status list token.
    package init(bits: Int, compressedList lst: String, maxSize: Int = 16 << 20) throws(StatusListError) {
        guard Self.allowedBits.contains(bits) else { throw StatusListError("bits must be 1, 2, 4 or 8") }
        guard let compressed = Base64URL.decode(lst) else { throw StatusListError("lst is not base64url") }
        do {
            bytes = try Deflate.inflateZlib(compressed, maxOutputSize: maxSize)
        } catch {
            throw StatusListError("lst does not decompress: \(error)")
        }
        self.bits = bits
    }

    /// The `lst` value: base64url of the zlib-wrapped bytes.
    package var compressedList: String {
        Base64URL.encode(Deflate.deflateZlib(bytes))
    }

    /// The status at `index`: `(byte[index*bits/8] >> ((index*bits) % 8)) & ((1 << bits) - 1)`,
    /// or `nil` when the list is too short.
    package func value(at index: Int) -> Int? {
        guard index >= 0, index < bytes.count * 8 / bits else { return nil }
        let byte = Int(bytes[bytes.startIndex + index * bits / 8])
        return (byte >> (index * bits % 8)) & ((1 << bits) - 1)
    }

    /// Builds and signs a status list token (`typ: statuslist+jwt`) whose `sub` is `uri`.
    package static func make(
        bits: Int,
        values: [Int],
        uri: String,
        keyID: String,
        signingKey: P256.Signing.PrivateKey,
        iat: Date,
        exp: Date,
        ttl: Int? = nil
    ) throws -> String {
        let list = try StatusList(bits: bits, values: values)
        var claims: [String: JSONValue] = [
            "sub": .string(uri),
            "iat": .integer(epochSeconds(iat)),
            "exp": .integer(epochSeconds(exp)),
            "status_list": ["bits": .integer(Int64(bits)), "lst": .string(list.compressedList)],
        ]
        if let ttl { claims["ttl"] = .integer(Int64(ttl)) }
        return try CompactJWS.sign(
            claims: claims, header: ["typ": "statuslist+jwt", "kid": .string(keyID)], using: signingKey)
    }

    /// Verifies a status list token for a credential whose issuer (the DID of its `kid`) is
    /// `credentialIssuerDID` (a DID, or an https issuer identifier): `typ` is `statuslist+jwt`, the token's issuer (the
    /// DID of its `kid`, or else its https `iss`) is the credential's and its key verifies the ES256 signature, `sub` equals `uri`, `iat` is present,
    /// `exp` is present and not passed, `ttl` (if any) is positive, and `status_list` is valid.
    package static func verify(
        jwt: String,
        uri: String,
        credentialIssuerDID: String,
        resolver: any DIDResolver,
        now: Date = Date()
    ) async throws(StatusListError) -> StatusList {
        let jws: CompactJWS
        let claims: [String: JSONValue]
        do {
            jws = try CompactJWS(parsing: jwt)
            claims = try jws.claims()
        } catch {
            throw StatusListError("status list token is not a JWT: \(error)")
        }
        guard jws.type == "statuslist+jwt" else { throw StatusListError("status list token typ must be statuslist+jwt") }
        // The whole DID must be the issuer's: a prefix match would let did:web:issuer.example.evil.org sign for did:web:issuer.example.
        guard let kid = jws.keyID, issuer(ofKeyID: kid, claims: claims) == credentialIssuerDID else {
            throw StatusListError("status list token kid does not belong to the credential issuer")
        }
        do {
            try jws.verify(using: try await resolver.issuerKey(kid, issuer: credentialIssuerDID))
        } catch {
            throw StatusListError("status list token signature: \(error)")
        }
        guard claims["sub"]?.stringValue == uri else { throw StatusListError("status list token sub does not match the uri") }
        guard claims["iat"]?.doubleValue != nil else { throw StatusListError("status list token has no iat") }
        guard let exp = claims["exp"]?.doubleValue else { throw StatusListError("status list token has no exp") }
        guard now.timeIntervalSince1970 < exp else { throw StatusListError("status list token has expired") }
        if let ttl = claims["ttl"] {
            guard let seconds = ttl.doubleValue, seconds > 0 else { throw StatusListError("status list token ttl must be positive") }
        }
        guard let statusList = claims["status_list"]?.objectValue,
              let bits = statusList["bits"]?.int64Value,
              let lst = statusList["lst"]?.stringValue
        else { throw StatusListError("status list token has no valid status_list") }
        return try StatusList(bits: Int(bits), compressedList: lst)
    }
}

/// Looks up the status of a credential listed at `index` in the status list at `uri`.
/// Any error thrown makes the verifier report `unresolvable_status_list`.
package protocol StatusListChecker: Sendable {
    func status(uri: String, index: Int, issuerDID: String, now: Date) async throws -> Int
}

/// A `StatusListChecker` for token status lists. It only accepts `https` URIs on `acceptedHosts`
/// (compared case-insensitively),
/// fetches the token through `fetch`, limits its size, and checks it with `StatusList.verify`.
package struct TokenStatusListChecker: StatusListChecker {
    package let resolver: any DIDResolver
    package let acceptedHosts: Set<String>
    package let maxTokenSize: Int
    package let fetch: @Sendable (URL) async throws -> String

    package init(
        resolver: any DIDResolver,
        acceptedHosts: Set<String>,
        maxTokenSize: Int = 200 * 1024,
        fetch: @escaping @Sendable (URL) async throws -> String
    ) {
        self.resolver = resolver
        self.acceptedHosts = Set(acceptedHosts.map { $0.lowercased() })
        self.maxTokenSize = maxTokenSize
        self.fetch = fetch
    }

    package func status(uri: String, index: Int, issuerDID: String, now: Date) async throws -> Int {
        guard let url = URL(string: uri), url.scheme?.lowercased() == "https",
              let host = url.host?.lowercased(), acceptedHosts.contains(host)
        else { throw StatusListError("status list uri is not an accepted https location") }
        let token = try await fetch(url)
        guard token.utf8.count <= maxTokenSize else { throw StatusListError("status list token is too large") }
        let list = try await StatusList.verify(
            jwt: token, uri: uri, credentialIssuerDID: issuerDID, resolver: resolver, now: now)
        guard let value = list.value(at: index) else { throw StatusListError("status list index out of range") }
        return value
    }
}

/// Whole seconds since 1970 (the JWT NumericDate form this library writes).
func epochSeconds(_ date: Date) -> Int64 {
    Int64(date.timeIntervalSince1970.rounded(.down))
}
