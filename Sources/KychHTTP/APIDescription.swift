import Foundation
import Hummingbird
import KychCore

/// The OpenAPI 3.1 description of the HTTP API, served at `/openapi.json`. One document (`openapi.json` beside this
/// file) describes the gateway and the built-in verifier, so an operation and the schemas it shares are written once;
/// each server serves the operations it has, chosen by their tags.
package enum APIDescription {
    /// The operations of a server, by the tags of `openapi.json`.
    package struct Parts: Sendable {
        package var tags: Set<String>
        /// The gateway's own endpoints.
        package static let gateway = Parts(tags: ["server", "gateway", "openid", "pages"])
        /// The built-in verifier's endpoints (a standalone `kych-verifier`'s, or embedded in the gateway).
        package static let verifier = Parts(tags: ["server", "verifier-management", "verifier-wallet"])

        package func union(_ other: Parts) -> Parts { Parts(tags: tags.union(other.tags)) }
    }

    /// The whole document as written.
    package static let complete: JSON = {
        guard let document = try? JSON.parse(Data(PackageResources.openapi_json)) else {
            preconditionFailure("openapi.json is not JSON")  // OpenAPITests validate it before any build ships
        }
        return document
    }()

    /// The document with only the operations tagged with one of `parts`' tags.
    package static func document(_ parts: Parts) -> JSON {
        guard case .object(var document) = complete, let paths = document["paths"]?.objectValue else { return complete }
        var kept: [String: JSON] = [:]
        for (path, item) in paths {
            let operations = (item.objectValue ?? [:]).filter { _, operation in
                operation["tags"]?.arrayValue?.contains { $0.stringValue.map(parts.tags.contains) == true } == true
            }
            if !operations.isEmpty { kept[path] = .object(operations) }
        }
        document["paths"] = .object(kept)
        document["tags"] = document["tags"]?.arrayValue.map { tags in
            .array(tags.filter { $0["name"]?.stringValue.map(parts.tags.contains) == true })
        }
        return .object(document)
    }
}

extension Router {
    /// `GET /openapi.json`: the API description of `parts`.
    package func addAPIDescription(_ parts: APIDescription.Parts) {
        let text = ByteBuffer(string: APIDescription.document(parts).serialized())
        get("/openapi.json") { _, _ -> Response in
            Response(status: .ok, headers: [.contentType: "application/json", .cacheControl: "public, max-age=300"],
                     body: .init(byteBuffer: text))
        }
    }
}
