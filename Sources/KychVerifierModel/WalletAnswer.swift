import Foundation
import KychSDJWT

/// What a wallet posted to `…/response-data`, once decrypted and checked against its verification. It lives
/// here, beside `Verification` and away from the verifier's networking, so that a fuzz target can link it cheaply.
package enum WalletAnswer {
    case presentation([String: JSONValue])
    case refusal(error: String, description: String?)

    /// The `error` values a wallet may send (`swiyu-verifier-api.md` §2.4).
    static let walletErrors: Set<String> = [
        "invalid_scope", "invalid_request", "invalid_client", "vp_formats_not_supported",
        "invalid_presentation_definition_uri", "invalid_presentation_definition_reference", "client_rejected", "access_denied",
    ]

    static let stateMismatch = VerifierAPIError.badRequest("OAuth2.0 State mismatch. Expected to receive the state as in Request Object")

    package init(form: [String: String], verification: Verification) throws(VerifierAPIError) {
        var fields = form.mapValues(JSONValue.string)
        var encrypted = false
        if let response = form["response"] {
            fields = try Self.decrypt(response, verification: verification)
            encrypted = true
        }
        if let error = fields["error"] {
            guard let code = error.stringValue, Self.walletErrors.contains(code) else {
                throw VerifierAPIError.badRequest("error must be one of \(Self.walletErrors.sorted().joined(separator: ", "))")
            }
            guard fields["state"]?.stringValue == verification.state else { throw Self.stateMismatch }
            var description = fields["error_description"]?.stringValue.map { String($0.prefix(500)) }
            if description == nil, code == "access_denied" || code == "client_rejected" {
                description = "The owner has declined the verification request."
            }
            self = .refusal(error: code, description: description)
            return
        }
        guard let token = fields["vp_token"] else {
            throw VerifierAPIError.badRequest("the response has neither vp_token nor response nor error")
        }
        if verification.request.responseMode == .directPostJWT && !encrypted {
            throw VerifierAPIError.badRequest("Lacking encryption. All elements of the response should be encrypted.")
        }
        guard fields["state"]?.stringValue == verification.state else { throw Self.stateMismatch }
        var value = token
        if let text = token.stringValue {
            guard let parsed = try? JSONText.parse(Data(text.utf8)) else { throw VerifierAPIError.badRequest("vp_token is not JSON") }
            value = parsed
        }
        if let object = value.objectValue, object.count == 1, let inner = object["vp_token"]?.objectValue { value = .object(inner) }
        guard let object = value.objectValue else {
            throw VerifierAPIError.badRequest("vp_token must be a JSON object keyed by credential id")
        }
        self = .presentation(object)
    }

    /// Decrypts a `direct_post.jwt` answer with the verification's key, returning its JSON members.
    private static func decrypt(_ compact: String, verification: Verification) throws(VerifierAPIError) -> [String: JSONValue] {
        guard let key = verification.encryptionKey else {
            throw VerifierAPIError.invalidRequest("this verification expects no encrypted response")
        }
        let jwe: CompactJWE
        do {
            jwe = try CompactJWE(parsing: compact)
        } catch {
            throw VerifierAPIError.invalidRequest("response is not a compact JWE: \(error)")
        }
        guard let keyID = jwe.keyID else { throw VerifierAPIError.invalidRequest("Missing keyId. Unable to decrypt response.") }
        guard keyID == key.keyID else { throw VerifierAPIError.invalidRequest("Unknown keyId. Unable to decrypt response.") }
        do {
            return try JSONText.parseObject(try jwe.decrypt(using: key.privateKey))
        } catch {
            throw VerifierAPIError.invalidRequest("the response cannot be decrypted or is not a JSON object")
        }
    }
}
