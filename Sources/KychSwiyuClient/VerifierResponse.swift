import Foundation
import KychCore
import KychOAuth

/// Reads the verifier's management responses (swiyu 2.x and 4.x shapes).
package enum VerifierResponse {
    /// The create response: `id`, `request_nonce`, `verification_url`, `verification_deeplink`
    /// (built from `verification_url` for verifiers that send none).
    package static func verification(from json: JSON) throws(VerifierError) -> VerifierVerification {
        guard let id = json["id"]?.stringValue, !id.isEmpty, let url = json["verification_url"]?.stringValue else {
            throw .malformedResponse("the create response lacks id or verification_url")
        }
        let deeplink = json["verification_deeplink"]?.stringValue
            ?? "swiyu-verify://?client_id=&request_uri=" + url.urlEscaped
        return VerifierVerification(id: id, requestNonce: json["request_nonce"]?.stringValue, verificationURL: url, deeplink: deeplink)
    }

    /// The GET response turned into an outcome, keeping only the `granted` claims (normalised).
    package static func outcome(from json: JSON, granted: [String], expectedVCTs: [String]) -> VerifierOutcome {
        let state = json["state"]?.stringValue?.uppercased() ?? ""
        let wallet = json["wallet_response"]
        switch state {
        case "SUCCESS":
            guard let found = credentialSubject(wallet?["credential_subject_data"]) else {
                return .failed(code: "credential_missing_data", description: "the verifier reported success without credential data")
            }
            let subject = found.claims
            let vct = subject["vct"]?.stringValue
            if let vct, !expectedVCTs.isEmpty, !expectedVCTs.contains(vct) {
                return .failed(code: "invalid_presentation_submission", description: "unexpected credential type \(vct)")
            }
            var claims: [String: JSON] = [:]
            for name in granted {
                guard let value = subject[name], value != .null else {
                    return .failed(code: "credential_missing_data", description: "the credential lacks the claim \(name)")
                }
                guard let normalised = ClaimNormalizer.normalize(name: name, value: value) else {
                    return .failed(code: "credential_invalid", description: "the claim \(name) has an invalid value")
                }
                claims[name] = normalised
            }
            return .success(VerifiedCredential(claims: claims, vct: vct,
                                               issuer: signer(wallet?["credential_issuer_dids"], credentialID: found.credentialID)
                                                   ?? subject["iss"]?.stringValue))
        case "FAILED":
            return .failed(code: wallet?["error_code"]?.stringValue?.lowercased(), description: wallet?["error_description"]?.stringValue)
        default:
            return .pending
        }
    }

    /// Unwraps the 4.x shape `{credential_id: [ {...} ]}` (returning the credential id too); otherwise
    /// the 2.x flat object.
    static func credentialSubject(_ data: JSON?) -> (credentialID: String?, claims: [String: JSON])? {
        guard let object = data?.objectValue else { return nil }
        let wrapped = !object.isEmpty && object.values.allSatisfy { $0.arrayValue?.first?.objectValue != nil }
            && object["vct"] == nil && object["iss"] == nil
        if wrapped {
            let id = object[VerificationRequestBuilder.credentialID] == nil ? object.keys.sorted().first : VerificationRequestBuilder.credentialID
            guard let id, let claims = object[id]?.arrayValue?.first?.objectValue else { return nil }
            return (id, claims)
        }
        return (nil, object)
    }

    /// The DID whose key verified the credential's signature, as KyCH's built-in verifier reports it
    /// (`wallet_response.credential_issuer_dids`, `{credential_id: [DID]}`). The swiyu verifier has no such
    /// member: then the caller falls back to the credential's `iss`, and relies on the verifier (4.1.2+)
    /// having matched the signing DID against the accepted issuer DIDs that KyCH sent.
    static func signer(_ issuers: JSON?, credentialID: String?) -> String? {
        guard let credentialID else { return nil }
        return issuers?[credentialID]?.arrayValue?.first?.stringValue
    }
}

/// Normalises claim values: booleans for `age_over_*` (from `true` or `"true"`), digits for `age_birth_year`.
package enum ClaimNormalizer {
    package static func normalize(name: String, value: JSON) -> JSON? {
        if name.hasPrefix("age_over_") {
            switch value {
            case .bool: return value
            case .string(let s) where s.lowercased() == "true": return .bool(true)
            case .string(let s) where s.lowercased() == "false": return .bool(false)
            default: return nil
            }
        }
        if name == "age_birth_year" {
            switch value {
            case .integer(let i): return .integer(i)
            case .string(let s) where !s.isEmpty && s.allSatisfy(\.isASCII) && s.allSatisfy(\.isNumber): return .integer(Int64(s) ?? 0)
            default: return nil
            }
        }
        return value
    }
}

/// A failure talking to a verifier.
package enum VerifierError: Error, Sendable, Equatable, CustomStringConvertible {
    case unreachable(String)
    case httpStatus(Int, String)
    case malformedResponse(String)

    package var description: String {
        switch self {
        case .unreachable(let reason): "the verifier could not be reached (\(reason))"
        case .httpStatus(let status, let detail): "the verifier answered HTTP \(status)\(detail.isEmpty ? "" : ": \(detail)")"
        case .malformedResponse(let what): "the verifier's response was malformed: \(what)"
        }
    }
}

