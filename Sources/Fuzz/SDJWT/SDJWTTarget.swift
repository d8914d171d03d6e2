import Crypto
import Foundation
import KychFuzzSupport
import KychSDJWT

/// `SDJWT`, `Disclosure`, `CompactJWS`, did:jwk and `SDJWTVerifier`: a wallet's presentation. The first byte picks
/// the mode: even, the rest is verified as sent (no input the fuzzer makes can carry a new signature, so an accepted
/// one must verify with the fixture keys); odd, the issuer JWT and KB-JWT are signed again with the fixture keys (and
/// `sd_hash` recomputed) first, so that the fuzzer reaches the disclosure, status and claim checks. Bit 1 adds a
/// claim query. Checks: a parsed SD-JWT serializes to its text; an accepted one has its issuer signature by the
/// issuer key and its KB-JWT by the holder key, the accepted issuer and vct, and no `_sd` or `_sd_alg` left.
@main enum SDJWTTarget: FuzzTarget {
    static let name = "sdjwt"

    static func run(_ input: Data) -> Bool {
        guard let mode = input.first else { return false }
        let text = String(decoding: input.dropFirst(), as: UTF8.self)
        if let parsed = try? SDJWT(parsing: text) {
            FuzzCheck.require(parsed.serialized == text, "SDJWT(parsing:).serialized differs from the text")
            for encoded in parsed.disclosures {
                if let disclosure = try? Disclosure(parsing: encoded) {
                    FuzzCheck.require(disclosure.encoded == encoded, "a disclosure keeps its encoded form")
                }
            }
        }
        let presentation = mode & 1 == 0 ? text : resigned(text)
        var requirements = PresentationRequirements(
            vctValues: [FuzzFixtures.vct], acceptedIssuerDIDs: [FuzzFixtures.issuerDID],
            audience: FuzzFixtures.clientID, nonce: FuzzFixtures.nonce)
        if mode & 2 != 0 { requirements.claims = [ClaimQuery(path: ["nationalities", nil], values: ["CH"])] }
        let verifier = SDJWTVerifier(resolver: DIDJWKResolver(), statusListChecker: FixedStatus())
        let result = runBlocking { [requirements] () -> Result<VerifiedSDJWT, VerificationFailure> in
            do throws(VerificationFailure) {
                return .success(try await verifier.verify(presentation, requirements: requirements, now: FuzzFixtures.now))
            } catch {
                return .failure(error)
            }
        }
        guard case .success(let verified) = result else { return false }
        checkAccepted(presentation, verified)
        return true
    }

    static func checkAccepted(_ presentation: String, _ verified: VerifiedSDJWT) {
        guard let sdJWT = try? SDJWT(parsing: presentation),
              let issuerJWT = try? CompactJWS(parsing: sdJWT.issuerSignedJWT),
              (try? issuerJWT.verify(using: FuzzFixtures.issuerKey.publicKey)) != nil
        else { fatalError("invariant broken: accepted without the issuer key's signature") }
        if let keyBindingJWT = sdJWT.keyBindingJWT {
            let verifies = (try? CompactJWS(parsing: keyBindingJWT).verify(using: FuzzFixtures.holderKey.publicKey)) != nil
            FuzzCheck.require(verifies, "accepted a KB-JWT not signed by the holder key")
        }
        FuzzCheck.require(verified.issuerDID == FuzzFixtures.issuerDID, "accepted issuer \(verified.issuerDID)")
        FuzzCheck.require(verified.vct == FuzzFixtures.vct, "accepted vct \(verified.vct)")
        FuzzCheck.require(verified.claims["_sd_alg"] == nil && !containsSD(.object(verified.claims)), "_sd left in the claims")
    }

    static func containsSD(_ value: JSONValue) -> Bool {
        switch value {
        case .object(let members): members["_sd"] != nil || members.values.contains(where: containsSD)
        case .array(let elements): elements.contains(where: containsSD)
        default: false
        }
    }

    /// `text` with its issuer JWT signed by the issuer key and its KB-JWT, `sd_hash` renewed, by the holder key;
    /// parts that do not parse stay as they are.
    static func resigned(_ text: String) -> String {
        guard let sdJWT = try? SDJWT(parsing: text), let issuerJWT = try? CompactJWS(parsing: sdJWT.issuerSignedJWT),
              let signed = try? CompactJWS.sign(payload: issuerJWT.payload, header: issuerJWT.header, using: FuzzFixtures.issuerKey)
        else { return text }
        let presented = SDJWT(issuerSignedJWT: signed, disclosures: sdJWT.disclosures)
        guard let keyBindingJWT = sdJWT.keyBindingJWT else { return presented.serialized }
        guard let kb = try? CompactJWS(parsing: keyBindingJWT), var claims = try? kb.claims() else {
            return presented.withoutKeyBinding + keyBindingJWT
        }
        claims["sd_hash"] = .string(Base64URL.encode(SHA256.hash(data: Data(presented.withoutKeyBinding.utf8))))
        let renewed = (try? CompactJWS.sign(claims: claims, header: kb.header, using: FuzzFixtures.holderKey)) ?? keyBindingJWT
        return presented.withoutKeyBinding + renewed
    }

    /// Statuses without a network: index 1 revoked, 2 suspended, 3 unresolvable, others valid.
    struct FixedStatus: StatusListChecker {
        func status(uri: String, index: Int, issuerDID: String, now: Date) async throws -> Int {
            guard index != 3 else { throw StatusListError("unresolvable") }
            return index < 3 ? index : 0
        }
    }

    /// An issuance with every claim selectively disclosable (recursive and array-element disclosures included) and
    /// presentations of it: with all, some and no disclosures, each verified as sent and signed again.
    static func seeds() throws -> [String: Data] {
        let claims: [String: JSONValue] = [
            "given_name": "Erika", "family_name": "Mustermann", "birth_date": "1990-01-01",
            "nationalities": ["CH", "DE"], "address": ["street": "Bahnhofstrasse 1", "locality": "Zürich"],
        ]
        let issued = try SDJWTIssuer.issue(
            claims: claims,
            selectivelyDisclosable: ["given_name", "family_name", "birth_date", "address", ["address", "street"],
                                     ["nationalities", nil]],
            vct: FuzzFixtures.vct, issuerDID: FuzzFixtures.issuerDID, issuerKey: FuzzFixtures.issuerKey,
            holderKey: FuzzFixtures.holderKey.publicKey,
            status: StatusReference(uri: FuzzFixtures.statusListURI, index: 7), iat: FuzzFixtures.now,
            exp: FuzzFixtures.now + 3600, decoyDigests: 2)
        func present(_ names: Set<String>) throws -> String {
            try SDJWTPresentation.make(sdJWT: issued, disclosing: names, holderKey: FuzzFixtures.holderKey,
                                       audience: FuzzFixtures.clientID, nonce: FuzzFixtures.nonce, iat: FuzzFixtures.now)
        }
        let presentations = [
            "all": try present(["given_name", "family_name", "birth_date", "address", "street"]),
            "some": try present(["given_name"]),
            "none": try present([]),
            "issuance": issued,
        ]
        var seeds: [String: Data] = [:]
        for (name, text) in presentations {
            seeds["\(name)-as-sent"] = Data([0]) + Data(text.utf8)
            seeds["\(name)-resigned-claims"] = Data([3]) + Data(text.utf8)
        }
        return seeds
    }
}
