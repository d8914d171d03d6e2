import Foundation
import KychFuzzSupport
import KychSDJWT
import KychVerifierModel

/// `VerificationRequest(json:)` and `DCQLQuery(json:)`: the body of `POST /management/api/verifications`. Checks:
/// a rejection names its problems; an accepted query reads back from its own JSON unchanged, with valid ids, each
/// once, and accepted issuers without repeats.
@main enum DCQLTarget: FuzzTarget {
    static let name = "dcql"

    static func run(_ input: Data) -> Bool {
        guard let json = try? JSONText.parse(input) else { return false }
        do {
            check(try DCQLQuery(json: json.objectValue?["dcql_query"] ?? json))
        } catch {
            FuzzCheck.require(!error.problems.isEmpty, "a DCQL rejection without a problem")
        }
        do {
            let request = try VerificationRequest(json: json)
            check(request.query)
            FuzzCheck.require(!request.acceptedIssuerDIDs.isEmpty, "a request without issuers")
            FuzzCheck.require(Set(request.acceptedIssuerDIDs).count == request.acceptedIssuerDIDs.count, "repeated issuers")
            return true
        } catch {
            FuzzCheck.require(error.status == 400 && error.body["error_description"]?.stringValue?.isEmpty == false,
                              "a rejection without a description: \(error)")
            return false
        }
    }

    static func check(_ query: DCQLQuery) {
        FuzzCheck.require((try? DCQLQuery(json: query.json)) == query, "DCQLQuery(json: query.json) differs")
        FuzzCheck.require(Set(query.credentials.map(\.id)).count == query.credentials.count, "a credential id is used twice")
        FuzzCheck.require(query.credentials.allSatisfy { !$0.id.isEmpty && !$0.vctValues.isEmpty }, "an empty id or vct_values")
    }
}
