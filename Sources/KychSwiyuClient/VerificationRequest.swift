import Foundation
import KychCore
import KychOAuth

/// Builds the body of `POST {VERIFIER_URL}{VERIFIER_MANAGEMENT_API_PATH}` for the granted claims:
/// DCQL for swiyu 3.x/4.x, DIF Presentation Exchange for 2.x.
package struct VerificationRequestBuilder: Sendable {
    package var vcType: String
    package var vcFormat: String
    package var vcAlgorithms: [String]

    /// The DCQL credential id KyCH uses; the 4.x result is wrapped by it.
    package static let credentialID = "kych"
    /// The DCQL credential id of the KyCH attestation, asked for as the alternative to the Beta-ID.
    package static let attestationCredentialID = "kych_attestation"
    /// The Beta-ID's newer vct, listed alongside `betaid-sdjwt`.
    package static let betaIDAlias = "urn:vct:ch.admin.bcs.betaid"

    package init(vcType: String, vcFormat: String, vcAlgorithms: [String]) {
        self.vcType = vcType
        self.vcFormat = vcFormat
        self.vcAlgorithms = vcAlgorithms
    }

    package init(config: GatewayConfig) {
        self.init(vcType: config.vcType, vcFormat: config.vcFormat, vcAlgorithms: config.vcAlgorithms)
    }

    /// The vct values accepted for VC_TYPE.
    package var vctValues: [String] {
        vcType == "betaid-sdjwt" ? [vcType, Self.betaIDAlias] : [vcType]
    }

    /// The attestation vcts of the https issuers among a client's accepted issuers: the KyCH instances whose attestation
    /// a person may present instead of the Beta-ID.
    package static func attestationVCTs(acceptedIssuerDIDs: [String]) -> [String] {
        acceptedIssuerDIDs.filter(ClientRules.isHTTPSIssuer).map(CredentialIssuer.vct(ofIssuer:))
    }

    /// The vcts a credential shown for a client with `acceptedIssuerDIDs` may have.
    package func expectedVCTs(acceptedIssuerDIDs: [String]) -> [String] {
        vctValues + Self.attestationVCTs(acceptedIssuerDIDs: acceptedIssuerDIDs)
    }

    /// The body of a new verification. With DCQL, a client that accepts attestations (https issuers in
    /// `ACCEPTED_ISSUER_DIDS`) gets a second credential query for them, with the same claims, and `credential_sets`
    /// that let the wallet present either; without such issuers the query is the one credential query swiyu expects.
    package func body(claims: [String], acceptedIssuerDIDs: [String], query: VerifierQueryLanguage) -> JSON {
        var body: [String: JSON] = [
            "accepted_issuer_dids": .array(acceptedIssuerDIDs.map(JSON.string)),
        ]
        switch query {
        case .dcql:
            let format = vcFormat == "vc+sd-jwt" ? "dc+sd-jwt" : vcFormat
            func credential(id: String, format: String, vctValues: [String]) -> JSON {
                var credential: [String: JSON] = [
                    "id": .string(id),
                    "format": .string(format),
                    "meta": .object(["vct_values": .array(vctValues.map(JSON.string))]),
                    "require_cryptographic_holder_binding": .bool(true),
                ]
                if !claims.isEmpty {
                    credential["claims"] = .array(claims.map { .object(["path": .array([.string($0)])]) })
                }
                return .object(credential)
            }
            var dcql: [String: JSON] = ["credentials": [credential(id: Self.credentialID, format: format, vctValues: vctValues)]]
            let attestations = Self.attestationVCTs(acceptedIssuerDIDs: acceptedIssuerDIDs)
            if !attestations.isEmpty {
                dcql["credentials"] = [credential(id: Self.credentialID, format: format, vctValues: vctValues),
                                       credential(id: Self.attestationCredentialID, format: "dc+sd-jwt", vctValues: attestations)]
                dcql["credential_sets"] = [["options": [[.string(Self.credentialID)], [.string(Self.attestationCredentialID)]]]]
            }
            body["response_mode"] = .string("direct_post.jwt")
            body["dcql_query"] = .object(dcql)
        case .presentationDefinition:
            let algorithms = JSON.array(vcAlgorithms.map(JSON.string))
            var fields: [JSON] = [.object([
                "path": .array([.string("$.vct")]),
                "filter": .object(["type": .string("string"), "const": .string(vcType)]),
            ])]
            fields += claims.map { .object(["path": .array([.string("$.\($0)")])]) }
            body["jwt_secured_authorization_request"] = .bool(true)
            body["presentation_definition"] = .object([
                "id": .string(UUID().uuidString.lowercased()),
                "input_descriptors": .array([.object([
                    "id": .string(Self.credentialID),
                    "format": .object([vcFormat: .object(["sd-jwt_alg_values": algorithms, "kb-jwt_alg_values": algorithms])]),
                    "constraints": .object(["fields": .array(fields)]),
                ])]),
            ])
        }
        return .object(body)
    }
}
