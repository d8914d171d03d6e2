import Crypto
import Foundation
import KychSDJWT
import Testing

/// Runs a Python helper from `Fixtures/` with a JSON request on stdin and returns its stdout.
/// Python is an independent implementation for cross-checks only; when it or a package is
/// missing, the call throws, so the test fails with the helper's message.
enum PythonHelper {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures")

    static func run(_ script: String, _ command: String, _ request: [String: JSONValue]) async throws -> String {
        let result: ProcessResult
        do {
            result = try await Run.program("/usr/bin/env", ["python3", fixtures.appendingPathComponent(script).path, command],
                                     input: JSONText.serialize(request))
        } catch {
            throw Failure(description: "cannot start python3 for \(script): \(error)")
        }
        guard result.status == 0 else {
            throw Failure(description: """
                \(script) \(command) exited with \(result.status); the cross-check needs python3 \
                with the PyPI packages joserfc and sd-jwt. stderr: \(result.stderr)
                """)
        }
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

/// A private P-256 JWK (`d` added to the public members), for handing test keys to Python.
func privateJWK(_ publicJWK: P256PublicJWK, d: Data) -> JSONValue {
    var members = publicJWK.jsonObject
    members["d"] = .string(Base64URL.encode(d))
    return .object(members)
}

/// Replaces the protected header of a compact JWS, keeping payload and signature.
func replacingHeader(of jws: String, with header: [String: JSONValue]) -> String {
    ([Base64URL.encode(JSONText.serialize(header))] + jws.split(separator: ".", omittingEmptySubsequences: false).dropFirst().map(String.init))
        .joined(separator: ".")
}

/// One issuer, one holder and a verifier, with an in-memory status list registry.
struct SDJWTScenario {
    static let statusURI = "https://status.example.ch/api/v1/statuslist/1.jwt"
    static let claims: [String: JSONValue] = [
        "given_name": "Helvetia",
        "family_name": "National",
        "birth_date": "1848-09-12",
        "age_over_18": "true",
        "age_birth_year": 1848,
        "address": ["street": "Bundesplatz 3", "locality": "Bern"],
        "nationalities": ["CH", "FR"],
    ]
    static let disclosable: [ClaimPath] = [
        "given_name", "family_name", "birth_date", "age_over_18", "age_birth_year",
        "address", ["address", "street"], ["nationalities", nil],
    ]

    let issuerKey = P256.Signing.PrivateKey()
    let holderKey = P256.Signing.PrivateKey()
    let audience = "decentralized_identifier:did:example:verifier"
    let nonce = "0f6c6f3e-7b6e-4f5a-9d43-7e1c2b9a8d11"
    let vct = "betaid-sdjwt"
    let now = Date()

    var issuerDID: String { DIDJWK.did(for: issuerKey.publicKey) }

    var requirements: PresentationRequirements {
        PresentationRequirements(
            vctValues: [vct, "urn:vct:ch.admin.bcs.betaid"], acceptedIssuerDIDs: [issuerDID],
            audience: audience, nonce: nonce)
    }

    func issue(
        claims: [String: JSONValue] = SDJWTScenario.claims,
        disclosable: [ClaimPath] = SDJWTScenario.disclosable,
        bindToHolder: Bool = true,
        status: StatusReference? = nil,
        exp: Date? = nil,
        typ: String = "dc+sd-jwt"
    ) throws -> String {
        try SDJWTIssuer.issue(
            claims: claims, selectivelyDisclosable: disclosable, vct: vct, issuerDID: issuerDID,
            issuerKey: issuerKey, holderKey: bindToHolder ? holderKey.publicKey : nil, status: status,
            iat: now.addingTimeInterval(-3600), exp: exp, typ: typ, decoyDigests: 2)
    }

    /// Presents an issuance disclosing `names` (all claim names by default).
    func present(
        _ issuance: String,
        disclosing names: Set<String> = Set(SDJWTScenario.claims.keys).union(["street"]),
        audience: String? = nil,
        nonce: String? = nil,
        iat: Date? = nil
    ) throws -> String {
        try SDJWTPresentation.make(
            sdJWT: issuance, disclosing: names, holderKey: holderKey, audience: audience ?? self.audience,
            nonce: nonce ?? self.nonce, iat: iat ?? now)
    }

    /// Signs a hand-made payload as an issuer JWT and presents it with exactly `disclosures`.
    func craft(
        payload: [String: JSONValue],
        disclosures: [String],
        header: [String: JSONValue]? = nil
    ) throws -> String {
        var payload = payload
        payload["iss"] = payload["iss"] ?? .string(issuerDID)
        payload["vct"] = payload["vct"] ?? .string(vct)
        payload["cnf"] = payload["cnf"] ?? ["jwk": .object(P256PublicJWK(holderKey.publicKey).jsonObject)]
        let jwt = try CompactJWS.sign(
            claims: payload, header: header ?? ["typ": "dc+sd-jwt", "kid": .string(issuerDID + "#0")],
            using: issuerKey)
        return try bind(SDJWT(issuerSignedJWT: jwt, disclosures: disclosures).withoutKeyBinding)
    }

    /// Appends a valid KB-JWT to an SD-JWT that ends in `~`.
    func bind(_ withoutKeyBinding: String) throws -> String {
        withoutKeyBinding + (try SDJWTPresentation.keyBindingJWT(
            for: withoutKeyBinding, holderKey: holderKey, audience: audience, nonce: nonce, iat: now))
    }

    /// A verifier whose status list at `statusURI` holds `statusValues` (2 bits each).
    func verifier(statusValues: [Int] = [0, 0, 0, 0]) throws -> SDJWTVerifier {
        let token = try StatusList.make(
            bits: 2, values: statusValues, uri: Self.statusURI, keyID: issuerDID + "#0", signingKey: issuerKey,
            iat: now, exp: now.addingTimeInterval(3600), ttl: 300)
        let checker = TokenStatusListChecker(resolver: DIDJWKResolver(), acceptedHosts: ["status.example.ch"]) { url in
            guard url.absoluteString == Self.statusURI else { throw URLError(.fileDoesNotExist) }
            return token
        }
        return SDJWTVerifier(resolver: DIDJWKResolver(), statusListChecker: checker)
    }

    func verify(
        _ presentation: String,
        requirements: PresentationRequirements? = nil,
        statusValues: [Int] = [0, 0, 0, 0],
        at time: Date? = nil
    ) async throws -> VerifiedSDJWT {
        try await verifier(statusValues: statusValues)
            .verify(presentation, requirements: requirements ?? self.requirements, now: time ?? now)
    }

    /// The code `verify` fails with, or `nil` if it succeeds.
    func failure(
        of presentation: String,
        requirements: PresentationRequirements? = nil,
        statusValues: [Int] = [0, 0, 0, 0],
        at time: Date? = nil
    ) async throws -> VerificationFailure.Code? {
        do {
            _ = try await verify(presentation, requirements: requirements, statusValues: statusValues, at: time)
            return nil
        } catch let failure as VerificationFailure {
            return failure.errorCode
        }
    }
}
