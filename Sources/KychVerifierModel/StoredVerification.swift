import Crypto
import Foundation
import KychSDJWT

/// A verification as both stores keep it: enums as their raw values, the DCQL query and the
/// credential subject data as JSON text, the encryption key as its raw scalar. `package`: shared by the
/// PostgreSQL and SQLite stores only.
package struct StoredVerification {
    package var id: String
    package var requestNonce: String
    package var state: String
    package var status: String
    package var responseMode: String
    package var dcqlQuery: String
    package var acceptedIssuerDIDs: [String]
    package var encryptionKey: Data?
    package var encryptionKeyID: String?
    package var errorCode: String?
    package var errorDescription: String?
    package var credentialSubjectData: String?
    package var createdAt: Date
    package var expiresAt: Date
    package var claimCount: Int
    package var claimedUntil: Date?
    package var credentialIssuerDIDs: String?

    package init(id: String, requestNonce: String, state: String, status: String, responseMode: String, dcqlQuery: String,
                 acceptedIssuerDIDs: [String], encryptionKey: Data?, encryptionKeyID: String?, errorCode: String?,
                 errorDescription: String?, credentialSubjectData: String?, createdAt: Date, expiresAt: Date,
                 claimCount: Int, claimedUntil: Date?, credentialIssuerDIDs: String?) {
        self.id = id
        self.requestNonce = requestNonce
        self.state = state
        self.status = status
        self.responseMode = responseMode
        self.dcqlQuery = dcqlQuery
        self.acceptedIssuerDIDs = acceptedIssuerDIDs
        self.encryptionKey = encryptionKey
        self.encryptionKeyID = encryptionKeyID
        self.errorCode = errorCode
        self.errorDescription = errorDescription
        self.credentialSubjectData = credentialSubjectData
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.claimCount = claimCount
        self.claimedUntil = claimedUntil
        self.credentialIssuerDIDs = credentialIssuerDIDs
    }

    /// The verification these columns hold; a row this verifier did not write is a ``StoredDataError``.
    package func decoded() throws -> Verification {
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
                                          credentialSubjectData: try credentialSubjectData.map { try JSONText.parse(Data($0.utf8)) },
                                          credentialIssuerDIDs: try credentialIssuerDIDs.map { try JSONText.parse(Data($0.utf8)) })
        }
        return Verification(
            id: id, requestNonce: requestNonce, state: state, status: status,
            request: VerificationRequest(acceptedIssuerDIDs: acceptedIssuerDIDs, responseMode: mode, query: query),
            encryptionKey: key, outcome: outcome, createdAt: createdAt, expiresAt: expiresAt,
            claimCount: claimCount, claimedUntil: claimedUntil)
    }
}

/// A stored row that cannot be read back (it was not written by this verifier).
package struct StoredDataError: Error, CustomStringConvertible {
    package var verificationID: String
    package var problem: String
    package var description: String { "verification \(verificationID): \(problem)" }
}

extension JSONText {
    /// The compact serialization as a `String`.
    package static func string(_ value: JSONValue) -> String {
        String(decoding: serialize(value), as: UTF8.self)
    }
}

extension Duration {
    /// The duration in (fractional) seconds.
    package var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
