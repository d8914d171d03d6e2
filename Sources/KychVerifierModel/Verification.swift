import Crypto
import Foundation
import KychSDJWT

/// Where a verification is in its life: `pending` → `inProgress` (a wallet answer is being
/// checked, under a lease) → `success` or `failed`. Expiry is not a state: an expired verification is
/// gone. A lapsed lease (the checking process stopped) makes `inProgress` claimable again.
package enum VerificationStatus: String, Sendable, CaseIterable {
    case pending
    case inProgress = "in_progress"
    case success
    case failed

    /// The management API's `state`: `IN_PROGRESS` is reported as `PENDING`, as swiyu does.
    package var managementState: String {
        switch self {
        case .pending, .inProgress: "PENDING"
        case .success: "SUCCESS"
        case .failed: "FAILED"
        }
    }

    /// Whether a result has been recorded.
    package var isFinal: Bool { self == .success || self == .failed }
}

/// How the wallet must send its answer.
package enum ResponseMode: String, Sendable, CaseIterable {
    /// A plain form post of `vp_token` and `state`.
    case directPost = "direct_post"
    /// The same fields encrypted into a `response` JWE (ECDH-ES, A256GCM).
    case directPostJWT = "direct_post.jwt"
}

/// The ephemeral ECDH-ES key pair of one `direct_post.jwt` verification.
package struct ResponseEncryptionKey: Sendable {
    package var keyID: String
    package var privateKey: P256.KeyAgreement.PrivateKey

    package init(keyID: String = UUID().uuidString.lowercased(), privateKey: P256.KeyAgreement.PrivateKey = .init()) {
        self.keyID = keyID
        self.privateKey = privateKey
    }

    /// The public key as it appears in `client_metadata.jwks`.
    package var jwk: JSONValue {
        var members = P256PublicJWK(privateKey.publicKey).jsonObject
        members["kid"] = .string(keyID)
        members["use"] = "enc"
        members["alg"] = "ECDH-ES"
        return .object(members)
    }
}

/// The result of a verification: the management API's `wallet_response`.
package struct VerificationOutcome: Sendable, Equatable {
    package var errorCode: String?
    package var errorDescription: String?
    /// On success: the verified claims of each DCQL credential id, `{id: [claims]}`.
    package var credentialSubjectData: JSONValue?
    /// On success: the DID whose key verified each credential's signature (its `kid`), `{id: [DID]}`.
    /// The claims keep the credential's own `iss`, which nobody checked; this is the issuer to trust.
    package var credentialIssuerDIDs: JSONValue?

    package init(errorCode: String? = nil, errorDescription: String? = nil, credentialSubjectData: JSONValue? = nil,
                 credentialIssuerDIDs: JSONValue? = nil) {
        self.errorCode = errorCode
        self.errorDescription = errorDescription
        self.credentialSubjectData = credentialSubjectData
        self.credentialIssuerDIDs = credentialIssuerDIDs
    }

    /// `wallet_response`; unset members are explicit `null`s, as the swiyu verifier sends them.
    /// `credential_issuer_dids` is KyCH's own member (the swiyu verifier has none); sent only when set.
    package var json: JSONValue {
        var members: [String: JSONValue] = [
            "error_code": errorCode.map(JSONValue.string) ?? .null,
            "error_description": errorDescription.map(JSONValue.string) ?? .null,
            "credential_subject_data": credentialSubjectData ?? .null,
        ]
        if let credentialIssuerDIDs { members["credential_issuer_dids"] = credentialIssuerDIDs }
        return .object(members)
    }
}

/// What the management API's create request asks for, validated.
package struct VerificationRequest: Sendable, Equatable {
    package var acceptedIssuerDIDs: [String]
    package var responseMode: ResponseMode
    package var query: DCQLQuery

    package init(acceptedIssuerDIDs: [String], responseMode: ResponseMode, query: DCQLQuery) {
        self.acceptedIssuerDIDs = acceptedIssuerDIDs
        self.responseMode = responseMode
        self.query = query
    }

    /// Reads `POST /management/api/verifications` (`swiyu-verifier-api.md` §2.2). Unknown members
    /// (`presentation_definition`, `configuration_override`, ...) are tolerated and ignored.
    /// `trust_anchors` are accepted as issuers in their own right; trust statements are not fetched.
    package init(json: JSONValue) throws(VerifierAPIError) {
        guard let object = json.objectValue else { throw .badRequest("the body must be a JSON object") }
        var problems: [String] = []
        var issuers: [String] = []
        let accepted = object["accepted_issuer_dids"].flatMap { $0 == .null ? nil : $0 }
        let anchors = object["trust_anchors"].flatMap { $0 == .null ? nil : $0 }
        if let accepted {
            let list = accepted.arrayValue ?? []
            let dids = list.compactMap(\.stringValue).filter { !$0.isEmpty }
            if list.isEmpty || dids.count != list.count {
                problems.append("accepted_issuer_dids: must be a non-empty list of DIDs")
            }
            issuers += dids
        }
        if let anchors {
            let list = anchors.arrayValue ?? []
            for (index, anchor) in list.enumerated() {
                guard let did = anchor.objectValue?["did"]?.stringValue, !did.isEmpty,
                      let registry = anchor.objectValue?["trust_registry_uri"]?.stringValue,
                      URL(string: registry)?.scheme?.lowercased() == "https"
                else {
                    problems.append("trust_anchors[\(index)]: needs a did and an https trust_registry_uri")
                    continue
                }
                issuers.append(did)
            }
            if list.isEmpty { problems.append("trust_anchors: must not be empty") }
        }
        if accepted == nil && anchors == nil {
            throw .badRequest("Either acceptedIssuerDids or trustAnchors must be set and cannot be empty.")
        }
        var mode = ResponseMode.directPost
        if let value = object["response_mode"], value != .null {
            if let parsed = value.stringValue.flatMap(ResponseMode.init(rawValue:)) { mode = parsed } else {
                problems.append("response_mode: must be direct_post or direct_post.jwt")
            }
        }
        var query: DCQLQuery?
        if let value = object["dcql_query"], value != .null {
            do {
                query = try DCQLQuery(json: value)
            } catch {
                problems += error.problems
            }
        } else {
            problems.append("dcql_query: must not be null")
        }
        guard problems.isEmpty, let query else { throw .badRequest(problems.joined(separator: ", ")) }
        var unique: [String] = []
        for did in issuers where !unique.contains(did) { unique.append(did) }
        self.init(acceptedIssuerDIDs: unique, responseMode: mode, query: query)
    }
}

/// One verification as stored.
package struct Verification: Sendable {
    package var id: String
    package var requestNonce: String
    /// The OAuth `state` of the request object; the wallet must echo it.
    package var state: String
    package var status: VerificationStatus
    package var request: VerificationRequest
    /// Present exactly for `direct_post.jwt`.
    package var encryptionKey: ResponseEncryptionKey?
    package var outcome: VerificationOutcome?
    package var createdAt: Date
    package var expiresAt: Date
    /// How often it has been claimed; a claim and the result recorded under it name this number (a fencing token).
    package var claimCount: Int
    /// While `inProgress`: when the claim's lease lapses. `nil` on rows claimed before leases existed (lapsed).
    package var claimedUntil: Date?

    package init(id: String, requestNonce: String, state: String, status: VerificationStatus, request: VerificationRequest,
                encryptionKey: ResponseEncryptionKey?, outcome: VerificationOutcome?, createdAt: Date, expiresAt: Date,
                claimCount: Int = 0, claimedUntil: Date? = nil) {
        self.id = id
        self.requestNonce = requestNonce
        self.state = state
        self.status = status
        self.request = request
        self.encryptionKey = encryptionKey
        self.outcome = outcome
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.claimCount = claimCount
        self.claimedUntil = claimedUntil
    }

    /// A new pending verification for `request`, with fresh UUIDs and, for `direct_post.jwt`, a fresh key.
    package static func new(_ request: VerificationRequest, now: Date, ttl: TimeInterval) -> Verification {
        Verification(
            id: UUID().uuidString.lowercased(), requestNonce: UUID().uuidString.lowercased(),
            state: UUID().uuidString.lowercased(), status: .pending, request: request,
            encryptionKey: request.responseMode == .directPostJWT ? ResponseEncryptionKey() : nil,
            outcome: nil, createdAt: now, expiresAt: now.addingTimeInterval(ttl))
    }

    package func isExpired(at now: Date) -> Bool { now >= expiresAt }

    /// Whether a wallet answer may be checked now: unexpired and pending, or in progress under a lease
    /// that has lapsed (the process checking the previous answer stopped).
    package func awaitsAnswer(at now: Date) -> Bool {
        guard !isExpired(at: now) else { return false }
        switch status {
        case .pending: return true
        case .inProgress: return claimedUntil.map { $0 <= now } ?? true
        case .success, .failed: return false
        }
    }
}
