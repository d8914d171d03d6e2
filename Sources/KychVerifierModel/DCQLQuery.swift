import KychSDJWT

/// A DCQL query (OpenID4VP §6) restricted the way the swiyu Generic Verifier 4.x restricts it at
/// creation (`swiyu-verifier-api.md` §2.2): no `multiple`, `claim_sets` or `trusted_authorities`,
/// `meta.vct_values` required, claim paths of names, indices and `null`. Unlike swiyu it takes
/// `credential_sets` (§6.2), which KyCH sends to let a wallet present its attestation instead of the Beta-ID.
package struct DCQLQuery: Sendable, Equatable {
    /// One entry of `credentials`.
    package struct CredentialQuery: Sendable, Equatable {
        package var id: String
        package var format: String
        package var vctValues: [String]
        /// `nil`: `claims` was absent (only the credential's always-present claims are asked for).
        package var claims: [ClaimQuery]?
        package var requireCryptographicHolderBinding: Bool

        /// The claim names a wallet must disclose: every name component of every claim path.
        package var requestedClaimNames: Set<String> {
            Set((claims ?? []).flatMap { query in
                query.path.components.compactMap { component -> String? in
                    if case .key(let name) = component { name } else { nil }
                }
            })
        }
    }

    /// One entry of `credential_sets`: the wallet presents the credentials of one of the `options` (credential ids).
    package struct CredentialSet: Sendable, Equatable {
        package var options: [[String]]
        package var required: Bool
    }

    package var credentials: [CredentialQuery]
    /// nil: `credential_sets` was absent, so every credential is requested.
    package var credentialSets: [CredentialSet]?

    /// Parses and validates `dcql_query`; every problem found is one message of the error, each
    /// starting with the JSON path of the offending member.
    package init(json: JSONValue) throws(DCQLError) {
        var problems: [String] = []
        guard let object = json.objectValue else { throw DCQLError(["dcql_query: must be an object"]) }
        guard let entries = object["credentials"]?.arrayValue, !entries.isEmpty else {
            throw DCQLError(problems + ["dcql_query.credentials: must not be empty"])
        }
        var credentials: [CredentialQuery] = []
        for (index, entry) in entries.enumerated() {
            if let credential = Self.credential(entry, at: "dcql_query.credentials[\(index)]", problems: &problems) {
                if credentials.contains(where: { $0.id == credential.id }) {
                    problems.append("dcql_query.credentials[\(index)].id: \"\(credential.id)\" is used twice")
                }
                credentials.append(credential)
            }
        }
        var sets: [CredentialSet]?
        if let value = object["credential_sets"], value != .null, value.arrayValue?.isEmpty != true {
            sets = Self.credentialSets(value, ids: Set(credentials.map(\.id)), problems: &problems)
        }
        guard problems.isEmpty else { throw DCQLError(problems) }
        self.credentials = credentials
        self.credentialSets = sets
    }

    private static func credentialSets(_ json: JSONValue, ids: Set<String>, problems: inout [String]) -> [CredentialSet] {
        guard let entries = json.arrayValue else {
            problems.append("dcql_query.credential_sets: must be an array")
            return []
        }
        var sets: [CredentialSet] = []
        for (index, entry) in entries.enumerated() {
            let at = "dcql_query.credential_sets[\(index)]"
            let rawOptions = entry.objectValue?["options"]?.arrayValue ?? []
            let options = rawOptions.compactMap { option -> [String]? in
                guard let ids = option.arrayValue, !ids.isEmpty else { return nil }
                let names = ids.compactMap(\.stringValue)
                return names.count == ids.count ? names : nil
            }
            guard !options.isEmpty, options.count == rawOptions.count else {
                problems.append("\(at).options: must be a non-empty array of non-empty arrays of credential ids")
                continue
            }
            if let unknown = options.joined().first(where: { !ids.contains($0) }) {
                problems.append("\(at).options: \"\(unknown)\" is not the id of a credential query")
                continue
            }
            var required = true
            if let value = entry.objectValue?["required"], value != .null {
                guard let flag = value.boolValue else {
                    problems.append("\(at).required: must be a boolean")
                    continue
                }
                required = flag
            }
            sets.append(CredentialSet(options: options, required: required))
        }
        return sets
    }

    /// The credential queries a `vp_token` presenting `presented` (credential ids) answers (OpenID4VP §6.4.2): every
    /// query without `credential_sets`; with them, the presented ones, which must fill an option of each required set
    /// and belong to some option. Nil when the presented credentials do not satisfy the query.
    package func answered(by presented: Set<String>) -> [CredentialQuery]? {
        guard let credentialSets else { return presented.isSuperset(of: credentials.map(\.id)) ? credentials : nil }
        let inSomeOption = Set(credentialSets.flatMap { $0.options.joined() })
        guard presented.isSubset(of: inSomeOption),
              credentialSets.allSatisfy({ !$0.required || $0.options.contains { presented.isSuperset(of: $0) } }) else { return nil }
        return credentials.filter { presented.contains($0.id) }
    }

    private static func credential(_ json: JSONValue, at path: String, problems: inout [String]) -> CredentialQuery? {
        guard let object = json.objectValue else {
            problems.append("\(path): must be an object")
            return nil
        }
        let before = problems.count
        let id = object["id"]?.stringValue ?? ""
        if id.isEmpty || !id.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-") }) {
            problems.append("\(path).id: must match ^[a-zA-Z0-9_-]+$")
        }
        let format = object["format"]?.stringValue ?? ""
        if format.isEmpty { problems.append("\(path).format: must not be blank") }
        let vctValues = object["meta"]?.objectValue?["vct_values"]?.arrayValue?.compactMap(\.stringValue) ?? []
        if vctValues.isEmpty || vctValues.count != object["meta"]?.objectValue?["vct_values"]?.arrayValue?.count {
            problems.append("\(path).meta.vct_values: vct_values is required")
        }
        if object["multiple"]?.boolValue == true { problems.append("\(path).multiple: is not supported") }
        for unsupported in ["claim_sets", "trusted_authorities"] where object[unsupported] != nil && object[unsupported] != .null {
            problems.append("\(path).\(unsupported): is not supported")
        }
        var binding = true
        if let value = object["require_cryptographic_holder_binding"], value != .null {
            if let flag = value.boolValue { binding = flag } else {
                problems.append("\(path).require_cryptographic_holder_binding: must be a boolean")
            }
        }
        var claims: [ClaimQuery]?
        if let value = object["claims"], value != .null {
            claims = Self.claims(value, at: "\(path).claims", problems: &problems)
        }
        guard problems.count == before else { return nil }
        return CredentialQuery(id: id, format: format, vctValues: vctValues, claims: claims,
                               requireCryptographicHolderBinding: binding)
    }

    private static func claims(_ json: JSONValue, at path: String, problems: inout [String]) -> [ClaimQuery] {
        guard let entries = json.arrayValue, !entries.isEmpty else {
            problems.append("\(path): must not be empty")
            return []
        }
        var claims: [ClaimQuery] = []
        for (index, entry) in entries.enumerated() {
            let at = "\(path)[\(index)]"
            guard let pathJSON = entry.objectValue?["path"]?.arrayValue, let claimPath = ClaimPath(json: pathJSON) else {
                problems.append("\(at).path: must be a non-empty array of strings, non-negative integers or null")
                continue
            }
            var values: [JSONValue]?
            if let value = entry.objectValue?["values"], value != .null {
                guard let list = value.arrayValue, !list.isEmpty else {
                    problems.append("\(at).values: must not be empty")
                    continue
                }
                values = list
            }
            claims.append(ClaimQuery(path: claimPath, values: values))
        }
        return claims
    }

    /// The query as JSON, for the request object and for storage.
    package var json: JSONValue {
        var object: [String: JSONValue] = ["credentials": .array(credentials.map(\.json))]
        if let credentialSets {
            object["credential_sets"] = .array(credentialSets.map { set in
                ["options": .array(set.options.map { .array($0.map(JSONValue.string)) }), "required": .bool(set.required)]
            })
        }
        return .object(object)
    }
}

extension DCQLQuery.CredentialQuery {
    var json: JSONValue {
        var object: [String: JSONValue] = [
            "id": .string(id),
            "format": .string(format),
            "meta": ["vct_values": .array(vctValues.map(JSONValue.string))],
            "require_cryptographic_holder_binding": .bool(requireCryptographicHolderBinding),
        ]
        if let claims {
            object["claims"] = .array(claims.map { claim in
                var entry: [String: JSONValue] = ["path": .array(claim.path.components.map(\.json))]
                if let values = claim.values { entry["values"] = .array(values) }
                return .object(entry)
            })
        }
        return .object(object)
    }
}

extension ClaimPath.Component {
    var json: JSONValue {
        switch self {
        case .key(let name): .string(name)
        case .index(let index): .integer(Int64(index))
        case .allElements: .null
        }
    }
}

/// An invalid DCQL query: one message per problem.
package struct DCQLError: Error, Sendable, Equatable, CustomStringConvertible {
    package var problems: [String]
    package init(_ problems: [String]) { self.problems = problems }
    package var description: String { problems.joined(separator: ", ") }
}
