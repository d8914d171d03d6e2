import KychSDJWT

/// A DCQL query (OpenID4VP §6) restricted the way the swiyu Generic Verifier 4.x restricts it at
/// creation (`swiyu-verifier-api.md` §2.2): no `multiple`, `claim_sets`, `trusted_authorities` or
/// `credential_sets`, `meta.vct_values` required, claim paths of names, indices and `null`.
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

    package var credentials: [CredentialQuery]

    /// Parses and validates `dcql_query`; every problem found is one message of the error, each
    /// starting with the JSON path of the offending member.
    package init(json: JSONValue) throws(DCQLError) {
        var problems: [String] = []
        guard let object = json.objectValue else { throw DCQLError(["dcql_query: must be an object"]) }
        if let sets = object["credential_sets"], sets != .null, sets.arrayValue?.isEmpty != true {
            problems.append("dcql_query.credential_sets: is not supported")
        }
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
        guard problems.isEmpty else { throw DCQLError(problems) }
        self.credentials = credentials
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
        .object(["credentials": .array(credentials.map(\.json))])
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
