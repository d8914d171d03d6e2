import Foundation
import KychCore
import KychFuzzSupport
import KychSDJWT
import KychVerifierModel

/// `FormURLEncoding.decode` and `WalletAnswer(form:verification:)`: the body a wallet posts to `…/response-data`.
/// The first byte picks the mode: bit 0 set, the verification expects `direct_post.jwt`; bit 1 set, the rest is a
/// JSON object that is first encrypted to the verification's key and posted as `response`. Checks: an answer keeps
/// to the verification's `state` and the wallet error codes; a refusal's description is at most 500 characters.
@main enum WalletResponseTarget: FuzzTarget {
    static let name = "wallet-response"

    static let query = try! DCQLQuery(json: [
        "credentials": [["id": "betaid", "format": "dc+sd-jwt", "meta": ["vct_values": [.string(FuzzFixtures.vct)]]]],
    ])

    static func verification(_ mode: ResponseMode) -> Verification {
        Verification(
            id: "fuzz", requestNonce: FuzzFixtures.nonce, state: FuzzFixtures.state, status: .pending,
            request: VerificationRequest(acceptedIssuerDIDs: [FuzzFixtures.issuerDID], responseMode: mode, query: query),
            encryptionKey: ResponseEncryptionKey(keyID: FuzzFixtures.responseKeyID, privateKey: FuzzFixtures.responseKey),
            outcome: nil, createdAt: FuzzFixtures.now, expiresAt: FuzzFixtures.now + 600)
    }

    static func run(_ input: Data) -> Bool {
        guard let mode = input.first else { return false }
        let verification = verification(mode & 1 == 1 ? .directPostJWT : .directPost)
        var body = String(decoding: input.dropFirst(), as: UTF8.self)
        var fields: [String: JSONValue]?
        if mode & 2 != 0 {
            guard let object = try? JSONText.parseObject(input.dropFirst()),
                  let jwe = try? CompactJWE.encrypt(JSONText.serialize(object), to: FuzzFixtures.responseKey.publicKey,
                                                    keyID: FuzzFixtures.responseKeyID)
            else { return false }
            body = FormURLEncoding.encode([("response", jwe)])
            fields = object
        }
        guard let form = FormURLEncoding.decode(body) else { return false }
        let answer: WalletAnswer
        do {
            answer = try WalletAnswer(form: form, verification: verification)
        } catch {
            FuzzCheck.require(error.status == 400 && error.body["error_description"] != nil, "a rejection without a description")
            return false
        }
        FuzzCheck.require(mode & 1 == 0 || form["response"] != nil || answer.isRefusal, "an unencrypted answer to direct_post.jwt")
        // What was posted in the clear, or what this target encrypted (a `response` it did not make cannot decrypt).
        guard let posted = fields ?? (form["response"] == nil ? form.mapValues(JSONValue.string) : nil) else { return true }
        FuzzCheck.require(posted["state"]?.stringValue == FuzzFixtures.state, "an answer with another state")
        switch answer {
        case .presentation:
            FuzzCheck.require(posted["error"] == nil, "a refusal read as a presentation")
        case .refusal(let error, let description):
            FuzzCheck.require(posted["error"]?.stringValue == error, "a refusal with another error code")
            FuzzCheck.require((description?.count ?? 0) <= 500, "a refusal description over 500 characters")
        }
        return true
    }

    static func seeds() throws -> [String: Data] {
        let presentation: JSONValue = [
            "vp_token": #"{"betaid":["eyJhbGciOiJFUzI1NiJ9.e30.c2ln~WyJzIiwibiIsInYiXQ~"]}"#,
            "state": .string(FuzzFixtures.state),
        ]
        let refusal: JSONValue = ["error": "access_denied", "error_description": "declined", "state": .string(FuzzFixtures.state)]
        func form(_ value: JSONValue) -> Data {
            Data(FormURLEncoding.encode((value.objectValue ?? [:]).sorted { $0.key < $1.key }.compactMap { key, value in
                value.stringValue.map { (key, $0) }
            }).utf8)
        }
        return [
            "direct-post": Data([0]) + form(presentation),
            "direct-post-refusal": Data([0]) + form(refusal),
            "direct-post-jwt": Data([3]) + JSONText.serialize(presentation),
            "direct-post-jwt-refusal": Data([3]) + JSONText.serialize(refusal),
        ]
    }
}

extension WalletAnswer {
    var isRefusal: Bool {
        if case .refusal = self { true } else { false }
    }
}
