import Crypto
import Foundation
import KychSDJWT

/// A verification as both stores keep it: enums as their raw values, the DCQL query and the
/// credential subject data as JSON text, the encryption key as its raw scalar.
struct StoredVerification {
    var id: String
    var requestNonce: String
    var state: String
    var status: String
    var responseMode: String
    var dcqlQuery: String
    var acceptedIssuerDIDs: [String]
    var encryptionKey: Data?
    var encryptionKeyID: String?
    var errorCode: String?
    var errorDescription: String?
    var credentialSubjectData: String?
    var createdAt: Date
    var expiresAt: Date

    /// The verification these columns hold; a row this verifier did not write is a ``StoredDataError``.
    func decoded() throws -> Verification {
        guard let status = VerificationStatus(rawValue: status), let mode = ResponseMode(rawValue: responseMode) else {
            throw StoredDataError(verificationID: id, problem: "unknown status or response mode")
        }
        let query: DCQLQuery
        do {
            query = try DCQLQuery(json: try JSONText.parse(Data(dcqlQuery.utf8)))
        } catch {
            throw StoredDataError(verificationID: id, problem: "stored DCQL query: \(error)")
        }
        var key: ResponseEncryptionKey?
        if let encryptionKey, let encryptionKeyID {
            key = ResponseEncryptionKey(keyID: encryptionKeyID, privateKey: try P256.KeyAgreement.PrivateKey(rawRepresentation: encryptionKey))
        }
        var outcome: VerificationOutcome?
        if status.isFinal {
            outcome = VerificationOutcome(errorCode: errorCode, errorDescription: errorDescription,
                                          credentialSubjectData: try credentialSubjectData.map { try JSONText.parse(Data($0.utf8)) })
        }
        return Verification(
            id: id, requestNonce: requestNonce, state: state, status: status,
            request: VerificationRequest(acceptedIssuerDIDs: acceptedIssuerDIDs, responseMode: mode, query: query),
            encryptionKey: key, outcome: outcome, createdAt: createdAt, expiresAt: expiresAt)
    }
}

/// A stored row that cannot be read back (it was not written by this verifier).
struct StoredDataError: Error, CustomStringConvertible {
    var verificationID: String
    var problem: String
    var description: String { "verification \(verificationID): \(problem)" }
}

extension JSONText {
    /// The compact serialization as a `String`.
    static func string(_ value: JSONValue) -> String {
        String(decoding: serialize(value), as: UTF8.self)
    }
}
