import Crypto
import Foundation
import KychCore
import KychSDJWT

/// What a request offers for DPoP (RFC 9449): its `DPoP` header values and where it was sent.
package struct DPoPPresentation: Sendable, Equatable {
    /// Every `DPoP` header value of the request (exactly one is accepted).
    package var proofs: [String]
    /// The request's method, e.g. `POST`.
    package var method: String
    /// The request's path without query, e.g. `/token`; the proof's `htu` must be `BASE_URL` + this path.
    package var path: String

    package init(proofs: [String], method: String, path: String) {
        self.proofs = proofs
        self.method = method
        self.path = path
    }
}

/// A DPoP proof that passed every check: the RFC 7638 thumbprint of the key that signed it.
package struct DPoPProof: Sendable, Equatable {
    package var jkt: String
}

/// Why a DPoP proof was refused: `invalid_dpop_proof`, or `use_dpop_nonce` when it lacked a valid server nonce
/// (RFC 9449 §8); `reason` is for `error_description` and never contains the proof.
package struct DPoPRefusal: Error, Sendable, Equatable {
    package var error: String
    package var reason: String

    static func invalid(_ reason: String) -> DPoPRefusal { DPoPRefusal(error: "invalid_dpop_proof", reason: reason) }

    /// The answer at the token, revocation and introspection endpoints (RFC 9449 §5, §8).
    package var atAuthorizationServer: FlowError { .oauth(status: 400, error: error, description: reason) }

    /// The answer at a resource endpoint: 401 with a `DPoP` challenge (RFC 9449 §7.1, §9).
    package var atResource: FlowError {
        .oauth(status: 401, error: error, description: reason, wwwAuthenticate: DPoPProofChecker.challenge(error: error, description: reason))
    }
}

/// Checks DPoP proofs (RFC 9449 §4.3): `typ: dpop+jwt`, an asymmetric `alg`, a public `jwk` in the header that
/// verifies the signature, `htm`/`htu` naming this request, `iat` within ``lifetime``, a `jti` used once across
/// every instance on the database (``FlowStore/recordOnce(_:expiresAt:now:)``), `ath` at resource endpoints and,
/// for clients with `REQUIRE_DPOP_NONCE`, one of ``nonces``.
package struct DPoPProofChecker: Sendable {
    /// `BASE_URL`: a proof's `htu` is this plus the request's path; without it no proof is accepted.
    let baseURL: String?
    /// `DPOP_PROOF_LIFETIME_SECONDS`: how old a proof's `iat` may be (and how long its `jti` is remembered).
    let lifetime: TimeInterval
    let store: any FlowStore
    package let nonces: DPoPNonces
    let now: @Sendable () -> Date

    /// How far a proof's `iat` may lie in the future: the client's clock may run a little ahead of ours.
    static let clockSkew: TimeInterval = 5
    /// A proof longer than this is refused before it is parsed (an RSA-4096 proof is well below it).
    static let maximumLength = 8192

    package init(baseURL: String?, lifetimeSeconds: Int, store: any FlowStore, now: @escaping @Sendable () -> Date) {
        self.baseURL = baseURL
        lifetime = TimeInterval(lifetimeSeconds)
        self.store = store
        nonces = DPoPNonces(key: SharedKey(name: "dpop-nonce-v1", store: store))
        self.now = now
    }

    /// Whether proofs can be checked at all: `htu` is checked against BASE_URL.
    package var isAvailable: Bool { baseURL != nil }

    /// The `WWW-Authenticate` challenge of a DPoP-bound token's refusal, naming the algorithms accepted.
    package static func challenge(error: String, description: String) -> String {
        "DPoP realm=\"kych\", error=\"\(error)\", error_description=\"\(description)\", algs=\"\(ClientSignedJWT.algorithms.joined(separator: " "))\""
    }

    /// Checks the request's proof; nil when it sent none. `accessToken`: the token presented with it at a resource
    /// endpoint (the proof must then carry its `ath`). `requireNonce`: the client has `REQUIRE_DPOP_NONCE`.
    package func check(_ presentation: DPoPPresentation?, accessToken: String? = nil,
                       requireNonce: Bool) async throws -> DPoPProof? {
        guard let presentation, !presentation.proofs.isEmpty else { return nil }
        guard presentation.proofs.count == 1, let proof = presentation.proofs.first, !proof.contains(",") else {
            throw DPoPRefusal.invalid("send exactly one DPoP header")
        }
        guard proof.utf8.count <= Self.maximumLength else { throw DPoPRefusal.invalid("the DPoP proof is too long") }
        guard let baseURL else { throw DPoPRefusal.invalid("DPoP is not available: the server has no BASE_URL to check htu against") }
        let verified: VerifiedJWT, jkt: String
        do {
            let header = try ClientSignedJWT.header(of: proof)
            guard header["typ"]?.stringValue?.lowercased() == "dpop+jwt" else { throw JWTRefusal("the DPoP proof's typ must be dpop+jwt") }
            guard let alg = header["alg"]?.stringValue, ClientSignedJWT.algorithms.contains(alg) else {
                throw JWTRefusal("the DPoP proof's alg must be one of " + ClientSignedJWT.algorithms.joined(separator: ", "))
            }
            guard let jwk = header["jwk"]?.objectValue else { throw JWTRefusal("the DPoP proof's header has no jwk") }
            guard !ClientSignedJWT.hasPrivateMembers(jwk) else { throw JWTRefusal("the DPoP proof's jwk must be a public key") }
            verified = try await ClientSignedJWT.verify(proof, key: jwk)
            jkt = try ClientSignedJWT.thumbprint(of: jwk)
        } catch let refusal as JWTRefusal {
            throw DPoPRefusal.invalid(refusal.reason)
        }
        try checkClaims(verified, url: baseURL + presentation.path, method: presentation.method, accessToken: accessToken)
        let now = now()
        let iat = Date(timeIntervalSince1970: TimeInterval(verified.integer("iat") ?? 0))
        if requireNonce {
            guard let nonce = verified.string("nonce"), try await nonces.accepts(nonce, now: now) else {
                throw DPoPRefusal(error: "use_dpop_nonce", reason: "this client's DPoP proofs must carry the nonce of the DPoP-Nonce header")
            }
        }
        let jti = verified.string("jti") ?? ""
        guard try await store.recordOnce(Secrets.sha256("dpop\u{0}" + jkt + "\u{0}" + jti),
                                         expiresAt: iat.addingTimeInterval(lifetime + Self.clockSkew), now: now) else {
            throw DPoPRefusal.invalid("the DPoP proof was used before (its jti is spent)")
        }
        return DPoPProof(jkt: jkt)
    }

    /// At `/token`, `/revoke` and `/introspect`: the request's proof checked for `client`, nil without one; refusals
    /// answer 400.
    package func proof(for request: TokenRequest, client: Client) async throws -> DPoPProof? {
        do {
            return try await check(request.dpop, requireNonce: client.security.requireDPoPNonce)
        } catch let refusal as DPoPRefusal {
            throw refusal.atAuthorizationServer
        }
    }

    /// The claims that need no database: `jti`, `htm`, `htu`, `iat`, `ath`.
    private func checkClaims(_ proof: VerifiedJWT, url: String, method: String, accessToken: String?) throws(DPoPRefusal) {
        guard let jti = proof.string("jti"), !jti.isEmpty, jti.utf8.count <= 256 else {
            throw .invalid("the DPoP proof needs a jti of 1 to 256 characters")
        }
        guard proof.string("htm") == method else { throw .invalid("the DPoP proof's htm is not this request's method (\(method))") }
        guard let htu = proof.string("htu"), let presented = Self.normalized(htu), presented == Self.normalized(url) else {
            throw .invalid("the DPoP proof's htu is not this request's URL (\(url))")
        }
        guard let iat = proof.integer("iat") else { throw .invalid("the DPoP proof has no iat") }
        let age = now().timeIntervalSince1970 - TimeInterval(iat)
        guard age <= lifetime else { throw .invalid("the DPoP proof is too old (iat more than \(Int(lifetime)) seconds ago)") }
        guard age >= -Self.clockSkew else { throw .invalid("the DPoP proof's iat is in the future") }
        if let accessToken {
            guard let ath = proof.string("ath") else { throw .invalid("the DPoP proof has no ath (the access token's hash)") }
            guard Secrets.constantTimeEqual(ath, Base64URL.encode(SHA256.hash(data: Data(accessToken.utf8)))) else {
                throw .invalid("the DPoP proof's ath is not the hash of this access token")
            }
        }
    }

    /// An HTTP(S) URI without query and fragment, normalized as RFC 9449 §4.3 asks (RFC 3986 §6.2.2, §6.2.3): scheme
    /// and host in lower case, no default port, an empty path as `/`, percent-encoding in upper case and unreserved
    /// characters decoded. nil when it is no such URI.
    static func normalized(_ uri: String) -> String? {
        guard let components = URLComponents(string: uri), let scheme = components.scheme?.lowercased(),
              scheme == "https" || scheme == "http", let host = components.percentEncodedHost?.lowercased(), !host.isEmpty,
              components.user == nil else { return nil }
        let port = components.port.flatMap { (scheme == "https" && $0 == 443) || (scheme == "http" && $0 == 80) ? nil : $0 }
        var path = ""
        var bytes = Substring(components.percentEncodedPath)
        while let first = bytes.first {
            if first == "%", bytes.count >= 3, let value = UInt8(bytes.dropFirst().prefix(2), radix: 16) {
                let character = Character(Unicode.Scalar(value))
                path += character.isASCII && (character.isLetter || character.isNumber || "-._~".contains(character))
                    ? String(character) : "%" + String(format: "%02X", value)
                bytes = bytes.dropFirst(3)
            } else {
                path.append(first)
                bytes = bytes.dropFirst()
            }
        }
        return scheme + "://" + host + (port.map { ":\($0)" } ?? "") + (path.isEmpty ? "/" : path)
    }
}

/// Stateless DPoP server nonces (RFC 9449 §8): a time step and an HMAC of it under a key every instance shares, so any
/// instance accepts the nonce another one issued, for the current step and the one before (``step`` to twice that).
package struct DPoPNonces: Sendable {
    let key: SharedKey
    static let step: TimeInterval = 300

    /// The nonce to hand out now (`DPoP-Nonce` header).
    package func current(now: Date) async throws -> String {
        try await nonce(step: Int64(now.timeIntervalSince1970 / Self.step), now: now)
    }

    /// Whether `nonce` was issued in the current or the previous step.
    func accepts(_ nonce: String, now: Date) async throws -> Bool {
        let current = Int64(now.timeIntervalSince1970 / Self.step)
        for step in [current, current - 1] {
            if Secrets.constantTimeEqual(nonce, try await self.nonce(step: step, now: now)) { return true }
        }
        return false
    }

    private func nonce(step: Int64, now: Date) async throws -> String {
        let counter = withUnsafeBytes(of: step.bigEndian) { Data($0) }
        let mac = HMAC<SHA256>.authenticationCode(for: Data("dpop-nonce".utf8) + counter, using: try await key.key(now: now))
        return Base64URL.encode(counter + Data(mac).prefix(16))
    }
}
