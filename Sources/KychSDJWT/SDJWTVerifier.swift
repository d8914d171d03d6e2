import Crypto
import Foundation

/// One requested claim of a DCQL credential query: the path must select something, and when
/// `values` is given one selected value must equal one of them (numbers compare by value).
package struct ClaimQuery: Sendable, Hashable {
    package var path: ClaimPath
    package var values: [JSONValue]?

    package init(path: ClaimPath, values: [JSONValue]? = nil) {
        self.path = path
        self.values = values
    }
}

/// What one presented SD-JWT VC must satisfy: a DCQL credential query plus the parameters of
/// the verification it answers.
package struct PresentationRequirements: Sendable {
    /// The DCQL `format`; `dc+sd-jwt` and `vc+sd-jwt` both accept either SD-JWT `typ`.
    package var format: String
    /// DCQL `meta.vct_values`.
    package var vctValues: [String]
    /// Issuers trusted for this verification: DIDs, matched against the DID of the header `kid`, and https issuer
    /// identifiers (SD-JWT VC §5), matched against the `iss` of a credential whose `kid` is not a DID URL.
    package var acceptedIssuerDIDs: [String]
    /// The KB-JWT `aud` that must match exactly: the verifier's `client_id`, prefix included.
    package var audience: String
    /// The KB-JWT `nonce` (the verification's `request_nonce`).
    package var nonce: String
    /// DCQL `require_cryptographic_holder_binding`.
    package var requireHolderBinding: Bool
    /// DCQL `claims`.
    package var claims: [ClaimQuery]

    package init(
        vctValues: [String],
        acceptedIssuerDIDs: [String],
        audience: String,
        nonce: String,
        requireHolderBinding: Bool = true,
        claims: [ClaimQuery] = [],
        format: String = "dc+sd-jwt"
    ) {
        self.format = format
        self.vctValues = vctValues
        self.acceptedIssuerDIDs = acceptedIssuerDIDs
        self.audience = audience
        self.nonce = nonce
        self.requireHolderBinding = requireHolderBinding
        self.claims = claims
    }
}

/// A presentation that passed every check.
package struct VerifiedSDJWT: Sendable, Equatable {
    /// All issuer-signed claims plus the disclosed ones, with `_sd` and `_sd_alg` removed.
    /// Array elements whose disclosure was not presented stay as their digest strings, as the
    /// swiyu verifier reports them.
    package let claims: [String: JSONValue]
    /// The DID part of the issuer JWT's `kid`, or its https `iss` when the `kid` is not a DID URL.
    package let issuerDID: String
    package let vct: String
}

/// Verifies one SD-JWT VC presentation the way the swiyu Generic Verifier 4.x does (the
/// per-token checks 1–10 of KyCH's swiyu verifier contract, `swiyu-verifier-api.md` §5, in that
/// order); the first failing check decides the `VerificationFailure.Code`. Failures the real
/// verifier leaves unmapped are mapped: an unresolvable issuer key gives
/// `public_key_of_issuer_unresolvable`, a failed claim query `credential_missing_data`.
package struct SDJWTVerifier: Sendable {
    /// The SD-JWT VC header `typ` values accepted: current and legacy.
    package static let sdJWTTypes: Set<String> = ["dc+sd-jwt", "vc+sd-jwt"]
    /// Registered claims that must not be selectively disclosed (SD-JWT VC §3.2.2).
    static let undisclosableClaims: Set<String> = ["iss", "nbf", "exp", "cnf", "vct", "status"]

    package let resolver: any DIDResolver
    /// Reads credential statuses; without one, a credential that has a status fails with
    /// `unresolvable_status_list`.
    package let statusListChecker: (any StatusListChecker)?
    /// How far the KB-JWT `iat` may be from now, either way.
    package let proofTimeWindow: TimeInterval
    /// Leeway for the issuer JWT's `exp` and `nbf` in the signature step.
    package let clockSkew: TimeInterval

    package init(
        resolver: any DIDResolver,
        statusListChecker: (any StatusListChecker)? = nil,
        proofTimeWindow: TimeInterval = 120,
        clockSkew: TimeInterval = 60
    ) {
        self.resolver = resolver
        self.statusListChecker = statusListChecker
        self.proofTimeWindow = proofTimeWindow
        self.clockSkew = clockSkew
    }

    /// Runs all checks on `presentation` (`<issuer-jwt>~<disclosures>~[<kb-jwt>]`).
    package func verify(
        _ presentation: String,
        requirements: PresentationRequirements,
        now: Date = Date()
    ) async throws(VerificationFailure) -> VerifiedSDJWT {
        // 1. SD-JWT syntax.
        let sdJWT: SDJWT
        let jws: CompactJWS
        do {
            sdJWT = try SDJWT(parsing: presentation)
            jws = try CompactJWS(parsing: sdJWT.issuerSignedJWT)
        } catch {
            throw VerificationFailure(.malformedCredential, "not an SD-JWT: \(error)")
        }

        // 2. Issuer JWS header.
        guard jws.algorithm == "ES256" else { throw VerificationFailure(.invalidFormat, "issuer JWT alg must be ES256") }
        guard let typ = jws.type, Self.sdJWTTypes.contains(typ) else {
            throw VerificationFailure(.invalidFormat, "issuer JWT typ must be dc+sd-jwt or vc+sd-jwt")
        }
        guard let kid = jws.keyID, !kid.allSatisfy(\.isWhitespace) else {
            throw VerificationFailure(.malformedCredential, "issuer JWT has no kid")
        }

        // 3. Issuer key and signature.
        // The key of a DID URL kid is its own; any other kid is looked up in the metadata of the (https) iss it claims.
        guard let issuerDID = issuer(ofKeyID: kid, claims: (try? jws.claims()) ?? [:]) else {
            throw VerificationFailure(.publicKeyOfIssuerUnresolvable, "the issuer JWT's kid is not a DID URL and its iss is not an https issuer")
        }
        // An https issuer is known by its claim alone, so an untrusted one is refused before its metadata is fetched.
        if issuerDID != didPart(ofKeyID: kid), !requirements.acceptedIssuerDIDs.contains(issuerDID) {
            throw VerificationFailure(.issuerNotAccepted, "issuer \(issuerDID) is not accepted")
        }
        let payload = try await verifyIssuerJWT(jws, keyID: kid, issuer: issuerDID, now: now)

        // 4. Format match.
        guard Self.sdJWTTypes.contains(requirements.format) || typ == requirements.format else {
            throw VerificationFailure(.invalidPresentationSubmission, "credential typ does not match the requested format")
        }

        // 5. Issuer trust.
        guard requirements.acceptedIssuerDIDs.contains(issuerDID) else {
            throw VerificationFailure(.issuerNotAccepted, "issuer \(issuerDID) is not accepted")
        }

        // 6. Holder binding.
        if let keyBindingJWT = sdJWT.keyBindingJWT {
            try checkKeyBinding(
                keyBindingJWT, payload: payload, presented: sdJWT.withoutKeyBinding, requirements: requirements, now: now)
        } else if requirements.requireHolderBinding {
            throw VerificationFailure(.holderBindingMismatch, "holder binding is required but there is no KB-JWT")
        }

        // 7. Status.
        try await checkStatus(payload, issuerDID: issuerDID, now: now)

        // 8. Disclosures.
        let claims = try resolveDisclosures(sdJWT.disclosures, in: payload)
        try Self.checkValidityPeriod(payload, now: now, leeway: 0, expired: .jwtExpired, premature: .jwtPremature)

        // 9. vct filter.
        guard let vct = claims["vct"]?.stringValue, requirements.vctValues.contains(vct) else {
            throw VerificationFailure(.invalidPresentationSubmission, "No matching SD-JWT for the requested vct values")
        }

        // 10. Requested claims.
        for query in requirements.claims {
            let selected = query.path.select(in: .object(claims))
            guard !selected.isEmpty else {
                throw VerificationFailure(.credentialMissingData, "requested claim \(query.path) is missing")
            }
            if let values = query.values {
                guard selected.contains(where: { found in values.contains { found.numericallyEquals($0) } }) else {
                    throw VerificationFailure(.credentialMissingData, "requested claim \(query.path) has none of the requested values")
                }
            }
        }
        return VerifiedSDJWT(claims: claims, issuerDID: issuerDID, vct: vct)
    }

    private func verifyIssuerJWT(
        _ jws: CompactJWS, keyID: String, issuer: String, now: Date
    ) async throws(VerificationFailure) -> [String: JSONValue] {
        let key: P256.Signing.PublicKey
        do {
            key = try await resolver.issuerKey(keyID, issuer: issuer)
        } catch {
            throw VerificationFailure(.publicKeyOfIssuerUnresolvable, "issuer key \(keyID) cannot be resolved: \(error)")
        }
        let payload: [String: JSONValue]
        do {
            try jws.verify(using: key)
            payload = try jws.claims()
        } catch {
            throw VerificationFailure(.malformedCredential, "issuer JWT: \(error)")
        }
        try Self.checkValidityPeriod(
            payload, now: now, leeway: clockSkew, expired: .malformedCredential, premature: .malformedCredential)
        return payload
    }

    /// Checks `exp` and `nbf` against `now`, allowing `leeway` seconds.
    private static func checkValidityPeriod(
        _ payload: [String: JSONValue],
        now: Date,
        leeway: TimeInterval,
        expired: VerificationFailure.Code,
        premature: VerificationFailure.Code
    ) throws(VerificationFailure) {
        let seconds = now.timeIntervalSince1970
        for name in ["exp", "nbf"] where payload[name] != nil {
            guard let value = payload[name]?.doubleValue else {
                throw VerificationFailure(.malformedCredential, "\(name) must be a number")
            }
            if name == "exp", seconds > value + leeway {
                throw VerificationFailure(expired, "the credential has expired")
            }
            if name == "nbf", seconds < value - leeway {
                throw VerificationFailure(premature, "the credential is not yet valid")
            }
        }
    }

    private func checkKeyBinding(
        _ keyBindingJWT: String,
        payload: [String: JSONValue],
        presented: String,
        requirements: PresentationRequirements,
        now: Date
    ) throws(VerificationFailure) {
        func mismatch(_ reason: String) -> VerificationFailure {
            VerificationFailure(.holderBindingMismatch, reason)
        }
        guard let cnf = payload["cnf"]?.objectValue else { throw mismatch("the credential has no cnf claim") }
        let holderKey: P256.Signing.PublicKey
        do {
            holderKey = try P256PublicJWK(jwk: cnf["jwk"]?.objectValue ?? cnf).signingKey()
        } catch {
            throw mismatch("cnf does not hold a P-256 JWK")
        }
        let jws: CompactJWS
        let claims: [String: JSONValue]
        do {
            jws = try CompactJWS(parsing: keyBindingJWT)
            claims = try jws.claims()
        } catch {
            throw mismatch("the KB-JWT cannot be parsed")
        }
        guard jws.type == "kb+jwt" else { throw mismatch("KB-JWT typ must be kb+jwt") }
        guard jws.algorithm == "ES256" else { throw mismatch("KB-JWT alg must be ES256") }
        do {
            try jws.verify(using: holderKey)
        } catch {
            throw mismatch("the KB-JWT signature does not verify with the cnf key")
        }
        guard let iat = claims["iat"]?.doubleValue, abs(iat - now.timeIntervalSince1970) <= proofTimeWindow else {
            throw mismatch("KB-JWT iat is missing or outside the accepted time window")
        }
        let audiences = claims["aud"].map { $0.arrayValue ?? [$0] } ?? []
        guard audiences.count == 1, audiences[0].stringValue == requirements.audience else {
            throw mismatch("KB-JWT aud must be exactly the verifier's client_id")
        }
        guard claims["nonce"]?.stringValue == requirements.nonce else {
            throw VerificationFailure(.missingNonce, "KB-JWT nonce is missing or wrong")
        }
        guard claims["sd_hash"]?.stringValue == sdHash(presented) else {
            throw mismatch("KB-JWT sd_hash does not match the presentation")
        }
    }

    private func checkStatus(
        _ payload: [String: JSONValue], issuerDID: String, now: Date
    ) async throws(VerificationFailure) {
        guard let reference = payload["status"]?.objectValue?["status_list"] else { return }
        func unresolvable(_ reason: String) -> VerificationFailure {
            VerificationFailure(.unresolvableStatusList, reason)
        }
        guard let uri = reference.objectValue?["uri"]?.stringValue,
              let idx = reference.objectValue?["idx"]?.int64Value, let index = Int(exactly: idx), index >= 0
        else { throw unresolvable("status.status_list needs an integer idx and a uri") }
        guard let statusListChecker else { throw unresolvable("no status list checker is configured") }
        let status: Int
        do {
            status = try await statusListChecker.status(uri: uri, index: index, issuerDID: issuerDID, now: now)
        } catch {
            throw unresolvable("status list \(uri): \(error)")
        }
        switch status {
        case 0: return
        case 1: throw VerificationFailure(.credentialRevoked, "Credential is not valid")
        case 2...: throw VerificationFailure(.credentialSuspended, "Credential is suspended")
        default: throw unresolvable("status list returned an invalid value")
        }
    }

    /// Step 8: checks the disclosures and returns the payload with them applied.
    private func resolveDisclosures(
        _ encodedDisclosures: [String], in payload: [String: JSONValue]
    ) throws(VerificationFailure) -> [String: JSONValue] {
        var resolver = DisclosureResolver()
        for encoded in encodedDisclosures {
            let disclosure: Disclosure
            do {
                disclosure = try Disclosure(parsing: encoded)
            } catch {
                throw VerificationFailure(.malformedCredential, "\(error)")
            }
            if let name = disclosure.name, Self.undisclosableClaims.contains(name) {
                throw VerificationFailure(.malformedCredential, "claim \(name) must not be selectively disclosed")
            }
            guard resolver.byDigest.updateValue(disclosure, forKey: disclosure.digest) == nil else {
                throw VerificationFailure(.malformedCredential, "the same disclosure is presented twice")
            }
        }
        var claims = try resolver.resolveObject(payload)
        if let algorithm = claims.removeValue(forKey: "_sd_alg"), algorithm != "sha-256" {
            throw VerificationFailure(.invalidFormat, "_sd_alg must be sha-256")
        }
        guard resolver.usedDigests.count == encodedDisclosures.count else {
            throw VerificationFailure(.malformedCredential, "a disclosure is not referenced by the credential")
        }
        return claims
    }
}

/// Applies disclosures to a payload (RFC 9901 §7.1 step 3), tracking digests.
private struct DisclosureResolver {
    var byDigest: [String: Disclosure] = [:]
    private(set) var usedDigests = Set<String>()
    private var seenDigests = Set<String>()

    private static func malformed(_ reason: String) -> VerificationFailure {
        VerificationFailure(.malformedCredential, reason)
    }

    private mutating func markSeen(_ digest: String) throws(VerificationFailure) {
        guard seenDigests.insert(digest).inserted else { throw Self.malformed("a digest appears more than once") }
    }

    mutating func resolveObject(_ members: [String: JSONValue]) throws(VerificationFailure) -> [String: JSONValue] {
        var result: [String: JSONValue] = [:]
        for (key, member) in members where key != "_sd" {
            result[key] = try resolve(member)
        }
        guard let sd = members["_sd"] else { return result }
        guard let digests = sd.arrayValue else { throw Self.malformed("_sd must be an array") }
        for entry in digests {
            guard let digest = entry.stringValue else { throw Self.malformed("_sd entries must be strings") }
            try markSeen(digest)
            guard let disclosure = byDigest[digest] else { continue }
            guard let name = disclosure.name else { throw Self.malformed("an array-element disclosure is referenced from _sd") }
            guard name != "_sd", name != "..." else { throw Self.malformed("a disclosure must not be named _sd or ...") }
            guard result[name] == nil else { throw Self.malformed("disclosed claim \(name) already exists") }
            usedDigests.insert(digest)
            result[name] = try resolve(disclosure.value)
        }
        return result
    }

    private mutating func resolve(_ value: JSONValue) throws(VerificationFailure) -> JSONValue {
        switch value {
        case .object(let members):
            return .object(try resolveObject(members))
        case .array(let elements):
            var result: [JSONValue] = []
            for element in elements {
                guard let digest = arrayElementDigest(element) else {
                    result.append(try resolve(element))
                    continue
                }
                try markSeen(digest)
                guard let disclosure = byDigest[digest] else {
                    result.append(.string(digest))
                    continue
                }
                guard disclosure.name == nil else { throw Self.malformed("a claim disclosure is referenced as an array element") }
                usedDigests.insert(digest)
                result.append(try resolve(disclosure.value))
            }
            return .array(result)
        default:
            return value
        }
    }
}
