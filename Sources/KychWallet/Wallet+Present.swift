import Crypto
import Foundation
import KychOutboundHTTP
import KychCore
import KychSDJWT
import KychVerifier
import KychVerifierModel

/// Deliberate defects a presentation can carry, to test verifiers.
package struct PresentationFaults: OptionSet, Sendable {
    package let rawValue: Int
    package init(rawValue: Int) { self.rawValue = rawValue }

    /// The KB-JWT `nonce` is not the request's (`missing_nonce`).
    package static let wrongNonce = PresentationFaults(rawValue: 1 << 0)
    /// The KB-JWT `aud` is the bare DID, not the prefixed `client_id` (`holder_binding_mismatch`).
    package static let wrongAudience = PresentationFaults(rawValue: 1 << 1)
    /// A presented disclosure is replaced by a forged one (`malformed_credential`).
    package static let tamperedDisclosure = PresentationFaults(rawValue: 1 << 2)
    /// The KB-JWT was signed an hour ago (`holder_binding_mismatch`).
    package static let staleProof = PresentationFaults(rawValue: 1 << 3)
    /// No KB-JWT at all (`holder_binding_mismatch` when binding is required).
    package static let noKeyBinding = PresentationFaults(rawValue: 1 << 4)
    /// An empty disclosure (`~~`) (`malformed_credential`).
    package static let brokenSyntax = PresentationFaults(rawValue: 1 << 5)
    /// The issuer signature does not verify (`malformed_credential`).
    package static let badSignature = PresentationFaults(rawValue: 1 << 6)
}

/// The verifier's answer to a wallet post.
package struct VerifierReply: Sendable {
    package var status: Int
    package var body: JSONValue
    /// 200: the verifier accepted the answer.
    package var accepted: Bool { status == 200 }
}

extension Wallet {
    /// The name under which `kych-wallet receive` stores a KyCH attestation.
    package static let attestationName = "kych-attestation"

    /// The credential chosen for each DCQL credential query the wallet answers. Without `credential_sets`: every query,
    /// with the credential named `name`, or else the first whose `vct` is requested. With them (a verifier that accepts
    /// either the Beta-ID or a KyCH attestation): for each required set, the first option the wallet holds credentials
    /// of the requested `vct` for, named `name` when given; without `name` the attestation is preferred when held.
    package func credentials(for query: DCQLQuery, named name: String? = nil) throws -> [(DCQLQuery.CredentialQuery, Credential)] {
        let held = try credentials()
        guard let sets = query.credentialSets else {
            return try query.credentials.map { requested in
                let match = held.first { credential in
                    name.map { credential.name == $0 } ?? credential.vct.map(requested.vctValues.contains) ?? false
                }
                guard let match else {
                    throw WalletError("no credential \(name.map { "named \($0)" } ?? "of type \(requested.vctValues.joined(separator: " or "))")")
                }
                return (requested, match)
            }
        }
        func fill(_ option: [String], named: String?) -> [(DCQLQuery.CredentialQuery, Credential)]? {
            let pairs = option.compactMap { id -> (DCQLQuery.CredentialQuery, Credential)? in
                guard let requested = query.credentials.first(where: { $0.id == id }),
                      let match = held.first(where: { credential in
                          (named.map { credential.name == $0 } ?? true) && credential.vct.map(requested.vctValues.contains) == true
                      }) else { return nil }
                return (requested, match)
            }
            return pairs.count == option.count ? pairs : nil
        }
        return try sets.filter(\.required).flatMap { set in
            let preferred = set.options.lazy.compactMap { fill($0, named: name ?? Self.attestationName) }.first
            guard let pairs = preferred ?? (name == nil ? set.options.lazy.compactMap({ fill($0, named: nil) }).first : nil) else {
                throw WalletError("no credential \(name.map { "named \($0) " } ?? "")for any option of the requested credential sets")
            }
            return pairs
        }
    }

    /// The `vp_token` answering `request`: for each requested credential, a presentation that
    /// discloses exactly the requested claims, with a KB-JWT for the request's `client_id` and `nonce`.
    package func vpToken(for request: PresentationRequest, credential name: String? = nil, faults: PresentationFaults = [],
                        now: Date = Date()) throws -> [String: JSONValue] {
        let holderKey = try holderKey()
        var token: [String: JSONValue] = [:]
        for (query, credential) in try credentials(for: request.query, named: name) {
            var audience = request.clientID
            if faults.contains(.wrongAudience) { audience = String(audience.dropFirst(VerifierSettings.clientIDPrefix.count)) }
            let nonce = faults.contains(.wrongNonce) ? request.nonce + "-wrong" : request.nonce
            let iat = faults.contains(.staleProof) ? now.addingTimeInterval(-3600) : now
            let presented = try SDJWT(parsing: try SDJWTPresentation.make(
                sdJWT: credential.sdJWT, disclosing: query.requestedClaimNames, holderKey: holderKey,
                audience: audience, nonce: nonce, iat: iat))
            var issuerJWT = presented.issuerSignedJWT
            var disclosures = presented.disclosures
            if faults.contains(.badSignature) {
                let signingInput = issuerJWT.split(separator: ".").prefix(2).joined(separator: ".")
                let other = try P256.Signing.PrivateKey().signature(for: Data(signingInput.utf8))
                issuerJWT = signingInput + "." + Base64URL.encode(other.rawRepresentation)
            }
            if faults.contains(.tamperedDisclosure) {
                let original = try disclosures.first.map(Disclosure.init(parsing:))
                let forged = Disclosure(name: original?.name ?? "given_name", value: "tampered")
                disclosures = [forged.encoded] + disclosures.dropFirst()
            }
            let rebuilt = SDJWT(issuerSignedJWT: issuerJWT, disclosures: disclosures)
            var text = rebuilt.withoutKeyBinding
            if !faults.contains(.noKeyBinding) {
                text += try SDJWTPresentation.keyBindingJWT(
                    for: rebuilt.withoutKeyBinding, holderKey: holderKey, audience: audience, nonce: nonce, iat: iat)
            }
            if faults.contains(.brokenSyntax), let separator = text.firstIndex(of: "~") { text.insert("~", at: separator) }
            token[query.id] = [.string(text)]
        }
        return token
    }

    /// Presents to the verifier: builds the `vp_token`, encrypts it for `direct_post.jwt`, posts it.
    package func present(_ request: PresentationRequest, credential name: String? = nil, faults: PresentationFaults = [],
                        now: Date = Date()) async throws -> VerifierReply {
        let token = try vpToken(for: request, credential: name, faults: faults, now: now)
        guard let key = request.encryptionKey else {
            return try await Self.post([("vp_token", String(decoding: JSONText.serialize(.object(token)), as: UTF8.self)),
                                        ("state", request.state)], to: request)
        }
        let payload = JSONText.serialize(["vp_token": .object(token), "state": .string(request.state)])
        let jwe = try CompactJWE.encrypt(payload, to: key.key, keyID: key.keyID)
        return try await Self.post([("response", jwe)], to: request)
    }

    /// Declines: posts `error=access_denied` (in plain text, which 4.x verifiers accept in both modes).
    package static func decline(_ request: PresentationRequest) async throws -> VerifierReply {
        try await post([("error", "access_denied"), ("error_description", "The owner has declined the verification request."),
                        ("state", request.state)], to: request)
    }

    static func post(_ fields: [(String, String)], to request: PresentationRequest) async throws -> VerifierReply {
        let reply = try await OutboundHTTP.send(
            url: request.responseURI.absoluteString, method: .POST,
            headers: [("Content-Type", "application/x-www-form-urlencoded"), ("Accept", "application/json")],
            body: Data(FormURLEncoding.encode(fields).utf8), maxBytes: 1 << 20)
        return VerifierReply(status: reply.status, body: (try? JSONText.parse(reply.body)) ?? .null)
    }
}
